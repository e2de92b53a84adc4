// commit: all or nothing, checks by version (absent / current / stale), versions that change on
// every write and are never reused, duplicate keys rejected, readers never see half a commit,
// and checks that hold at the commit's instant even for keys it does not write (no write skew).
import fc from 'fast-check'
import type { KvCommit, KvStore } from '../../storage/kv.js'
import { hex, intValue, keyArb, sameBytes, showKey, valueArb, valueInt } from '../arbitraries.js'
import { type Group, rejectsWith } from '../harness.js'

const bytes = (s: string) => new TextEncoder().encode(s)

async function snapshot(store: KvStore): Promise<string> {
  const entries = await store.list({ prefix: '', limit: 10_000 })
  return entries.map((e) => `${showKey(e.key)}=${hex(e.value)}@${e.version}`).join(' ')
}

export const commit: Group = {
  name: 'commit',
  properties: [
    {
      id: 'commit/versions',
      title: 'checks hold by version: absent, current, stale; a same-bytes rewrite and a delete+recreate both give never-seen versions',
      async run(ctx) {
        const store = await ctx.open()
        const expectOk = async (c: KvCommit, what: string) => {
          const r = await store.commit(c)
          if (!r.ok) throw ctx.failure(`${what}: expected the commit to apply, it reported conflicts ${JSON.stringify(r.conflicts)}`)
        }
        const expectConflict = async (c: KvCommit, key: string, what: string) => {
          const before = await snapshot(store)
          const r = await store.commit(c)
          if (r.ok) throw ctx.failure(`${what}: expected a conflict, the commit applied`)
          if (!r.conflicts.includes(key) || r.conflicts.some((k) => !(c.checks ?? []).some((x) => x.key === k))) {
            throw ctx.failure(`${what}: conflicts ${JSON.stringify(r.conflicts)} should name ${showKey(key)} and only checked keys`)
          }
          if ((await snapshot(store)) !== before) throw ctx.failure(`${what}: a conflicting commit changed the store`)
        }
        const version = async (key: string) => {
          const e = await store.get(key)
          if (!e) throw ctx.failure(`${showKey(key)} vanished`)
          if (typeof e.version !== 'string' || e.version === '') throw ctx.failure(`version of ${showKey(key)} is not a non-empty string`)
          return e.version
        }
        await expectOk({ checks: [{ key: 'k', version: null }], puts: [{ key: 'k', value: bytes('x') }] }, 'put if absent on an absent key')
        const v1 = await version('k')
        await expectConflict({ checks: [{ key: 'k', version: null }], puts: [{ key: 'k', value: bytes('y') }] }, 'k', 'put if absent on a present key')
        await expectOk({ checks: [{ key: 'k', version: v1 }], puts: [{ key: 'k', value: bytes('x') }] }, 'rewrite of the same bytes with the current version')
        const v2 = await version('k')
        if (v2 === v1) throw ctx.failure('rewriting the same bytes kept the version: checks would accept a stale read (ABA)')
        await expectConflict({ checks: [{ key: 'k', version: v1 }], deletes: ['k'] }, 'k', 'delete with a stale version')
        await expectConflict({ checks: [{ key: 'absent', version: v2 }], puts: [{ key: 'k', value: bytes('z') }] }, 'absent', 'check of a version on an absent key')
        await expectOk({ checks: [{ key: 'k', version: v2 }, { key: 'other', version: null }], deletes: ['k'] }, 'delete with the current version')
        if ((await store.get('k')) !== undefined) throw ctx.failure('deleted key still reads back')
        await expectOk({ checks: [{ key: 'k', version: null }], puts: [{ key: 'k', value: bytes('x') }] }, 'recreate after delete')
        const v3 = await version('k')
        if (v3 === v1 || v3 === v2) throw ctx.failure(`the version of a recreated key (${v3}) repeats one it had before delete: a stale check would pass`)
        await expectConflict({ checks: [{ key: 'k', version: v1 }], puts: [{ key: 'k', value: bytes('w') }] }, 'k', 'check with the version from before delete+recreate')
        const r = await store.commit({ deletes: ['never-existed'] })
        if (!r.ok) throw ctx.failure('deleting an absent key must succeed as a no-op')
        // Versions of distinct keys written in one commit may be anything, but each key's token must be stable between reads.
        if ((await version('k')) !== v3) throw ctx.failure('the version changed without a write')
      },
    },
    {
      id: 'commit/failed-check-writes-nothing',
      title: 'a commit with any failing check writes none of its puts and deletes, and names only checked keys as conflicts',
      async run(ctx) {
        const plan = fc.record({
          initial: fc.uniqueArray(fc.tuple(keyArb(2), valueArb(ctx.capabilities, 8)), { selector: ([k]) => k, maxLength: 8 }),
          puts: fc.uniqueArray(fc.tuple(keyArb(2), valueArb(ctx.capabilities, 8)), { selector: ([k]) => k, maxLength: 6 }),
          deletes: fc.uniqueArray(keyArb(2), { maxLength: 4 }),
          passing: fc.nat({ max: 3 }),
          failing: fc.constantFrom('absent-but-present', 'stale', 'present-but-absent'),
        })
        await ctx.check(
          fc.asyncProperty(plan, (p) =>
            ctx.withStore(async (store) => {
              if (p.initial.length) await store.commit({ puts: p.initial.map(([key, value]) => ({ key, value })) })
              const present = await store.list({ prefix: '', limit: 1000 })
              const checks = present.slice(0, p.passing).map((e) => ({ key: e.key, version: e.version as string | null }))
              const victim = present[p.passing] ?? present[0]
              if (p.failing === 'absent-but-present' && victim) checks.push({ key: victim.key, version: null })
              else if (p.failing === 'stale' && victim) {
                await store.commit({ puts: [{ key: victim.key, value: victim.value }] }) // same bytes, new version
                checks.push({ key: victim.key, version: victim.version })
              } else checks.push({ key: 'no-such-key\u0000', version: present[0]?.version ?? 'v-that-never-was' })
              const puts = p.puts.map(([key, value]) => ({ key, value }))
              const deletes = p.deletes.filter((k) => !puts.some((x) => x.key === k))
              const before = await snapshot(store)
              const r = await store.commit({ checks, puts, deletes })
              if (r.ok) throw new Error('a commit with a failing check applied')
              if (r.conflicts.length === 0) throw new Error('a failed commit reported no conflicting key')
              for (const k of r.conflicts) if (!checks.some((c) => c.key === k)) throw new Error(`conflict names unchecked key ${showKey(k)}`)
              const after = await snapshot(store)
              if (after !== before) throw new Error(`a failed commit changed the store:\n  before ${before}\n  after  ${after}`)
            }),
          ),
          100,
        )
      },
    },
    {
      id: 'commit/duplicate-keys',
      title: 'a key twice in one commit (put+put, put+delete, delete+delete), present or absent, checked or not, is invalid-parameters and writes nothing',
      async run(ctx) {
        const plan = fc.record({
          key: keyArb(3),
          pair: fc.constantFrom('put+put', 'put+delete', 'delete+delete'),
          present: fc.boolean(),
          checked: fc.boolean(),
          others: fc.uniqueArray(keyArb(3), { maxLength: 4 }),
          otherDeletes: fc.boolean(),
        })
        await ctx.check(
          fc.asyncProperty(plan, (p) =>
            ctx.withStore(async (store) => {
              const others = p.others.filter((k) => k !== p.key)
              if (p.present) await store.commit({ puts: [{ key: p.key, value: bytes('0') }] })
              const before = await snapshot(store)
              const current = (await store.get(p.key))?.version ?? null
              const twice = p.pair.split('+') as ('put' | 'delete')[]
              const puts = twice.filter((op) => op === 'put').map((_, i) => ({ key: p.key, value: bytes(String(i + 1)) }))
              const deletes = twice.filter((op) => op === 'delete').map(() => p.key)
              // The duplicate sits among valid operations, so only the duplicate makes the commit invalid.
              if (p.otherDeletes) deletes.push(...others)
              else puts.push(...others.map((key) => ({ key, value: bytes('x') })))
              const c = { checks: p.checked ? [{ key: p.key, version: current }] : [], puts, deletes }
              await rejectsWith(store.commit(c), 'invalid-parameters', `${p.pair} of ${showKey(p.key)} in one commit`)
              const after = await snapshot(store)
              if (after !== before) throw new Error(`a commit refused for a duplicate key changed the store:\n  before ${before}\n  after  ${after}`)
            }),
          ),
          60,
        )
      },
    },
    {
      id: 'commit/write-skew',
      title: 'two commits raced, each checking only the key the other writes (present or absent, put or delete): exactly one applies',
      async run(ctx) {
        const store = await ctx.open()
        // A second instance where the store allows one, so the race also crosses connections.
        const other = ctx.capabilities.multiProcess ? await ctx.attach(store) : store
        const rounds = ctx.runs(120)
        for (let round = 0; round < rounds; round++) {
          const present = round % 2 === 0
          const deleting = present && round % 4 === 0
          const [x, y] = [`skew/${round}/x`, `skew/${round}/y`]
          if (present) await store.commit({ puts: [{ key: x, value: bytes('0') }, { key: y, value: bytes('0') }] })
          const [ex, ey] = await store.getMany([x, y])
          const write = (key: string): KvCommit => (deleting ? { deletes: [key] } : { puts: [{ key, value: bytes('1') }] })
          // Each commit checks only the other's key: "x may change while y is as I read it" (the on-call doctors case).
          const a = { checks: [{ key: y, version: ey?.version ?? null }], ...write(x) }
          const b = { checks: [{ key: x, version: ex?.version ?? null }], ...write(y) }
          const stagger = round % 3 === 2 ? () => new Promise<void>((r) => setImmediate(r)) : async () => {}
          const [ra, rb] = await Promise.all([store.commit(a), stagger().then(() => other.commit(b))])
          const what = `${present ? 'present' : 'absent'} keys, ${deleting ? 'deletes' : 'puts'} (round ${round})`
          if (ra.ok && rb.ok) throw ctx.failure(`write skew: both commits applied although each checked the key the other wrote (${what})`)
          if (!ra.ok && !rb.ok) throw ctx.failure(`neither commit applied, but the first to take effect had nothing to conflict with (${what})`)
          const [fx, fy] = await store.getMany([x, y])
          const changed = (before: typeof ex, after: typeof fx) => before?.version !== after?.version
          if (changed(ex, fx) !== ra.ok || changed(ey, fy) !== rb.ok) throw ctx.failure(`the store does not match the commit that applied (${what})`)
        }
      },
    },
    {
      id: 'commit/atomic-under-readers',
      title: 'concurrent readers (get, getMany, list) never observe part of a commit',
      async run(ctx) {
        const store = await ctx.open()
        const total = 1000
        await store.commit({ puts: [{ key: 'acct/a', value: intValue(total) }, { key: 'acct/b', value: intValue(0) }, { key: 'slot/0', value: intValue(0) }] })
        let done = false
        const violations: string[] = []
        const writer = async (moves: number) => {
          for (let i = 0; i < moves && violations.length === 0; i++) {
            for (let attempt = 0; attempt < 1000 && violations.length === 0; attempt++) {
              const [a, b, slotEntries] = await Promise.all([store.get('acct/a'), store.get('acct/b'), store.list({ prefix: 'slot/' })])
              const slot = slotEntries[0]
              if (!a || !b || !slot || slotEntries.length !== 1) {
                violations.push(`writer saw ${slotEntries.length} slot keys and ${a && b ? 'both' : 'not both'} accounts`)
                return
              }
              const amount = (i % 7) - 3
              const n = Number(slot.key.slice(5))
              // Moves an amount between two keys and renames the slot key (a delete plus a put): both halves or neither.
              const r = await store.commit({
                checks: [
                  { key: 'acct/a', version: a.version },
                  { key: 'acct/b', version: b.version },
                  { key: slot.key, version: slot.version },
                ],
                puts: [
                  { key: 'acct/a', value: intValue(valueInt(a.value) - amount) },
                  { key: 'acct/b', value: intValue(valueInt(b.value) + amount) },
                  { key: `slot/${n + 1}`, value: intValue(n + 1) },
                ],
                deletes: [slot.key],
              })
              if (r.ok) break
              // Let the readers run between retries (memory-speed stores never yield otherwise).
              await new Promise((resolve) => setImmediate(resolve))
            }
          }
        }
        const reader = async () => {
          while (!done && violations.length === 0) {
            const [a, b] = await store.getMany(['acct/a', 'acct/b'])
            if (valueInt(a?.value) + valueInt(b?.value) !== total) violations.push(`getMany saw a=${valueInt(a?.value)} b=${valueInt(b?.value)} (sum must stay ${total})`)
            const listed = await store.list({ prefix: '' })
            const sum = listed.filter((e) => e.key.startsWith('acct/')).reduce((s, e) => s + valueInt(e.value), 0)
            const slots = listed.filter((e) => e.key.startsWith('slot/')).length
            if (sum !== total || slots !== 1) violations.push(`list saw sum=${sum} with ${slots} slot keys (must be ${total} and 1): ${listed.map((e) => showKey(e.key)).join(' ')}`)
            await new Promise((r) => setImmediate(r))
          }
        }
        const moves = ctx.runs(300)
        const readers = [reader(), reader(), reader()]
        await Promise.all([writer(moves), writer(moves)])
        done = true
        await Promise.all(readers)
        if (violations.length) throw ctx.failure(`partial commit observed: ${violations[0]}`)
        const [a, b] = await store.getMany(['acct/a', 'acct/b'])
        if (valueInt(a?.value) + valueInt(b?.value) !== total) throw ctx.failure(`after the run a+b = ${valueInt(a?.value) + valueInt(b?.value)}, not ${total}`)
        const slots = await store.list({ prefix: 'slot/' })
        if (slots.length !== 1 || !sameBytes(slots[0]?.value, intValue(Number(slots[0]?.key.slice(5))))) throw ctx.failure(`expected exactly one slot key, found ${slots.length}`)
      },
    },
  ],
}
