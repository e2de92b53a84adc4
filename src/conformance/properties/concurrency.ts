// No lost updates: clients doing read / compare-and-set / retry increments end with a counter
// equal to the number of acknowledged increments — under fast-check's scheduler (every
// interleaving of the clients' calls is a candidate), under plain parallelism, across several
// instances of one store, and across real child processes.
import fc from 'fast-check'
import type { KvStore } from '../../storage/kv.js'
import { intValue, valueInt } from '../arbitraries.js'
import type { Group } from '../harness.js'

/** Increments `key` by one with a version check, retrying on conflict. Returns whether it was acknowledged. */
export async function casIncrement(store: KvStore, key: string, gate: (label: string) => Promise<void> = async () => {}, maxAttempts = 200): Promise<boolean> {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    await gate(`get ${key}`)
    const current = await store.get(key)
    await gate(`commit ${key}=${valueInt(current?.value) + 1}`)
    const r = await store.commit({
      checks: [{ key, version: current?.version ?? null }],
      puts: [{ key, value: intValue(valueInt(current?.value) + 1) }],
    })
    if (r.ok) return true
  }
  return false
}

async function counter(store: KvStore, key = 'counter'): Promise<number> {
  return valueInt((await store.get(key))?.value)
}

export const concurrency: Group = {
  name: 'concurrency',
  properties: [
    {
      id: 'concurrency/no-lost-updates-scheduled',
      title: 'CAS increments from several clients under scheduler-chosen interleavings lose no acknowledged update',
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 3 }), (s, clients, each) =>
            ctx.withStore(async (store) => {
              // Every adapter call waits for the scheduler, so calls of different clients are released in a random order.
              const gate = (label: string) => s.schedule(Promise.resolve(label), label).then(() => {})
              const client = async (c: number) => {
                let acked = 0
                for (let i = 0; i < each; i++) if (await casIncrement(store, 'counter', (l) => gate(`client ${c}: ${l}`))) acked++
                return acked
              }
              const acked = (await s.waitFor(Promise.all(Array.from({ length: clients }, (_, c) => client(c))))).reduce((a, b) => a + b, 0)
              const final = await counter(store)
              if (final !== acked) throw new Error(`counter is ${final} after ${acked} acknowledged increments`)
              if (acked !== clients * each) throw new Error(`only ${acked} of ${clients * each} increments were acknowledged within 200 attempts`)
            }),
          ),
          200,
        )
      },
    },
    {
      id: 'concurrency/no-lost-updates-parallel',
      title: 'many clients incrementing at once (no scheduler, real concurrency) lose no acknowledged update',
      async run(ctx) {
        const store = await ctx.open()
        const clients = 8
        const each = ctx.runs(25)
        const acked = await Promise.all(
          Array.from({ length: clients }, async () => {
            let n = 0
            for (let i = 0; i < each; i++) if (await casIncrement(store, 'counter', async () => {}, 10_000)) n++
            return n
          }),
        )
        const total = acked.reduce((a, b) => a + b, 0)
        const final = await counter(store)
        if (final !== total) throw ctx.failure(`counter is ${final} after ${total} acknowledged increments (lost updates)`)
        if (total !== clients * each) throw ctx.failure(`only ${total} of ${clients * each} increments were acknowledged within 10,000 attempts each`)
      },
    },
    {
      id: 'concurrency/instances',
      title: 'several instances on one location: a commit is visible to every other instance once acknowledged, and increments are not lost',
      needs: ['multiProcess', 'newLocation'],
      async run(ctx) {
        const first = await ctx.open()
        const others = [await ctx.attach(first), await ctx.attach(first)]
        const all = [first, ...others]
        for (const [i, writer] of all.entries()) {
          // Every instance reads the key first, so a per-instance cache would now hold "absent".
          for (const reader of all) await reader.get(`seen/${i}`)
          await writer.commit({ puts: [{ key: `seen/${i}`, value: intValue(i) }] })
          for (const reader of all) {
            const got = await reader.get(`seen/${i}`)
            if (valueInt(got?.value) !== i || got === undefined) throw ctx.failure(`instance ${all.indexOf(reader)} does not see the acknowledged write of instance ${i}`)
          }
        }
        const each = ctx.runs(10)
        const acked = await Promise.all(
          all.map(async (store) => {
            let n = 0
            for (let i = 0; i < each; i++) if (await casIncrement(store, 'counter', async () => {}, 10_000)) n++
            return n
          }),
        )
        const total = acked.reduce((a, b) => a + b, 0)
        for (const store of all) {
          const final = await counter(store)
          if (final !== total) throw ctx.failure(`counter is ${final} after ${total} acknowledged increments`)
        }
        if (total !== all.length * each) throw ctx.failure(`only ${total} of ${all.length * each} increments were acknowledged within 10,000 attempts each (a retry keeps reading stale data?)`)
      },
    },
    {
      id: 'concurrency/exclusive',
      title: 'a persistent single-process store refuses a second process with unavailable, and the first keeps working',
      needs: ['persistent', 'singleProcess', 'worker', 'newLocation'],
      async run(ctx) {
        const store = await ctx.open()
        await store.commit({ puts: [{ key: 'held', value: intValue(1) }] })
        const worker = ctx.spawn(ctx.locationOf(store), 'second-opener')
        const { outcome } = await worker.next<{ outcome: string }>('outcome')
        if (outcome !== 'unavailable') {
          throw ctx.failure(`a second process opening the store got ${outcome === 'ok' ? 'a working store (two processes would corrupt it)' : outcome}, expected unavailable`)
        }
        await store.commit({ puts: [{ key: 'held', value: intValue(2) }] })
        if (valueInt((await store.get('held'))?.value) !== 2) throw ctx.failure('the first instance stopped working after a second process tried to open the store')
      },
    },
    {
      id: 'concurrency/processes',
      title: 'child processes incrementing one counter lose no acknowledged update',
      needs: ['multiProcess', 'worker', 'newLocation'],
      async run(ctx) {
        const store = await ctx.open()
        const location = ctx.locationOf(store)
        const each = ctx.runs(15)
        const workers = Array.from({ length: 3 }, () => ctx.spawn(location, 'increment', { key: 'counter', count: each }))
        const done = await Promise.all(workers.map((w) => w.next<{ acked: number }>('done')))
        const total = done.reduce((s, d) => s + d.acked, 0)
        const final = await counter(store)
        if (final !== total) throw ctx.failure(`counter is ${final} after ${total} increments acknowledged by child processes`)
        if (total !== 3 * each) throw ctx.failure(`only ${total} of ${3 * each} increments were acknowledged`)
      },
    },
  ],
}
