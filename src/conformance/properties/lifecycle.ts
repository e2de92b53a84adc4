// Lifecycle: capabilities are well-formed and stable; close() with work in flight settles
// everything quickly, later calls reject with `unavailable`, and the process can exit; a store
// that declares change hints wakes a subscriber.
import { isApprError } from '../../errors/index.js'
import type { KvCapabilities } from '../../storage/kv.js'
import { intValue } from '../arbitraries.js'
import { type Group, rejectsWith, within } from '../harness.js'

function describe(caps: KvCapabilities): string {
  return JSON.stringify(caps)
}

export const lifecycle: Group = {
  name: 'lifecycle',
  properties: [
    {
      id: 'lifecycle/capabilities',
      title: 'capabilities are well-formed (booleans, positive integer limits) and the same on every instance',
      async run(ctx) {
        const store = await ctx.open()
        const caps = store.capabilities
        if (typeof store.name !== 'string' || store.name === '') throw ctx.failure('store.name must be a non-empty string')
        if (typeof caps.persistent !== 'boolean' || typeof caps.multiProcess !== 'boolean') throw ctx.failure(`persistent and multiProcess must be booleans: ${describe(caps)}`)
        for (const limit of ['maxValueBytes', 'maxOpsPerCommit', 'maxKeyBytes'] as const) {
          const v = caps[limit]
          if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw ctx.failure(`${limit} must be a positive integer when present: ${describe(caps)}`)
        }
        if (caps.maxOpsPerCommit !== undefined && caps.maxOpsPerCommit < 8) throw ctx.failure('maxOpsPerCommit below 8 cannot hold a registry mutation')
        const other = caps.persistent ? await ctx.reopen(store) : await ctx.open()
        if (describe(other.capabilities) !== describe(caps)) throw ctx.failure(`capabilities differ between instances: ${describe(caps)} vs ${describe(other.capabilities)}`)
      },
    },
    {
      id: 'lifecycle/close-in-flight',
      title: 'close() with operations in flight settles every one (result or unavailable) quickly; later calls reject with unavailable',
      async run(ctx) {
        const store = await ctx.open()
        await store.commit({ puts: Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, value: intValue(i) })) })
        const inflight = Array.from({ length: 24 }, (_, i) => {
          const op = i % 4 === 0 ? store.get(`k${i % 8}`) : i % 4 === 1 ? store.list({ prefix: 'k' }) : i % 4 === 2 ? store.getMany(['k1', 'k2']) : store.commit({ puts: [{ key: `w${i}`, value: intValue(i) }] })
          return op.then(
            () => 'ok',
            (e: unknown) => (isApprError(e, 'unavailable') ? 'unavailable' : `unexpected ${isApprError(e) ? e.code : String(e)}`),
          )
        })
        await within(store.close(), 10_000, 'close() with operations in flight')
        const outcomes = await within(Promise.all(inflight), 10_000, 'operations in flight during close()')
        const bad = outcomes.find((o) => o !== 'ok' && o !== 'unavailable')
        if (bad) throw ctx.failure(`an operation in flight during close() ended with ${bad}`)
        await rejectsWith(within(store.get('k1'), 10_000, 'get after close'), 'unavailable', 'get after close')
        await rejectsWith(within(store.getMany(['k1']), 10_000, 'getMany after close'), 'unavailable', 'getMany after close')
        await rejectsWith(within(store.list({ prefix: '' }), 10_000, 'list after close'), 'unavailable', 'list after close')
        await rejectsWith(within(store.commit({ puts: [{ key: 'z', value: intValue(1) }] }), 10_000, 'commit after close'), 'unavailable', 'commit after close')
        await within(store.close(), 10_000, 'a second close()')
      },
    },
    {
      id: 'lifecycle/process-exits',
      title: 'a child process that closes its store (work in flight) exits by itself: no handle is left open',
      needs: ['worker'],
      async run(ctx) {
        const location = await ctx.freshLocation()
        const worker = ctx.spawn(location, 'close-exit')
        const { outcomes } = await within(worker.next<{ outcomes: string[] }>('closed'), 30_000, 'child closing its store')
        const bad = outcomes.find((o) => o !== 'ok' && o !== 'unavailable')
        if (bad) throw ctx.failure(`an operation in flight during close() ended with ${bad} in the child`)
        const exit = await within(worker.exited, 15_000, 'the child process exiting after close() (a leaked handle keeps it alive)')
        if (exit.code !== 0) throw ctx.failure(`the child exited with code ${exit.code}`)
      },
    },
    {
      id: 'lifecycle/change-hints',
      title: 'subscribe: a put under the prefix committed after subscribe resolved (by a second instance where there can be one) wakes the listener',
      needs: ['changeHints'],
      async run(ctx) {
        const store = await ctx.open()
        if (typeof store.subscribe !== 'function') throw ctx.failure('capabilities.changeHints is declared but store.subscribe is missing')
        const writer = ctx.capabilities.multiProcess ? await ctx.attach(store) : store
        let wake = () => {}
        const woken = new Promise<void>((resolve) => {
          wake = resolve
        })
        const end = await store.subscribe('hint/', () => wake())
        await writer.commit({ puts: [{ key: 'other/1', value: intValue(1) }] })
        await writer.commit({ puts: [{ key: 'hint/1', value: intValue(1) }] })
        await within(woken, 15_000, 'the change hint of a put under the prefix')
        await end()
        await end()
      },
    },
  ],
}
