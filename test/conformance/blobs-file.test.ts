import { runBlobConformance } from 'appr-core/conformance'
import { chunkBytes, destroy, newLocation, openBlobs } from './file-blobs.adapter.js'

await runBlobConformance({
  name: 'fileBlobStore',
  open: openBlobs,
  capabilities: { persistent: true, chunkBytes },
  newLocation,
  destroy,
  worker: new URL('./file-blobs.adapter.ts', import.meta.url),
})
