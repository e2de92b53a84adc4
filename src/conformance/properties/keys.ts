// Keys that break real backends: case pairs under case-insensitive collations, SQL and glob
// wildcards in prefixes, range ends one byte off, multi-byte UTF-8 and long keys with long
// shared prefixes. Each is read back by get and getMany and must appear exactly in list.
import fc from 'fast-check'
import { hex, hostileKeysArb, sameBytes, showKey } from '../arbitraries.js'
import type { Group } from '../harness.js'
import { KvModel } from '../model.js'

const encoder = new TextEncoder()
const show = (keys: readonly string[]) => `[${keys.map(showKey).join(', ')}]`

export const keys: Group = {
  name: 'keys',
  properties: [
    {
      id: 'keys/hostile',
      title: 'case pairs, wildcards (_ % * ? [ ] \\), byte-adjacent prefix ends, multi-byte UTF-8 and long keys sharing prefixes: each reads back by get and getMany and lists exactly',
      async run(ctx) {
        const ops = ctx.capabilities.maxOpsPerCommit ?? 64
        await ctx.check(
          fc.asyncProperty(hostileKeysArb(ctx.capabilities), fc.integer({ min: 1, max: 4 }), ({ keys, prefixes }, pageSize) =>
            ctx.withStore(async (store) => {
              // Each value names its key, so a key folded onto another reads back the other's value.
              const puts = keys.map((key) => ({ key, value: encoder.encode(key) }))
              for (let i = 0; i < puts.length; i += ops) await store.commit({ puts: puts.slice(i, i + ops) })
              const model = new KvModel()
              model.commit([], puts)
              const many = await store.getMany(keys)
              for (const [i, key] of keys.entries()) {
                const got = await store.get(key)
                for (const [how, e] of [['get', got], ['getMany', many[i]]] as const) {
                  if (e === undefined) throw new Error(`${how}(${showKey(key)}) is absent after it was written`)
                  if (e.key !== key || !sameBytes(e.value, puts[i]!.value)) throw new Error(`${how}(${showKey(key)}) returned key ${showKey(e.key)} with value ${hex(e.value)}: another key's row`)
                }
              }
              for (const prefix of prefixes) {
                const got = (await store.list({ prefix, limit: 10_000 })).map((e) => e.key)
                const want = model.list(prefix).map((e) => e.key)
                if (got.join('\u0001') !== want.join('\u0001')) throw new Error(`list(prefix ${showKey(prefix)}) gave ${show(got)}, expected ${show(want)}`)
              }
              // Page through everything: cursors land on long keys and wildcard characters too.
              const paged: string[] = []
              for (let after: string | undefined; ; ) {
                const page = await store.list(after === undefined ? { prefix: '', limit: pageSize } : { prefix: '', after, limit: pageSize })
                paged.push(...page.map((e) => e.key))
                if (page.length < pageSize) break
                // A cursor that does not advance would page forever.
                if (page[page.length - 1]!.key === after || paged.length > keys.length) throw new Error(`pagination does not advance: pages of ${pageSize} gave ${show(paged)}`)
                after = page[page.length - 1]!.key
              }
              const all = model.all().map((e) => e.key)
              if (paged.join('\u0001') !== all.join('\u0001')) throw new Error(`pages of ${pageSize} gave ${show(paged)}, expected ${show(all)}`)
              // Deleting one of a case pair or of two neighbours removes that key only.
              const doomed = keys.filter((_, i) => i % 2 === 1)
              for (let i = 0; i < doomed.length; i += ops) await store.commit({ deletes: doomed.slice(i, i + ops) })
              model.commit([], [], doomed)
              const left = (await store.list({ prefix: '', limit: 10_000 })).map((e) => e.key)
              const want = model.all().map((e) => e.key)
              if (left.join('\u0001') !== want.join('\u0001')) throw new Error(`after deleting ${show(doomed)} the store lists ${show(left)}, expected ${show(want)}`)
            }),
          ),
          40,
        )
      },
    },
  ],
}
