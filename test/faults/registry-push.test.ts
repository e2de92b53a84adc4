// Registry.push through server faults: redis restart and crash, etcd kill/restart, and the leader
// of a 3-member etcd cluster killed.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type KvStore, Registry, kvBlobStore } from 'appr-core'
import { redisStore } from 'appr-core/adapters/redis'
import { etcdStore } from 'appr-core/adapters/etcd'
import { startEtcd, startRedis } from '../helpers/servers.js'
import { pushStream, pushSummary, verifyPushes } from './push-stream.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const external = Boolean(process.env.APPR_TEST_REDIS_URL || process.env.APPR_TEST_ETCD_ENDPOINTS)
const test = suite('Registry.push through server faults')

if (external) console.log('SKIPPED SUITE: registry push faults — unset APPR_TEST_REDIS_URL / APPR_TEST_ETCD_ENDPOINTS so the harness starts servers it can kill')
else {
  const redis = await startRedis({ suite: 'registry push faults (redis)', persistent: true })
  const etcd = await startEtcd({ suite: 'registry push faults (etcd)' })
  const cluster = await startEtcd({ suite: 'registry push faults (etcd cluster)', members: 3 })
  test.after(async () => {
    await Promise.all([redis?.stop(), etcd?.stop(), cluster?.stop()])
  })

  const run = async (name: string, store: KvStore, fault: () => Promise<void>) => {
    const registry = new Registry({ store, ownsStore: false })
    const started = Date.now()
    const stop = (async () => {
      await sleep(1000)
      await fault()
      await sleep(1500)
    })()
    const outcome = await pushStream(registry, 'acme', stop)
    console.log(pushSummary(name, outcome, Date.now() - started))
    assert.ok(outcome.acked.length > 10, 'pushes went through around the fault')
    // the same Registry (and client) works again
    await registry.push({ package: 'acme/after', release: '1.0.0', format: 'helm', blob: (await import('../registry/helpers.js')).kubeUi })
    await verifyPushes(registry, outcome)
    // Bytes too: once gc has reclaimed abandoned uploads (clock two hours on), exactly one blob
    // object per stored release remains (every chart is distinct).
    const later = new Registry({ store, ownsStore: false, clock: () => new Date(Date.now() + 2 * 3600_000) })
    await later.gc()
    let releases = 0
    for (const pkg of ['acme/w0', 'acme/w1', 'acme/after']) releases += (await registry.releases(pkg).catch(() => [])).length
    let objects = 0
    for await (const _ of kvBlobStore(store).ids()) objects++
    assert.is(objects, releases, 'one blob object per stored release, no leftovers')
    await store.close()
  }

  if (redis) {
    test('redis: graceful restart mid-stream', () =>
      run('redis restart', redisStore({ url: redis.url, prefix: 'push1' }), () => redis.bounce()))
    test('redis: SIGKILL and restart mid-stream (AOF always)', () =>
      run('redis crash', redisStore({ url: redis.url, prefix: 'push2' }), async () => {
        await redis.kill()
        await sleep(300)
        await redis.restart()
      }))
  }
  if (etcd) {
    test('etcd: SIGKILL and restart mid-stream', () =>
      run('etcd kill/restart', etcdStore({ hosts: etcd.endpoints, prefix: 'push/' }), async () => {
        await etcd.killMember(0)
        await sleep(700)
        await etcd.restartMember(0)
      }))
  }
  if (cluster) {
    test('etcd cluster: leader SIGKILLed mid-stream loses no acknowledged push', () =>
      run('etcd cluster leader kill', etcdStore({ hosts: cluster.endpoints, prefix: 'push/' }), async () => {
        const leader = await cluster.leader()
        assert.ok(leader >= 0)
        await cluster.killMember(leader)
      }))
  }
}

test.run()
