/**
 * Background gc across processes: two registries on one Redis take turns through the gc lease
 * (never two gc runs at once), honour the interval between runs, and take over a lease its holder
 * let expire. `serve --gc-interval` runs it and logs each run.
 */
import { Registry } from 'appr-core'
import { redisStore } from 'appr-core/adapters/redis'
import { gcIfDue, type GcAttempt } from 'appr-core'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startServe } from '../cli/serve-helpers.js'
import { startRedis } from '../helpers/servers.js'

const redis = await startRedis({ suite: 'gc lease on redis' })

if (redis) {
  const prefix = `gc-${process.pid}:`
  const one = new Registry({ store: redisStore({ url: redis.url, prefix }) })
  const two = new Registry({ store: redisStore({ url: redis.url, prefix }) })

  test('two registries on one redis never run gc at the same time', async () => {
    let running = 0
    let most = 0
    let runs = 0
    // A gc that yields to the event loop many times while it "runs", so an overlap would be seen.
    const gc = async () => {
      running++
      runs++
      most = Math.max(most, running)
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
      await one.options.store.get('gc/lease')
      running--
      return { deletedBlobs: 0 }
    }
    const attempts: GcAttempt[] = []
    for (let round = 0; round < 30; round++) {
      attempts.push(...(await Promise.all([gcIfDue(one, { intervalMs: 0, gc }), gcIfDue(two, { intervalMs: 0, gc }), gcIfDue(one, { intervalMs: 0, gc })])))
    }
    assert.is(most, 1, 'two gc runs overlapped')
    assert.ok(runs >= 30, `every round ran gc once at least (${runs})`)
    assert.ok(attempts.some((a) => !a.ran && a.reason === 'busy'), 'the others were told the lease is busy')
  })

  test('the interval holds across processes; an expired lease is taken over', async () => {
    const ran = await gcIfDue(one, { intervalMs: 0 })
    assert.ok(ran.ran)
    assert.equal(await gcIfDue(two, { intervalMs: 60 * 60 * 1000 }), { ran: false, reason: 'not-due' })
    // A holder that died: its lease is past its expiry.
    const store = one.options.store
    const entry = await store.get('gc/lease')
    const dead = { owner: 'dead-process', until: Date.now() - 1, last: 0 }
    assert.ok((await store.commit({ checks: [{ key: 'gc/lease', version: entry!.version }], puts: [{ key: 'gc/lease', value: new TextEncoder().encode(JSON.stringify(dead)) }] })).ok)
    const taken = await gcIfDue(two, { intervalMs: 60 * 60 * 1000 })
    assert.ok(taken.ran, JSON.stringify(taken))
    // A live holder is respected.
    const live = { owner: 'other-process', until: Date.now() + 60_000, last: 0 }
    const now = await store.get('gc/lease')
    assert.ok((await store.commit({ checks: [{ key: 'gc/lease', version: now!.version }], puts: [{ key: 'gc/lease', value: new TextEncoder().encode(JSON.stringify(live)) }] })).ok)
    assert.equal(await gcIfDue(one, { intervalMs: 0 }), { ran: false, reason: 'busy' })
    await store.commit({ deletes: ['gc/lease'] })
  })

  test('serve --gc-interval: two servers on one redis, gc runs and is logged', async () => {
    const spec = redis.url.replace(/\/?$/, '/3')
    const a = await startServe(['--store', spec, '--port', '0', '--gc-interval', '0.05'])
    const b = await startServe(['--store', spec, '--port', '0'], { APPR_GC_INTERVAL: '0.05' })
    try {
      const gcLines = () => [...a.out, ...b.out].filter((l) => l.includes('"msg":"gc"')).length
      // A bound on waiting, not a timing: both schedules try every 50 ms.
      for (let i = 0; i < 600 && gcLines() < 3; i++) await new Promise((resolve) => setTimeout(resolve, 50))
      assert.ok(gcLines() >= 3, `gc ran and was logged (${gcLines()} lines)`)
    } finally {
      assert.is(await a.stop(), 0)
      assert.is(await b.stop(), 0)
    }
  })

  test.after(async () => {
    await one.close()
    await two.close()
    await redis.stop()
  })
}

test.run()
