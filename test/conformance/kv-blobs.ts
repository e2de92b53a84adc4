// kvBlobStore over an adapter, as the BlobStore part of the suite opens it: the blob store's
// close() closes the KvStore under it.
import type { BlobStore, KvStore } from 'appr-core'
import { kvBlobStore } from 'appr-core'

/** Chunk size of the kvBlobStores under test: small enough that objects of several chunks stay cheap. */
export const chunkBytes = 64 * 1024

/** `open` and `close` options of runBlobConformance for kvBlobStore over the KvStore `openKv` opens. */
export function kvBlobs(openKv: (location: string) => KvStore | Promise<KvStore>) {
  const kvOf = new WeakMap<BlobStore, KvStore>()
  return {
    open: async (location: string) => {
      const kv = await openKv(location)
      const blobs = kvBlobStore(kv, { chunkBytes })
      kvOf.set(blobs, kv)
      return blobs
    },
    close: async (blobs: BlobStore) => kvOf.get(blobs)?.close(),
    capabilities: { chunkBytes },
  }
}

/** The worker modules' `openBlobs`: a kvBlobStore over the store at `location`. */
export const openBlobsOver = (openKv: (location: string) => KvStore | Promise<KvStore>) => async (location: string) => kvBlobStore(await openKv(location), { chunkBytes })
