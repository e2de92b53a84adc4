/**
 * Metered stores: a KvStore and a BlobStore that time and count what passes through them, for
 * `appr-core/metrics`. They change nothing else: same calls, same answers, same errors.
 * @module
 */
import type { Counter, Histogram } from 'prom-client'
import type { BlobStore } from '../storage/blob.js'
import type { KvEntry, KvStore } from '../storage/kv.js'

/** The metrics a metered store writes to. */
export interface StoreMetrics {
  readonly duration: Histogram<'adapter' | 'op'>
  readonly errors: Counter<'adapter' | 'op'>
  readonly conflicts: Counter<'adapter'>
  readonly blobBytes: Counter<'direction' | 'store'>
}

/**
 * Keys of blob chunks the default blob store (`kvBlobStore`) keeps inside the KV store: their
 * bytes are blob traffic, counted as the `kv` blob store's.
 */
const isChunk = (key: string): boolean => key.startsWith('blobdata/') && key.includes('#')

function chunkBytes(entries: readonly (KvEntry | undefined)[]): number {
  let bytes = 0
  for (const entry of entries) if (entry !== undefined && isChunk(entry.key)) bytes += entry.value.byteLength
  return bytes
}

/** Wraps `store`: each call is timed, failures counted, conflicting commits counted. */
export function meteredStore(store: KvStore, metrics: StoreMetrics): KvStore {
  const adapter = store.name
  const blobOut = metrics.blobBytes.labels({ direction: 'out', store: 'kv' })
  const blobIn = metrics.blobBytes.labels({ direction: 'in', store: 'kv' })
  const conflicts = metrics.conflicts.labels({ adapter })
  // One child per call, bound once: prom-client would otherwise hash the labels on every call.
  const children = new Map(
    (['get', 'getMany', 'list', 'commit'] as const).map((op) => [op, { duration: metrics.duration.labels({ adapter, op }), errors: metrics.errors.labels({ adapter, op }) }]),
  )
  async function timed<T>(op: 'get' | 'getMany' | 'list' | 'commit', call: () => Promise<T>): Promise<T> {
    const child = children.get(op)!
    const started = performance.now()
    try {
      return await call()
    } catch (error) {
      child.errors.inc()
      throw error
    } finally {
      child.duration.observe((performance.now() - started) / 1000)
    }
  }
  return {
    name: store.name,
    capabilities: store.capabilities,
    get: (key) =>
      timed('get', async () => {
        const entry = await store.get(key)
        if (entry !== undefined && isChunk(key)) blobOut.inc(entry.value.byteLength)
        return entry
      }),
    getMany: (keys) =>
      timed('getMany', async () => {
        const entries = await store.getMany(keys)
        const bytes = chunkBytes(entries)
        if (bytes > 0) blobOut.inc(bytes)
        return entries
      }),
    list: (options) => timed('list', () => store.list(options)),
    commit: (commit) =>
      timed('commit', async () => {
        const result = await store.commit(commit)
        if (!result.ok) conflicts.inc()
        else {
          let bytes = 0
          for (const put of commit.puts ?? []) if (isChunk(put.key)) bytes += put.value.byteLength
          if (bytes > 0) blobIn.inc(bytes)
        }
        return result
      }),
    close: () => store.close(),
  }
}

/** Wraps `blobs`: bytes written and bytes read (as the reader takes them) are counted under `label`. */
export function meteredBlobs(blobs: BlobStore, label: string, bytes: Counter<'direction' | 'store'>): BlobStore {
  const written = bytes.labels({ direction: 'in', store: label })
  const read = bytes.labels({ direction: 'out', store: label })
  async function* counted(chunks: AsyncIterable<Uint8Array>, counter: typeof written): AsyncIterable<Uint8Array> {
    for await (const chunk of chunks) {
      counter.inc(chunk.byteLength)
      yield chunk
    }
  }
  return {
    write: (id, chunks) => blobs.write(id, counted(chunks, written)),
    async read(id) {
      const stream = await blobs.read(id)
      return stream === undefined ? undefined : counted(stream, read)
    },
    delete: (id) => blobs.delete(id),
    ids: () => blobs.ids(),
  }
}
