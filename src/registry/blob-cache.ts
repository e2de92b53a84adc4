/**
 * A bounded cache of small blobs' bytes by appr digest, shared by the pulls of one Registry.
 *
 * Why it needs no invalidation, across processes too: a digest names its content (the push
 * verified it), so bytes cached under a digest are right for as long as that digest exists.
 * A pull consults it only after reading the package record fresh from the store and finding a
 * manifest that names the digest, so a deleted release is never served from here.
 * @module
 */

import { LruMap } from './lru.js'
import type { CacheStats } from './release-cache.js'

/** Blobs larger than this are never cached (charts are mostly a few KiB). */
export const MAX_CACHED_BLOB_BYTES = 256 * 1024

/** Least recently used blobs evicted first once `maxBytes` is exceeded. */
export class BlobCache {
  readonly #entries = new LruMap<string, Uint8Array>(Number.POSITIVE_INFINITY)
  readonly #maxBytes: number
  #bytes = 0
  #hits = 0
  #misses = 0

  constructor(maxBytes: number) {
    this.#maxBytes = Math.max(0, Math.floor(maxBytes))
  }

  /** Whether a blob of `size` bytes would be kept. */
  accepts(size: number): boolean {
    return size <= MAX_CACHED_BLOB_BYTES && size <= this.#maxBytes
  }

  /** A copy of the bytes of `digest` (the caller may keep or change it), or undefined. */
  get(digest: string): Uint8Array | undefined {
    const bytes = this.#entries.get(digest, true)
    if (bytes === undefined) {
      this.#misses++
      return undefined
    }
    this.#hits++
    return bytes.slice()
  }

  stats(): CacheStats & { readonly bytes: number } {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size, bytes: this.#bytes }
  }

  /** Keeps `bytes` (owned by the cache from now on: the caller must not change them). */
  set(digest: string, bytes: Uint8Array): void {
    if (!this.accepts(bytes.byteLength) || this.#entries.has(digest)) return
    this.#entries.set(digest, bytes)
    this.#bytes += bytes.byteLength
    while (this.#bytes > this.#maxBytes) {
      const evicted = this.#entries.evictOldest()
      if (evicted === undefined) break
      this.#bytes -= evicted[1].byteLength
    }
  }
}
