import { runBlobConformance } from 'appr-core/conformance'
import { kvBlobs } from './kv-blobs.js'
import { destroy, newLocation, open } from './level.adapter.js'

const kv = kvBlobs(open)
await runBlobConformance({ name: 'kvBlobStore(level)', ...kv, capabilities: { ...kv.capabilities, persistent: true }, newLocation, destroy, worker: new URL('./level.adapter.ts', import.meta.url) })
