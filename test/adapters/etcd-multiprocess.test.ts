import { test } from 'uvu'
import { etcdStore } from 'appr-core/adapters/etcd'
import { assertNoLostUpdates } from '../helpers/multiprocess.js'
import { startEtcd, type TestEtcd } from '../helpers/servers.js'

const started = await startEtcd({ suite: 'etcd multi-process writers' })

if (started) {
  const server: TestEtcd = started
  test.after(() => server.stop())

  test('4 processes incrementing one counter by compare-and-set lose no update', () =>
    assertNoLostUpdates({ adapter: 'etcd', hosts: server.endpoints }, async (prefix) => {
      const store = etcdStore({ hosts: server.endpoints, prefix })
      try {
        return Number(new TextDecoder().decode((await store.get('counter'))?.value))
      } finally {
        await store.close()
      }
    }))
}

test.run()
