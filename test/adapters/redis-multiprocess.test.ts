import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { redisStore } from 'appr-core/adapters/redis'
import { runWorkers } from '../helpers/multiprocess.js'
import { startRedis, type TestRedis } from '../helpers/servers.js'

const started = await startRedis({ suite: 'redis multi-process writers' })

if (started) {
  const server: TestRedis = started
  test.after(() => server.stop())

  test('4 processes incrementing one counter by compare-and-set lose no update', async () => {
    const prefix = 'mp-counter'
    const { reports } = await runWorkers({ adapter: 'redis', url: server.url, prefix, count: 40, mode: 'counter' }, 4)
    const store = redisStore({ url: server.url, prefix })
    try {
      const value = new TextDecoder().decode((await store.get('counter'))!.value)
      assert.is(value, '160')
      assert.ok(reports.reduce((s, r) => s + r.conflicts, 0) > 0, 'the writers really contended')
    } finally {
      await store.close()
    }
  })
}

test.run()
