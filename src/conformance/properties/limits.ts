// Declared limits are enforced with invalid-parameters before anything is written — never by
// silently truncating, chunking or applying part of the commit — and invalid keys are refused.
import type { KvStore } from '../../storage/kv.js'
import { hex, sameBytes, showKey } from '../arbitraries.js'
import { type Ctx, type Group, rejectsWith } from '../harness.js'

async function dump(store: KvStore): Promise<string> {
  return (await store.list({ prefix: '', limit: 100_000 })).map((e) => `${showKey(e.key)}=${e.value.length}:${hex(e.value.subarray(0, 4))}@${e.version}`).join(' ')
}

async function refusedWhole(ctx: Ctx, store: KvStore, commit: Parameters<KvStore['commit']>[0], what: string): Promise<void> {
  const before = await dump(store)
  await rejectsWith(store.commit(commit), 'invalid-parameters', what)
  if ((await dump(store)) !== before) throw ctx.failure(`${what}: the refused commit wrote something`)
}

// Above this a test of the exact limit would allocate too much; only smaller limits are probed exactly.
const probeLimit = 32 * 1024 * 1024

export const limits: Group = {
  name: 'limits',
  properties: [
    {
      id: 'limits/value-bytes',
      title: 'values of maxValueBytes-1 and maxValueBytes round-trip; maxValueBytes+1 is refused before any write',
      needs: ['maxValueBytes'],
      async run(ctx) {
        const max = ctx.capabilities.maxValueBytes!
        if (max > probeLimit) return
        const store = await ctx.open()
        for (const size of [max - 1, max]) {
          const value = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff)
          await store.commit({ puts: [{ key: `v${size}`, value }] })
          const got = await store.get(`v${size}`)
          if (!sameBytes(got?.value, value)) throw ctx.failure(`a value of ${size} bytes (limit ${max}) did not round-trip: read ${got?.value.length ?? 'absent'} bytes`)
        }
        const small = new Uint8Array([1])
        await refusedWhole(ctx, store, { puts: [{ key: 'first', value: small }, { key: 'big', value: new Uint8Array(max + 1) }] }, `a value of ${max + 1} bytes`)
        await refusedWhole(ctx, store, { puts: [{ key: `v${max}`, value: new Uint8Array(max + 1) }] }, `overwriting with ${max + 1} bytes`)
      },
    },
    {
      id: 'limits/ops-per-commit',
      title: 'a commit of exactly maxOpsPerCommit operations applies; one more is refused before any write',
      needs: ['maxOpsPerCommit'],
      async run(ctx) {
        const max = ctx.capabilities.maxOpsPerCommit!
        const store = await ctx.open()
        const value = new Uint8Array([1])
        const puts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ key: `${tag}/${String(i).padStart(6, '0')}`, value }))
        const r = await store.commit({ puts: puts(max, 'at') })
        if (!r.ok) throw ctx.failure(`a commit of ${max} puts conflicted`)
        if ((await store.list({ prefix: 'at/', limit: max + 10 })).length !== max) throw ctx.failure(`a commit of exactly ${max} puts did not store them all`)
        await refusedWhole(ctx, store, { puts: puts(max + 1, 'over') }, `a commit of ${max + 1} puts`)
        if (max >= 2) {
          await refusedWhole(ctx, store, { checks: [{ key: 'c1', version: null }, { key: 'c2', version: null }], puts: puts(max - 1, 'mixed') }, `${max - 1} puts plus 2 checks`)
          await refusedWhole(ctx, store, { puts: puts(max - 1, 'mixed'), deletes: ['at/000000', 'at/000001'] }, `${max - 1} puts plus 2 deletes`)
        }
      },
    },
    {
      id: 'limits/key-bytes',
      title: 'keys are measured in UTF-8 bytes: exactly maxKeyBytes works, one byte more is refused',
      needs: ['maxKeyBytes'],
      async run(ctx) {
        const max = ctx.capabilities.maxKeyBytes!
        const store = await ctx.open()
        // 'é' is two UTF-8 bytes but one UTF-16 unit, so a length check in code units lets too much through.
        const at = 'é'.repeat(Math.floor(max / 2)) + (max % 2 ? 'a' : '')
        const over = `${at}a`
        await store.commit({ puts: [{ key: at, value: new Uint8Array([1]) }] })
        if (!(await store.get(at))) throw ctx.failure(`a key of exactly ${max} UTF-8 bytes was not stored`)
        await refusedWhole(ctx, store, { puts: [{ key: 'ok', value: new Uint8Array([1]) }, { key: over, value: new Uint8Array([1]) }] }, `a key of ${max + 1} UTF-8 bytes`)
      },
    },
    {
      id: 'limits/invalid-keys',
      title: 'empty keys and keys with lone surrogates are invalid-parameters in get, getMany, checks, puts and deletes',
      async run(ctx) {
        const store = await ctx.open()
        for (const key of ['', '\ud800', 'a\udc00b']) {
          const what = `key ${showKey(key)}`
          await rejectsWith(store.get(key), 'invalid-parameters', `get(${what})`)
          await rejectsWith(store.getMany(['ok', key]), 'invalid-parameters', `getMany with ${what}`)
          await refusedWhole(ctx, store, { puts: [{ key: 'ok', value: new Uint8Array([1]) }, { key, value: new Uint8Array([1]) }] }, `put of ${what}`)
          await refusedWhole(ctx, store, { puts: [{ key: 'ok', value: new Uint8Array([1]) }], deletes: [key] }, `delete of ${what}`)
          await refusedWhole(ctx, store, { checks: [{ key, version: null }], puts: [{ key: 'ok', value: new Uint8Array([1]) }] }, `check of ${what}`)
        }
      },
    },
  ],
}
