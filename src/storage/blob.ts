/**
 * Where blob bytes live. Blob *metadata* (digest, size, reference counts) lives in the
 * {@link KvStore} and is changed in the same commit as the manifests; the BlobStore only holds
 * immutable byte objects under ids the registry chooses (a fresh UUID per upload: the digest is
 * known only once the bytes have been read), so two uploads of the same content never overwrite each other and garbage collection can
 * delete exactly the object that lost.
 *
 * The default implementation ({@link kvBlobStore}) stores chunks in any KvStore; a registry that
 * already has object storage implements this interface on it.
 * @module
 */

/** Immutable byte objects addressed by an id chosen by the caller. */
export interface BlobStore {
  /** Stores the bytes of `chunks` under `id` (never called twice for one id). Memory use must not grow with the size. */
  write(id: string, chunks: AsyncIterable<Uint8Array>): Promise<void>
  /** The bytes stored under `id`, streamed, or `undefined` when there is no such object. */
  read(id: string): Promise<AsyncIterable<Uint8Array> | undefined>
  /** Removes the object; absent ids are ignored. */
  delete(id: string): Promise<void>
  /** Every stored id, ascending; used by garbage collection to find objects no record names. */
  ids(): AsyncIterable<string>
}
