import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Etcd3 } from 'etcd3'
import { type EtcdKv, etcd3Kv, etcdStore } from 'appr-core/adapters/etcd'
import { kvContract, rejects } from '../helpers/kv-contract.js'
import { startEtcd, type TestEtcd } from '../helpers/servers.js'

const etcd = await startEtcd({ suite: 'etcd adapter' })
const test = suite('etcd adapter')
let n = 0
const prefix = () => `t${process.pid}-${n++}/`

if (etcd) {
  const server: TestEtcd = etcd
  test.after(() => server.stop())
  kvContract(test, () => etcdStore({ hosts: server.endpoints, prefix: prefix() }))

  test('keys live under <prefix>k/, markers under <prefix>t/ with a lease', async () => {
    const p = prefix()
    const store = etcdStore({ hosts: server.endpoints, prefix: p })
    await store.commit({ puts: [{ key: 'a', value: new Uint8Array([1]) }] })
    const client = new Etcd3({ hosts: server.endpoints })
    const keys = await client.getAll().prefix(p).keys()
    assert.is(keys.length, 2)
    assert.ok(keys.includes(`${p}k/a`))
    const marker = keys.find((k) => k.startsWith(`${p}t/`))
    assert.ok(marker)
    const raw = await client.kv.range({ key: Buffer.from(marker) })
    assert.is.not(raw.kvs[0]?.lease, '0')
    client.close()
    await store.close()
  })

  test('concurrent reads share calls: each gets its own entries, every acknowledged commit seen', async () => {
    const client = new Etcd3({ hosts: server.endpoints })
    const real = etcd3Kv(client, false)
    let calls = 0
    const counted: EtcdKv = {
      ...real,
      range: (r) => {
        calls++
        return real.range(r)
      },
      txn: (r) => {
        if ((r.compare?.length ?? 0) === 0) calls++ // reads only: commits carry compares
        return real.txn(r)
      },
    }
    const store = etcdStore({ kv: counted, prefix: prefix() })
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`)
    for (let i = 0; i < keys.length; i += 100) {
      await store.commit({ puts: keys.slice(i, i + 100).map((key, j) => ({ key, value: new Uint8Array([i / 100, j]) })) })
    }
    calls = 0
    // 200 single reads and 20 three-key reads at once, duplicates and absent keys among them.
    const singles = keys.map((key) => store.get(key))
    const triples = Array.from({ length: 20 }, (_, i) => store.getMany([keys[i]!, 'absent', keys[i]!]))
    const got = await Promise.all(singles)
    for (const [i, entry] of got.entries()) assert.equal([...entry!.value], [Math.floor(i / 100), i % 100])
    for (const [i, triple] of (await Promise.all(triples)).entries()) {
      assert.is(triple[1], undefined)
      assert.equal(triple[0], triple[2])
      assert.ok(triple[0] !== triple[2], 'two results share one entry object')
      assert.equal(triple[0], got[i])
    }
    assert.ok(calls < 20, `220 concurrent reads took ${calls} calls`)
    // A read issued after a commit was acknowledged sees it, also while other reads are queued.
    const before = keys.map((key) => store.get(key))
    await store.commit({ puts: [{ key: 'k0', value: new Uint8Array([9]) }] })
    assert.equal([...(await store.get('k0'))!.value], [9])
    await Promise.all(before)
    await store.close()
    client.close()
  })

  test('an injected etcd3 client is used and not closed by close()', async () => {
    const client = new Etcd3({ hosts: server.endpoints })
    const store = etcdStore({ client, prefix: prefix() })
    await store.commit({ puts: [{ key: 'a', value: new Uint8Array([1]) }] })
    await store.close()
    assert.ok(await client.get('anything').string() === null)
    client.close()
  })

  test('versions are mod revisions, kept as decimal strings', async () => {
    const store = etcdStore({ hosts: server.endpoints, prefix: prefix() })
    await store.commit({ puts: [{ key: 'a', value: new Uint8Array([1]) }] })
    const e = await store.get('a')
    assert.match(e!.version, /^[1-9][0-9]*$/)
    // a version that is not a revision (or a huge one) is a conflict, never an error
    for (const version of ['0', '-1', '99999999999999999999', '18446744073709551615', '9223372036854775807']) {
      const r = await store.commit({ checks: [{ key: 'a', version }], puts: [{ key: 'b', value: new Uint8Array([1]) }] })
      assert.equal(r, { ok: false, conflicts: ['a'] })
    }
    await store.close()
  })

  test('a commit over the request size is invalid-parameters before any write', async () => {
    const store = etcdStore({ hosts: server.endpoints, prefix: prefix() })
    const max = store.capabilities.maxValueBytes!
    const puts = [0, 1].map((i) => ({ key: `big${i}`, value: new Uint8Array(max) }))
    await rejects(() => store.commit({ puts }), 'invalid-parameters')
    assert.equal(await store.list({ prefix: '' }), [])
    await store.close()
  })

  test('a server that is down gives unavailable quickly, not a hang', async () => {
    const store = etcdStore({ hosts: 'http://127.0.0.1:1', prefix: prefix(), resolveTimeoutMs: 2000 })
    const started = Date.now()
    await rejects(() => store.get('a'), 'unavailable')
    await rejects(() => store.commit({ puts: [{ key: 'a', value: new Uint8Array([1]) }] }), 'unavailable')
    assert.ok(Date.now() - started < 30_000)
    await store.close()
  })
}

test.run()
