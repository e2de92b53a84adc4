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

  test('values carry their versions: one HMGET reads both, also for reads larger than one slice', async () => {
    const store = redisStore({ url: server.url, prefix: prefix() })
    const keys = Array.from({ length: 9000 }, (_, i) => `k${String(i).padStart(5, '0')}`)
    for (let i = 0; i < keys.length; i += 1000) {
      // Values containing ':' and binary bytes: the version prefix is split off at the first colon.
      await store.commit({ puts: keys.slice(i, i + 1000).map((key, j) => ({ key, value: new Uint8Array([58, i / 1000, j % 256, 0, 58]) })) })
    }
    const wanted = [...keys, 'absent']
    const many = await store.getMany(wanted)
    assert.is(many.length, wanted.length)
    assert.is(many.at(-1), undefined)
    for (const i of [0, 999, 1000, 4095, 4096, 8191, 8192, 8999]) {
      const one = await store.get(keys[i]!)
      assert.equal(many[i], one)
      assert.equal([...one!.value], [58, Math.floor(i / 1000), (i % 1000) % 256, 0, 58])
    }
    assert.is(new Set(many.slice(0, 1000).map((e) => e!.version)).size, 1)
    assert.is.not(many[0]!.version, many[1000]!.version)
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
