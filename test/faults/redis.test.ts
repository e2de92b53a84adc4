import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { redisStore } from 'appr-core/adapters/redis'
import { startRedis } from '../helpers/servers.js'
import { commitStream, summary, verifyStream } from './stream.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const redis = await startRedis({ suite: 'redis faults', persistent: true })
const test = suite('redis faults')

if (redis && !redis.owned) console.log('SKIPPED SUITE: redis faults — needs a redis-server binary the harness can restart (APPR_TEST_REDIS_URL cannot be restarted)')
else if (redis) {
  const server = redis
  test.after(() => server.stop())

  for (const [i, [name, fault]] of ([
    ['graceful restart (SIGTERM, AOF)', () => server.bounce()],
    ['crash (SIGKILL) and restart, AOF appendfsync always', async () => {
      await server.kill()
      await sleep(300)
      await server.restart()
    }],
  ] as const).entries()) {
    test(`${name} in the middle of a stream of commits`, async () => {
      const store = redisStore({ url: server.url, prefix: `f${i}` })
      const started = Date.now()
      const stop = (async () => {
        await sleep(800)
        await fault()
        await sleep(1500)
      })()
      const outcome = await commitStream(store, 's', stop)
      console.log(summary(name, outcome, Date.now() - started))
      assert.ok(outcome.acked.length > 20, 'commits went through before and after the fault')
      // recovers without a new client
      assert.equal(await store.commit({ puts: [{ key: 'after', value: new Uint8Array([1]) }] }), { ok: true })
      await verifyStream(store, 's', outcome)
      await store.close()
    })
  }
}

test.run()
