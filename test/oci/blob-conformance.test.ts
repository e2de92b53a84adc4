// The BlobStore part of appr-core/conformance on ociBlobStore, over a real docker-registry: each
// property gets a fresh repository as its location.
import { runBlobConformance } from 'appr-core/conformance'
import { ociBlobStore } from 'appr-core/oci'
import { startDockerRegistry } from '../helpers/servers.js'

const registry = await startDockerRegistry({ suite: 'ociBlobStore conformance' })
if (registry) {
  let n = 0
  const chunkBytes = 64 * 1024
  await runBlobConformance({
    name: 'ociBlobStore(docker-registry)',
    open: (location) => ociBlobStore({ url: registry.url, repository: location, chunkBytes }),
    capabilities: { persistent: true, chunkBytes },
    newLocation: () => `appr/conformance-${process.pid}-${n++}`,
    teardown: () => registry.stop(),
  })
}
