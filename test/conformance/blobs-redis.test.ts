import { runBlobConformance } from 'appr-core/conformance'
import { startRedis } from '../helpers/servers.js'
import { kvBlobs } from './kv-blobs.js'
import { open } from './redis.adapter.js'

const redis = await startRedis({ suite: 'redis blob conformance' })
let n = 0
const kv = kvBlobs(open)
if (redis) {
  await runBlobConformance({
    name: 'kvBlobStore(redis)',
    ...kv,
    capabilities: { ...kv.capabilities, persistent: true },
    newLocation: () => `${redis.url}#b${process.pid}-${n++}`,
    worker: new URL('./redis.adapter.ts', import.meta.url),
    teardown: () => redis.stop(),
  })
}
