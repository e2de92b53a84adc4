import { test } from 'uvu'
import { redisStore } from 'appr-core/adapters/redis'
import { assertNoLostUpdates } from '../helpers/multiprocess.js'
import { startRedis, type TestRedis } from '../helpers/servers.js'

const started = await startRedis({ suite: 'redis multi-process writers' })

if (started) {
  const server: TestRedis = started
  test.after(() => server.stop())

  test('4 processes incrementing one counter by compare-and-set lose no update', () =>
    assertNoLostUpdates({ adapter: 'redis', url: server.url }, async (prefix) => {
      const store = redisStore({ url: server.url, prefix })
      try {
        return Number(new TextDecoder().decode((await store.get('counter'))?.value))
      } finally {
        await store.close()
      }
    }))
}

test.run()
