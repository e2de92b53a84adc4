import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Redis } from 'ioredis'
import { redisStore } from 'appr-core/adapters/redis'
import { kvContract, rejects } from '../helpers/kv-contract.js'
import { startRedis, type TestRedis } from '../helpers/servers.js'

const redis = await startRedis({ suite: 'redis adapter' })
const test = suite('redis adapter')
let n = 0
const prefix = () => `t${process.pid}-${n++}`

if (redis) {
  const server: TestRedis = redis
  test.after(() => server.stop())
  kvContract(test, () => redisStore({ url: server.url, prefix: prefix() }))

  test('every Redis key of a store carries its hash tag', async () => {
    const p = prefix()
    const store = redisStore({ url: server.url, prefix: p })
    await store.commit({ puts: [{ key: 'a', value: new Uint8Array([1]) }] })
    const raw = new Redis(server.url)
    const keys = await raw.keys(`*${p}*`)
    await raw.quit()
    assert.ok(keys.length >= 4)
    for (const k of keys) assert.ok(k.startsWith(`{${p}}:`), k)
    await store.close()
  })

  test('an injected client is used and not quit by close()', async () => {
    const client = new Redis(server.url)
    const store = redisStore({ client, prefix: prefix() })
    await store.commit({ puts: [{ key: 'a', value: new Uint8Array([1]) }] })
    await store.close()
    assert.is(await client.ping(), 'PONG')
    await client.quit()
  })

  test('a script cache flush (NOSCRIPT) is recovered transparently', async () => {
    const store = redisStore({ url: server.url, prefix: prefix() })
    await store.commit({ puts: [{ key: 'a', value: new Uint8Array([1]) }] })
    const raw = new Redis(server.url)
    await raw.script('FLUSH')
    await raw.quit()
    assert.equal(await store.commit({ puts: [{ key: 'b', value: new Uint8Array([2]) }] }), { ok: true })
    assert.is((await store.list({ prefix: '' })).length, 2)
    await store.close()
  })

  test('a prefix with braces is refused', () => {
    assert.throws(() => redisStore({ url: server.url, prefix: 'a{b}' }))
  })

  test('a server that is down gives unavailable quickly, not a hang', async () => {
    const store = redisStore({ url: 'redis://127.0.0.1:1', prefix: prefix(), resolveTimeoutMs: 2000 })
    const started = Date.now()
    await rejects(() => store.get('a'), 'unavailable')
    await rejects(() => store.commit({ puts: [{ key: 'a', value: new Uint8Array([1]) }] }), 'unavailable')
    assert.ok(Date.now() - started < 30_000)
    await store.close()
  })
}

test.run()
