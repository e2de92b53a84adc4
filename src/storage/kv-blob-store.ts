/**
 * A {@link BlobStore} over any {@link KvStore}: objects are cut into fixed-size chunks, each its
 * own key, so a backend with a small value limit (etcd) can hold blobs of any size.
 *
 * Layout under `prefix` (default `blobdata/`):
 * - `<prefix><id>#<8 hex digits>`: chunk number n of object `id`;
 * - `<prefix><id>`: the object's meta record `{ chunks, size }`, written **last**, so an object
 *   whose writer crashed half-way is invisible to `read` and `ids`.
 *
 * `#` sorts before every character an id may contain, so an object's chunks directly follow its
 * meta key and `ids()` can jump over them.
 * @module
 */
import { ApprError } from '../errors/index.js'
import type { BlobStore } from './blob.js'
import type { KvPut, KvStore } from './kv.js'

/** Options of {@link kvBlobStore}. */
export interface KvBlobStoreOptions {
  /** Size of one chunk in bytes (default 256 KiB; capped by the store's `maxValueBytes`). */
  readonly chunkBytes?: number
  /** Key prefix of every key this blob store writes (default `blobdata/`). */
  readonly prefix?: string
}

/**
 * A {@link kvBlobStore}: a {@link BlobStore} that can also hand a small object's writes to a
 * commit of the caller's, so the object and the records naming it land in one atomic commit.
 */
export interface KvBlobStore extends BlobStore {
  /**
   * The puts that store `bytes` as the new object `id` (its one chunk and its meta record), for
   * the caller to include in a commit on the same KvStore that also checks `absent` is absent;
   * `undefined` when the object needs more than one chunk. The commit must not reuse `bytes`' buffer.
   */
  stage(id: string, bytes: Uint8Array): { readonly puts: KvPut[]; readonly absent: string } | undefined
}

const ID = /^[A-Za-z0-9._:/-]{1,200}$/
// Bytes written per commit: large enough to amortise round trips, small enough for etcd's
// request limit (1.5 MiB by default) and for bounded memory.
const COMMIT_BYTES = 1024 * 1024

interface Meta {
  chunks: number
  size: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function assertId(id: string): void {
  if (typeof id !== 'string' || !ID.test(id)) {
    throw new ApprError('invalid-parameters', 'a blob object id must be 1-200 characters of [A-Za-z0-9._:/-]', { details: { id } })
  }
}

function parseMeta(id: string, bytes: Uint8Array): Meta {
  try {
    const value = JSON.parse(decoder.decode(bytes)) as Partial<Meta>
    if (Number.isSafeInteger(value.chunks) && Number.isSafeInteger(value.size) && value.chunks! >= 0 && value.size! >= 0) {
      return { chunks: value.chunks!, size: value.size! }
    }
  } catch {
    // fall through to the typed error
  }
  throw new ApprError('internal-error', 'a stored blob object has a corrupt meta record', { details: { object: id } })
}

/**
 * Creates a {@link BlobStore} that keeps its objects in `store`.
 *
 * Writing commits a few chunks at a time (within `maxOpsPerCommit` and about 1 MiB) and the
 * meta record last; reading fetches a few chunks at a time. Memory stays bounded by about one
 * commit's worth of chunks whatever the object size.
 * @example
 * ```ts
 * const store = memoryStore()
 * const registry = new Registry({ store, blobs: kvBlobStore(store, { chunkBytes: 64 * 1024 }) })
 * ```
 */
export function kvBlobStore(store: KvStore, options: KvBlobStoreOptions = {}): KvBlobStore {
  const prefix = options.prefix ?? 'blobdata/'
  const { maxValueBytes, maxOpsPerCommit } = store.capabilities
  const chunkBytes = Math.max(1, Math.min(options.chunkBytes ?? 256 * 1024, maxValueBytes ?? Number.POSITIVE_INFINITY))
  // One slot of every commit is kept for the meta record or a check.
  const chunksPerCommit = Math.max(1, Math.min((maxOpsPerCommit ?? 65) - 1, Math.floor(COMMIT_BYTES / chunkBytes)))

  const metaKey = (id: string) => `${prefix}${id}`
  const chunkKey = (id: string, n: number) => `${prefix}${id}#${n.toString(16).padStart(8, '0')}`

  async function commitOrFail(puts: KvPut[], id: string, checks: { key: string; version: null }[] = []) {
    const result = await store.commit({ checks, puts })
    if (!result.ok) throw new ApprError('internal-error', 'a blob object id was used twice', { details: { object: id } })
  }

  /** Deletes every chunk of `id` (whether or not its meta record exists), a page at a time. */
  async function deleteChunks(id: string): Promise<void> {
    for (;;) {
      const page = await store.list({ prefix: `${prefix}${id}#`, limit: chunksPerCommit })
      if (page.length === 0) return
      await store.commit({ deletes: page.map((e) => e.key) })
      if (page.length < chunksPerCommit) return
    }
  }

  return {
    stage(id, bytes) {
      assertId(id)
      if (bytes.byteLength === 0 || bytes.byteLength > chunkBytes) return undefined
      const meta = encoder.encode(JSON.stringify({ chunks: 1, size: bytes.byteLength } satisfies Meta))
      return { puts: [{ key: chunkKey(id, 0), value: bytes }, { key: metaKey(id), value: meta }], absent: metaKey(id) }
    },

    async write(id, chunks) {
      assertId(id)
      // Bytes of the chunk being filled, copied out of the source (which may reuse its buffers).
      // Allocating per piece rather than a chunkBytes buffer keeps small objects cheap.
      let parts: Uint8Array[] = []
      let filled = 0
      let count = 0
      let size = 0
      let pending: KvPut[] = []
      const flush = async () => {
        if (pending.length === 0) return
        await commitOrFail(pending, id)
        pending = []
      }
      const seal = async () => {
        let value = parts[0]!
        if (parts.length > 1) {
          value = new Uint8Array(filled)
          let offset = 0
          for (const part of parts) {
            value.set(part, offset)
            offset += part.byteLength
          }
        }
        pending.push({ key: chunkKey(id, count++), value })
        parts = []
        filled = 0
        if (pending.length >= chunksPerCommit) await flush()
      }
      try {
        for await (const piece of chunks) {
          size += piece.byteLength
          let offset = 0
          while (offset < piece.byteLength) {
            const n = Math.min(chunkBytes - filled, piece.byteLength - offset)
            parts.push(piece.slice(offset, offset + n))
            filled += n
            offset += n
            if (filled === chunkBytes) await seal()
          }
        }
        if (filled > 0) await seal()
        const meta = { key: metaKey(id), value: encoder.encode(JSON.stringify({ chunks: count, size } satisfies Meta)) }
        if (pending.length + 2 <= (maxOpsPerCommit ?? Number.POSITIVE_INFINITY)) {
          await commitOrFail([...pending, meta], id, [{ key: meta.key, version: null }])
        } else {
          await flush()
          await commitOrFail([meta], id, [{ key: meta.key, version: null }])
        }
      } catch (error) {
        // Leave nothing behind: the chunks written so far are unreachable without a meta record.
        await deleteChunks(id).catch(() => undefined)
        throw error
      }
    },

    async read(id) {
      assertId(id)
      // The first chunk comes with the meta record: a small object is one round trip.
      const [entry, first] = await store.getMany([metaKey(id), chunkKey(id, 0)])
      if (entry === undefined) return undefined
      const meta = parseMeta(id, entry.value)
      return (async function* () {
        let seen = 0
        for (let start = 0; start < meta.chunks; start += chunksPerCommit) {
          const keys: string[] = []
          for (let n = start === 0 ? 1 : start; n < Math.min(meta.chunks, start + chunksPerCommit); n++) keys.push(chunkKey(id, n))
          const entries = keys.length === 0 ? [] : await store.getMany(keys)
          if (start === 0) entries.unshift(first)
          for (const chunk of entries) {
            if (chunk === undefined) throw new ApprError('internal-error', 'a stored blob object is missing a chunk', { details: { object: id } })
            seen += chunk.value.byteLength
            yield chunk.value
          }
        }
        if (seen !== meta.size) throw new ApprError('internal-error', 'a stored blob object has the wrong size', { details: { object: id } })
      })()
    },

    async delete(id) {
      assertId(id)
      // Chunks first, meta last: a crash half-way leaves a visible object that gc deletes again.
      await deleteChunks(id)
      await store.commit({ deletes: [metaKey(id)] })
    },

    async *ids() {
      let after: string | undefined
      for (;;) {
        const page = await store.list(after === undefined ? { prefix, limit: 64 } : { prefix, after, limit: 64 })
        if (page.length === 0) return
        let jumped = false
        for (const { key } of page) {
          const rest = key.slice(prefix.length)
          const hash = rest.indexOf('#')
          if (hash === -1) {
            yield rest
            after = key
          } else {
            // A run of chunks (of the object just yielded, or of a half-written one): skip it whole.
            after = `${prefix}${rest.slice(0, hash)}#g`
            jumped = true
            break
          }
        }
        if (!jumped && page.length < 64) return
      }
    },
  }
}
