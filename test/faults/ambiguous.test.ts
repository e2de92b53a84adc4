// Commits whose reply is lost: the store must never apply one twice, never report a false
// conflict, and settle every failed call as applied or definitely not applied.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Redis } from 'ioredis'
import { Etcd3, type ITxnRequest } from 'etcd3'
import { isApprError } from 'appr-core'
import { redisStore } from 'appr-core/adapters/redis'
import { type EtcdKv, etcd3Kv, etcdStore } from 'appr-core/adapters/etcd'
import { COMMIT, FENCE } from '../../adapters/redis/scripts.js'
import { startEtcd, startRedis } from '../helpers/servers.js'

const bytes = (s: string) => new TextEncoder().encode(s)
const redis = await startRedis({ suite: 'ambiguous commits (redis)', debug: true })
const etcd = await startEtcd({ suite: 'ambiguous commits (etcd)' })
const test = suite('ambiguous commits')
test.after(async () => {
  await redis?.stop()
  await etcd?.stop()
})

if (redis?.owned) {
  const url = redis.url
  test('redis: a resent commit script finds its marker, reports success and writes nothing twice', async () => {
    const raw = new Redis(url)
    try {
      // KEYS: idx, kv, ver, seq, marker, hint channel (scripts.ts).
      const keys = ['{r1}:idx', '{r1}:kv', '{r1}:ver', '{r1}:seq', '{r1}:txn:abc', '{r1}:chg']
      const args = ['60', '1', 'k', '-', '1', 'k', 'v', '0']
      assert.equal(await raw.eval(COMMIT, keys.length, ...keys, ...args), [1])
      assert.equal(await raw.eval(COMMIT, keys.length, ...keys, ...args), [3])
      assert.is(await raw.get('{r1}:seq'), '1')
      // a fenced id can never apply later
      assert.is(await raw.eval(FENCE, 1, '{r1}:txn:def', '60'), 'x')
      assert.equal(await raw.eval(COMMIT, keys.length, ...keys.slice(0, 4), '{r1}:txn:def', '{r1}:chg', '60', '0', '1', 'k2', 'v', '0'), [2])
      assert.is(await raw.hget('{r1}:kv', 'k2'), null)
      assert.is(await raw.eval(FENCE, 1, '{r1}:txn:abc', '60'), '1')
    } finally {
      // A client left open after a failed assertion reconnects forever once the server stops.
      raw.disconnect()
    }
  })

  test('redis: a commit that times out while the server is stalled is settled as applied', async () => {
    const store = redisStore({ url, prefix: 'r2', redisOptions: { commandTimeout: 200 } })
    await store.commit({ puts: [{ key: 'warm', value: bytes('1') }] })
    const raw = new Redis(url)
    try {
      const stall = raw.call('DEBUG', 'SLEEP', '0.8')
      await new Promise((r) => setTimeout(r, 50))
      // sent while the server sleeps: the client gives up after 200 ms, the server runs it later
      const r = await store.commit({ checks: [{ key: 'k', version: null }], puts: [{ key: 'k', value: bytes('v') }] })
      await stall
      assert.equal(r, { ok: true })
      assert.is(new TextDecoder().decode((await store.get('k'))!.value), 'v')
    } finally {
      raw.disconnect()
      await store.close()
    }
  })
}

if (etcd?.owned) {
  const hosts = etcd.endpoints
  /** A real etcd transport with faults injected around txn calls. */
  const faulty = (client: Etcd3, fault: (req: ITxnRequest, real: EtcdKv) => Promise<Awaited<ReturnType<EtcdKv['txn']>>>) => {
    const real = etcd3Kv(client, false)
    let armed = true
    const kv: EtcdKv = {
      ...real,
      txn: (req) => {
        if (armed && (req.success?.length ?? 0) > 0 && req.compare?.length) {
          armed = false
          return fault(req, real)
        }
        return real.txn(req)
      },
    }
    return kv
  }

  test('etcd: a Txn the client resent after a lost reply reports success, applied once', async () => {
    const client = new Etcd3({ hosts })
    // apply, lose the reply, resend: what etcd3's retry policy does after a timeout
    const kv = faulty(client, async (req, real) => {
      await real.txn(req)
      return real.txn(req)
    })
    const store = etcdStore({ kv, prefix: 'e1/' })
    const r = await store.commit({ checks: [{ key: 'k', version: null }], puts: [{ key: 'k', value: bytes('v') }] })
    assert.equal(r, { ok: true })
    assert.ok(await store.get('k'))
    await store.close()
    client.close()
  })

  test('etcd: a call that failed after applying is settled as applied', async () => {
    const client = new Etcd3({ hosts })
    const kv = faulty(client, async (req, real) => {
      await real.txn(req)
      throw new Error('simulated lost reply')
    })
    const store = etcdStore({ kv, prefix: 'e2/' })
    assert.equal(await store.commit({ puts: [{ key: 'k', value: bytes('v') }] }), { ok: true })
    await store.close()
    client.close()
  })

  test('etcd: a call that failed before applying is settled as not applied, and a late arrival cannot apply', async () => {
    const client = new Etcd3({ hosts })
    let lost: ITxnRequest | undefined
    const kv = faulty(client, async (req) => {
      lost = req
      throw new Error('simulated network failure')
    })
    const store = etcdStore({ kv, prefix: 'e3/' })
    try {
      await store.commit({ puts: [{ key: 'k', value: bytes('v') }] })
      assert.unreachable()
    } catch (e) {
      assert.ok(isApprError(e, 'unavailable'))
      assert.is(e.details.applied, false)
      assert.is(e.transient, true)
    }
    // the request arrives late: the fence makes its compares fail
    const late = await client.kv.txn(lost!)
    assert.is(late.succeeded, false)
    assert.is(await store.get('k'), undefined)
    await store.close()
    client.close()
  })
}

test.run()
