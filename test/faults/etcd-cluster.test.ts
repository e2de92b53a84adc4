import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { etcdStore } from 'appr-core/adapters/etcd'
import { startEtcd } from '../helpers/servers.js'
import { commitStream, summary, verifyStream } from './stream.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const etcd = process.env.APPR_TEST_ETCD_ENDPOINTS ? undefined : await startEtcd({ suite: 'etcd 3-member cluster', members: 3 })
const test = suite('etcd 3-member cluster')

if (process.env.APPR_TEST_ETCD_ENDPOINTS) console.log('SKIPPED SUITE: etcd 3-member cluster — unset APPR_TEST_ETCD_ENDPOINTS so the harness starts its own cluster')
else if (etcd) {
  const cluster = etcd
  test.after(() => cluster.stop())

  test('killing the leader mid-run loses no acknowledged commit', async () => {
    const store = etcdStore({ hosts: cluster.endpoints, prefix: 'leader/' })
    const started = Date.now()
    let killed = -1
    const stop = (async () => {
      await sleep(1000)
      killed = await cluster.leader()
      assert.ok(killed >= 0, 'a leader was found')
      await cluster.killMember(killed)
      await sleep(2500)
    })()
    const outcome = await commitStream(store, 's', stop, 3)
    console.log(summary(`etcd cluster, leader ${cluster.members[killed]} killed`, outcome, Date.now() - started))
    assert.ok(outcome.acked.length > 20)
    // a new leader serves the remaining quorum; then the old one rejoins
    assert.ok((await cluster.leader()) >= 0)
    assert.equal(await store.commit({ puts: [{ key: 'after', value: new Uint8Array([1]) }] }), { ok: true })
    await verifyStream(store, 's', outcome)
    await cluster.restartMember(killed)
    await verifyStream(store, 's', outcome)
    await store.close()
  })
}

test.run()
