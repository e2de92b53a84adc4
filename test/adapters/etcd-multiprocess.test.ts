import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { etcdStore } from 'appr-core/adapters/etcd'
import { runWorkers } from '../helpers/multiprocess.js'
import { startEtcd, type TestEtcd } from '../helpers/servers.js'

const started = await startEtcd({ suite: 'etcd multi-process writers' })

if (started) {
  const server: TestEtcd = started
  test.after(() => server.stop())

  test('4 processes incrementing one counter by compare-and-set lose no update', async () => {
    const prefix = 'mp-counter/'
    const { reports } = await runWorkers({ adapter: 'etcd', hosts: server.endpoints, prefix, count: 40, mode: 'counter' }, 4)
    const store = etcdStore({ hosts: server.endpoints, prefix })
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
