// Persistent stores: what was acknowledged survives closing and reopening, and a SIGKILL right
// after an acknowledgement or at any moment of a multi-key commit; no partial commit is ever
// visible afterwards; versions handed out after a reopen are still new.
import fc from 'fast-check'
import { hex, keyArb, sameBytes, showKey, valueArb } from '../arbitraries.js'
import { type Ctx, type Group, within } from '../harness.js'
import { KvModel } from '../model.js'

/** The data keys commit `i` of the crash-commits job writes: 2 to `maxKeys` of them, by `i`. */
export function crashCommitKeys(i: number, maxKeys: number): string[] {
  const n = 2 + ((i * 7 + 3) % Math.max(1, maxKeys - 1))
  const c = String(i).padStart(6, '0')
  return Array.from({ length: n }, (_, k) => `crash/${c}/${String(k).padStart(2, '0')}`)
}

/** Checks the store after a crash-commits worker died: whole commits, a prefix, every acknowledged one. */
async function checkCrashCommits(ctx: Ctx, location: string, acked: number, maxKeys: number, round: number): Promise<void> {
  const store = await within(ctx.openAt(location), 30_000, 'reopening after SIGKILL')
  const entries = await store.list({ prefix: 'crash/', limit: 100_000 })
  const found = new Map<number, string[]>()
  const marks: number[] = []
  for (const { key } of entries) {
    const [, c, k] = key.split('/')
    if (c === 'mark') marks.push(Number(k))
    else found.set(Number(c), [...(found.get(Number(c)) ?? []), key])
  }
  const last = found.size === 0 ? -1 : Math.max(...found.keys())
  for (const [i, keys] of found) {
    const want = crashCommitKeys(i, maxKeys)
    if (keys.join() !== want.join()) throw ctx.failure(`round ${round}: commit ${i} is visible in part after SIGKILL: ${keys.length} of its ${want.length} keys`)
  }
  for (let i = 0; i <= Math.max(acked, last); i++) {
    if (!found.has(i)) throw ctx.failure(`round ${round}: commit ${i} is missing after SIGKILL (${i <= acked ? 'it was acknowledged' : `commit ${last} is there, so commits are not a prefix`})`)
  }
  if (last >= 0 && (marks.length !== 1 || marks[0] !== last)) {
    throw ctx.failure(`round ${round}: after SIGKILL the marks are [${marks.join(', ')}]; commit ${last} deleted the earlier one in the same commit that wrote mark ${last}`)
  }
  await store.close()
}

export const durability: Group = {
  name: 'durability',
  needs: ['persistent'],
  properties: [
    {
      id: 'durability/reopen',
      title: 'after close and reopen the store equals the model, including the last write, and new writes get versions never seen before',
      needs: ['persistent'],
      async run(ctx) {
        const step = fc.tuple(keyArb(2), fc.option(valueArb(ctx.capabilities, 8), { nil: undefined }))
        await ctx.check(
          fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) =>
            ctx.withStore(async (first) => {
              const model = new KvModel()
              const versions = new Map<string, Set<string>>()
              for (const [key, value] of steps) {
                await first.commit(value === undefined ? { deletes: [key] } : { puts: [{ key, value }] })
                model.commit([], value === undefined ? [] : [{ key, value }], value === undefined ? [key] : [])
                const e = await first.get(key)
                if (e) versions.set(key, (versions.get(key) ?? new Set()).add(e.version))
              }
              const store = await ctx.reopen(first)
              const got = await store.list({ prefix: '', limit: 10_000 })
              const want = model.all()
              const show = (es: { key: string; value: Uint8Array }[]) => es.map((e) => `${showKey(e.key)}=${hex(e.value)}`).join(' ')
              if (got.length !== want.length || got.some((e, i) => e.key !== want[i]!.key || !sameBytes(e.value, want[i]!.value))) {
                throw new Error(`after reopen: ${show(got)}\n  expected:     ${show(want)}`)
              }
              // Rewriting every key (and recreating deleted ones) must not reuse a pre-reopen version.
              for (const [key, seen] of versions) {
                await store.commit({ puts: [{ key, value: new Uint8Array([7]) }] })
                const v = (await store.get(key))?.version
                if (v === undefined || seen.has(v)) throw new Error(`after reopen, a write of ${showKey(key)} got version ${v}, already used before the reopen`)
              }
            }),
          ),
          80,
        )
      },
    },
    {
      id: 'durability/resume-listing',
      title: 'a listing cursor (the last key of a page) resumes on a new instance after reopening, without gaps or duplicates',
      needs: ['persistent'],
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(fc.uniqueArray(keyArb(3), { minLength: 2, maxLength: 20 }), fc.integer({ min: 1, max: 5 }), (keys, size) =>
            ctx.withStore(async (first) => {
              for (let i = 0; i < keys.length; i += 16) await first.commit({ puts: keys.slice(i, i + 16).map((key) => ({ key, value: new Uint8Array([1]) })) })
              const want = new KvModel()
              want.commit([], keys.map((key) => ({ key, value: new Uint8Array([1]) })))
              let store = first
              const got: string[] = []
              let after: string | undefined
              for (;;) {
                const page = await store.list(after === undefined ? { prefix: '', limit: size } : { prefix: '', after, limit: size })
                got.push(...page.map((e) => e.key))
                if (page.length < size) break
                after = page[page.length - 1]!.key
                store = await ctx.reopen(store) // every page from a new instance
              }
              const expected = want.all().map((e) => e.key)
              if (got.join('\u0001') !== expected.join('\u0001')) throw new Error(`pages across reopens gave [${got.map(showKey).join(', ')}], expected [${expected.map(showKey).join(', ')}]`)
            }),
          ),
          15,
        )
      },
    },
    {
      id: 'durability/sigkill',
      title: 'a child process is SIGKILLed right after acknowledged commits: every acknowledged commit survives, whole, in order',
      needs: ['persistent', 'worker', 'newLocation'],
      async run(ctx) {
        const rounds = ctx.runs(4)
        for (let round = 0; round < rounds; round++) {
          const location = await ctx.freshLocation()
          // Kill right after an acknowledgement, at a point that differs per round and seed.
          const last = await ctx.killAfter(location, 'acked-commits', {}, 3 + (Math.abs(ctx.settings.seed + round * 7919) % 40))
          const store = await within(ctx.openAt(location), 30_000, 'reopening after SIGKILL')
          const entries = await store.list({ prefix: 'ack/', limit: 100_000 })
          const commits = new Map<number, string[]>()
          for (const e of entries) {
            const [, n, half] = e.key.split('/')
            commits.set(Number(n), [...(commits.get(Number(n)) ?? []), half!])
          }
          for (let i = 0; i <= last; i++) if (!commits.has(i)) throw ctx.failure(`commit ${i} was acknowledged before SIGKILL but is gone after reopening (round ${round})`)
          for (const [i, halves] of commits) {
            if (halves.length !== 2) throw ctx.failure(`commit ${i} is visible in part after SIGKILL: only ${halves.join(', ')} (round ${round})`)
          }
          const max = Math.max(...commits.keys())
          if (commits.size !== max + 1) throw ctx.failure(`commits after SIGKILL are not a prefix: ${commits.size} present, highest ${max} (round ${round})`)
          await store.close()
        }
      },
    },
    {
      id: 'durability/crash-mid-commit',
      title: 'a child process is SIGKILLed at random moments during multi-key commits: afterwards each commit is whole or absent, and every acknowledged one is there',
      needs: ['persistent', 'worker', 'newLocation'],
      async run(ctx) {
        const maxKeys = Math.min(16, (ctx.capabilities.maxOpsPerCommit ?? 64) - 2)
        const rounds = ctx.runs(6)
        for (let round = 0; round < rounds; round++) {
          const location = await ctx.freshLocation()
          // Let a few commits through, then kill after a delay unrelated to acknowledgements.
          const spin = Math.abs(ctx.settings.seed ^ Math.imul(round + 1, 0x9e3779b1))
          const acked = await ctx.killAfter(location, 'crash-commits', { maxKeys }, spin % 12, async () => {
            await new Promise((r) => setTimeout(r, (spin >> 4) % 4))
            for (let n = (spin >> 8) % 40; n > 0; n--) await new Promise((r) => setImmediate(r))
          })
          await checkCrashCommits(ctx, location, acked, maxKeys, round)
        }
      },
    },
  ],
}
