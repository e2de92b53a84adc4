import { memoryStore } from 'appr-core/adapters/memory'
import { runBlobConformance } from 'appr-core/conformance'
import { kvBlobs } from './kv-blobs.js'

await runBlobConformance({ name: 'kvBlobStore(memory)', ...kvBlobs(() => memoryStore()) })
