// Listing: UTF-8 byte order, exact prefixes, an exclusive `after`, `limit`, pagination that
// neither skips nor repeats a key while other writers change the key space, and one list call
// as one snapshot even over hundreds of keys.
import fc from 'fast-check'
import type { KvEntry, KvStore } from '../../storage/kv.js'
import { intValue, keyArb, prefixArb, showKey, valueInt } from '../arbitraries.js'
import type { Group } from '../harness.js'
import { compareUtf8, KvModel } from '../model.js'

const one = new Uint8Array([1])
const keysOf = (entries: readonly { key: string }[]) => entries.map((e) => e.key)
const show = (keys: readonly string[]) => `[${keys.map(showKey).join(', ')}]`

/** Writes `keys`, then deletes every other one of `deleted` (a listing must not show them). */
async function seed(store: KvStore, keys: readonly string[], deleted: readonly string[] = []): Promise<KvModel> {
  const model = new KvModel()
  const puts = [...keys, ...deleted].map((key) => ({ key, value: new TextEncoder().encode(key) }))
  // In slices, so adapters with a small maxOpsPerCommit accept it.
  for (let i = 0; i < puts.length; i += 16) await store.commit({ puts: puts.slice(i, i + 16) })
  for (let i = 0; i < deleted.length; i += 16) await store.commit({ deletes: deleted.slice(i, i + 16) })
  model.commit([], puts)
  model.commit([], [], deleted)
  return model
}

async function pages(store: KvStore, prefix: string, size: number, between?: () => Promise<void>): Promise<KvEntry[]> {
  const out: KvEntry[] = []
  let after: string | undefined
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await store.list(after === undefined ? { prefix, limit: size } : { prefix, after, limit: size })
    if (page.length > size) throw new Error(`list returned ${page.length} entries for limit ${size}`)
    out.push(...page)
    if (page.length < size) return out
    after = page[page.length - 1]!.key
    await between?.()
  }
  throw new Error('pagination did not terminate')
}

const keySet = fc.uniqueArray(keyArb(3), { maxLength: 24 })
/** Live keys plus keys written and deleted again (disjoint). */
const liveAndDeleted = fc
  .uniqueArray(fc.tuple(keyArb(3), fc.boolean()), { selector: ([k]) => k, maxLength: 24 })
  .map((pairs) => [pairs.filter(([, d]) => !d).map(([k]) => k), pairs.filter(([, d]) => d).map(([k]) => k)] as const)

export const list: Group = {
  name: 'list',
  properties: [
    {
      id: 'list/utf8-order',
      title: 'list is strictly ascending by UTF-8 bytes (not UTF-16 code units) and returns exactly the live keys under the prefix',
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(liveAndDeleted, prefixArb, ([keys, deleted], prefix) =>
            ctx.withStore(async (store) => {
              const model = await seed(store, keys, deleted)
              const got = keysOf(await store.list({ prefix, limit: 1000 }))
              const want = keysOf(model.list(prefix))
              if (got.join('\u0001') !== want.join('\u0001')) throw new Error(`list(prefix ${showKey(prefix)}) gave ${show(got)}, expected ${show(want)}`)
            }),
          ),
          150,
        )
      },
    },
    {
      id: 'list/after-and-limit',
      title: '`after` is exclusive wherever it falls (a stored key, between keys, outside the prefix) and `limit` caps the page',
      async run(ctx) {
        const afterArb = (keys: string[]) => (keys.length ? fc.oneof(fc.constantFrom(...keys), keyArb(3)) : keyArb(3))
        await ctx.check(
          fc.asyncProperty(
            liveAndDeleted.chain(([keys, deleted]) => fc.tuple(fc.constant(keys), fc.constant(deleted), prefixArb, afterArb([...keys, ...deleted]), fc.integer({ min: 1, max: 30 }))),
            ([keys, deleted, prefix, after, limit]) =>
              ctx.withStore(async (store) => {
                const model = await seed(store, keys, deleted)
                const got = keysOf(await store.list({ prefix, after, limit }))
                const want = keysOf(model.list(prefix, after, limit))
                if (got.join('\u0001') !== want.join('\u0001')) {
                  throw new Error(`list(prefix ${showKey(prefix)}, after ${showKey(after)}, limit ${limit}) gave ${show(got)}, expected ${show(want)}`)
                }
              }),
          ),
          150,
        )
      },
    },
    {
      id: 'list/pagination',
      title: 'pages of every size concatenate to the whole listing, without gaps or duplicates',
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(keySet, prefixArb, fc.integer({ min: 1, max: 8 }), (keys, prefix, size) =>
            ctx.withStore(async (store) => {
              const model = await seed(store, keys)
              const got = keysOf(await pages(store, prefix, size))
              const want = keysOf(model.list(prefix))
              if (got.join('\u0001') !== want.join('\u0001')) throw new Error(`pages of ${size} under ${showKey(prefix)} gave ${show(got)}, expected ${show(want)}`)
            }),
          ),
          100,
        )
      },
    },
    {
      id: 'list/snapshot-at-scale',
      title: 'one list call over hundreds of keys is one snapshot while commits move value and a key between the two ends of the range',
      async run(ctx) {
        const store = await ctx.open()
        const n = 400
        const each = 10
        const key = (i: number) => `snap/${String(i).padStart(4, '0')}`
        // The token key moves between the first and the last place of the range, by a delete plus a put.
        const token = ['snap/!token', 'snap/~token'] as const
        const ops = Math.max(1, (ctx.capabilities.maxOpsPerCommit ?? 64) - 1)
        const puts = Array.from({ length: n }, (_, i) => ({ key: key(i), value: intValue(each) }))
        for (let i = 0; i < n; i += ops) await store.commit({ puts: puts.slice(i, i + ops) })
        await store.commit({ puts: [{ key: token[0], value: intValue(0) }] })
        const total = n * each
        let done = false
        const violations: string[] = []
        const mover = async (id: number, moves: number) => {
          for (let m = 0; m < moves && violations.length === 0; m++) {
            // From the first tenth of the range to the last tenth, or back: pages of a stitched listing fall between.
            const low = key((m * 7 + id) % (n / 10))
            const high = key(n - 1 - ((m * 13 + id) % (n / 10)))
            const [from, to] = m % 2 === 0 ? [low, high] : [high, low]
            for (let attempt = 0; attempt < 1000; attempt++) {
              const [a, b, t0, t1] = await store.getMany([from, to, token[0], token[1]])
              const t = t0 ?? t1
              if (!a || !b || !t || (t0 && t1)) {
                violations.push('a mover lost a key or saw the token twice')
                return
              }
              const moveToken = m % 3 === id
              const r = await store.commit({
                checks: [
                  { key: from, version: a.version },
                  { key: to, version: b.version },
                  { key: t.key, version: t.version },
                ],
                puts: [
                  { key: from, value: intValue(valueInt(a.value) - 1) },
                  { key: to, value: intValue(valueInt(b.value) + 1) },
                  ...(moveToken ? [{ key: t.key === token[0] ? token[1] : token[0], value: t.value }] : []),
                ],
                deletes: moveToken ? [t.key] : [],
              })
              // Yield either way: a store that answers in microtasks would otherwise finish every move before a reader runs.
              await new Promise((resolve) => setImmediate(resolve))
              if (r.ok) break
            }
          }
        }
        const reader = async () => {
          while (!done && violations.length === 0) {
            const listed = await store.list({ prefix: 'snap/', limit: 10_000 })
            const tokens = listed.filter((e) => e.key.includes('token')).length
            const sum = listed.filter((e) => !e.key.includes('token')).reduce((s, e) => s + valueInt(e.value), 0)
            if (listed.length !== n + 1 || tokens !== 1 || sum !== total) {
              violations.push(`one list call saw ${listed.length} keys (${tokens} tokens) summing to ${sum}; every snapshot has ${n + 1} keys, 1 token, sum ${total}`)
            }
            await new Promise((r) => setImmediate(r))
          }
        }
        const moves = ctx.runs(60)
        const readers = [reader(), reader()]
        await Promise.all([mover(0, moves), mover(1, moves)])
        done = true
        await Promise.all(readers)
        if (violations.length) throw ctx.failure(`torn listing: ${violations[0]}`)
      },
    },
    {
      id: 'list/pagination-under-writes',
      title: 'while others insert and delete keys between pages, every key present throughout appears exactly once and nothing never written appears',
      async run(ctx) {
        const plan = fc.record({
          stable: fc.uniqueArray(keyArb(3), { minLength: 1, maxLength: 16 }),
          churn: fc.uniqueArray(keyArb(3), { maxLength: 10 }),
          size: fc.integer({ min: 1, max: 5 }),
          steps: fc.array(fc.tuple(fc.nat(), fc.boolean()), { minLength: 1, maxLength: 20 }),
        })
        await ctx.check(
          fc.asyncProperty(plan, ({ stable, churn, size, steps }) =>
            ctx.withStore(async (store) => {
              const transient = churn.filter((k) => !stable.includes(k))
              await seed(store, stable)
              let step = 0
              // Between pages, another writer inserts or deletes one of the transient keys.
              const mutate = async () => {
                const s = steps[step++ % steps.length]!
                if (transient.length === 0) return
                const key = transient[s[0] % transient.length]!
                await store.commit(s[1] ? { puts: [{ key, value: one }] } : { deletes: [key] })
              }
              const got = keysOf(await pages(store, '', size, mutate))
              for (let i = 1; i < got.length; i++) {
                if (compareUtf8(got[i - 1]!, got[i]!) >= 0) throw new Error(`pages not strictly ascending: ${show(got)}`)
              }
              for (const key of stable) if (!got.includes(key)) throw new Error(`key ${showKey(key)} present throughout was skipped: ${show(got)}`)
              for (const key of got) {
                if (!stable.includes(key) && !transient.includes(key)) throw new Error(`key ${showKey(key)} was never written: ${show(got)}`)
              }
            }),
          ),
          100,
        )
      },
    },
  ],
}
