import { runBlobConformance } from 'appr-core/conformance'
import { startEtcd } from '../helpers/servers.js'
import { open } from './etcd.adapter.js'
import { kvBlobs } from './kv-blobs.js'

const etcd = await startEtcd({ suite: 'etcd blob conformance' })
let n = 0
const kv = kvBlobs(open)
if (etcd) {
  await runBlobConformance({
    name: 'kvBlobStore(etcd)',
    ...kv,
    capabilities: { ...kv.capabilities, persistent: true },
    newLocation: () => `${etcd.endpoints.join(',')}#b${process.pid}-${n++}/`,
    worker: new URL('./etcd.adapter.ts', import.meta.url),
    teardown: () => etcd.stop(),
  })
}
