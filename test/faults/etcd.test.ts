import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { etcdStore } from 'appr-core/adapters/etcd'
import { startEtcd } from '../helpers/servers.js'
import { commitStream, summary, verifyStream } from './stream.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const etcd = await startEtcd({ suite: 'etcd faults' })
const test = suite('etcd faults')

if (etcd && !etcd.owned) console.log('SKIPPED SUITE: etcd faults — needs an etcd binary the harness can kill (APPR_TEST_ETCD_ENDPOINTS cannot be)')
else if (etcd) {
  const server = etcd
  test.after(() => server.stop())

  test('kill -9 and restart etcd in the middle of a stream of commits', async () => {
    const store = etcdStore({ hosts: server.endpoints, prefix: 'kill/' })
    const started = Date.now()
    const stop = (async () => {
      await sleep(800)
      await server.killMember(0)
      await sleep(700)
      await server.restartMember(0)
      await sleep(1500)
    })()
    const outcome = await commitStream(store, 's', stop)
    console.log(summary('etcd kill/restart', outcome, Date.now() - started))
    assert.ok(outcome.acked.length > 20)
    assert.equal(await store.commit({ puts: [{ key: 'after', value: new Uint8Array([1]) }] }), { ok: true })
    await verifyStream(store, 's', outcome)
    await store.close()
  })
}

test.run()
