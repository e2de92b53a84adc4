/**
 * The LevelDB adapter: a durable {@link KvStore} in one directory, on the `level` package
 * (classic-level underneath). One process at a time: LevelDB holds an exclusive `LOCK` file.
 *
 * Layout on disk: every key is stored as its UTF-8 bytes, so LevelDB's bytewise comparator
 * gives exactly the contract's order. Every value is stored as an 8-byte big-endian version
 * followed by the caller's bytes. Versions come from one store-wide counter kept under a key
 * starting with byte `0xFF` (a byte UTF-8 never produces, so no user key or prefix can reach
 * it) and rewritten in the same batch as the data, so a version is never reused, also across
 * delete and re-create and across restarts.
 *
 * Commits are serialised in-process by an async mutex: read the versions of checked keys
 * (synchronously), then one atomic `batch()`. Reads go straight to LevelDB (a batch is atomic for readers, and
 * `getMany` and iterators read from one implicit snapshot).
 * @module
 */
import { join } from 'node:path'
import { Level } from 'level'
import { ApprError } from '../../src/errors/index.js'
import type { KvCapabilities, KvCommit, KvCommitResult, KvEntry, KvListOptions, KvStore } from '../../src/storage/kv.js'
import { assertCommit, assertKey, backendError, closedError } from '../../src/storage/util.js'

export { fileBlobStore, type FileBlobStoreOptions } from './file-blob-store.js'

/** Options of {@link levelStore}. */
export interface LevelStoreOptions {
  /** Directory of the database; created when missing. */
  readonly path: string
  /**
   * `fsync` every commit before acknowledging it (survives power loss, much slower).
   * Default `false`: an acknowledged commit is in the OS page cache and survives a crash of
   * this process (not of the machine).
   */
  readonly sync?: boolean
  /** Default `limit` of {@link KvStore.list} (default 1000). */
  readonly pageSize?: number
  /** Limits to declare and enforce (LevelDB itself has none that matter here). */
  readonly limits?: Pick<KvCapabilities, 'maxValueBytes' | 'maxOpsPerCommit' | 'maxKeyBytes'>
}

/** A {@link KvStore} on LevelDB, with an explicit `open()` for programs that want to fail fast. */
export interface LevelKvStore extends KvStore {
  /** The database directory. */
  readonly path: string
  /**
   * Opens the database now (every other method opens it on first use). Rejects with
   * `ApprError('unavailable')` when another process holds the directory's `LOCK` file.
   */
  open(): Promise<void>
}

type Db = Level<Uint8Array, Uint8Array>
type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

const HEADER = 8
const encoder = new TextEncoder()
/** Where the version counter lives: outside every user key (UTF-8 never contains 0xFF). */
const COUNTER_KEY = Uint8Array.of(0xff, ...encoder.encode('version-counter'))
/** Exclusive upper bound of the user key space (listing with prefix `''`). */
const USER_END = Uint8Array.of(0xff)

function encodeCounter(n: number): Uint8Array {
  const out = new Uint8Array(HEADER)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

function readCounter(bytes: Uint8Array, at = 0): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset + at, HEADER).getBigUint64(0))
}

/** Smallest byte string greater than every string starting with `prefix` (never 0xFF-terminated in UTF-8). */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  if (prefix.length === 0) return USER_END
  const end = prefix.slice()
  end[end.length - 1]! += 1
  return end
}

function decodeEntry(key: string, stored: Uint8Array): KvEntry {
  // A view of the fresh buffer LevelDB returned: shares memory with nothing stored.
  return {
    key,
    value: new Uint8Array(stored.buffer, stored.byteOffset + HEADER, stored.byteLength - HEADER),
    version: String(readCounter(stored)),
  }
}

function hasCode(error: unknown, code: string): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === code) return true
  }
  return false
}

function assertWellFormed(name: string, text: string | undefined): void {
  if (text !== undefined && (typeof text !== 'string' || !text.isWellFormed())) {
    throw new ApprError('invalid-parameters', `list ${name} must be a well-formed string`)
  }
}

/**
 * Creates a LevelDB-backed {@link KvStore} at `options.path`. Nothing is opened until the
 * first call (or {@link LevelKvStore.open}).
 *
 * @example
 * ```ts
 * const store = levelStore({ path: './appr-data' })
 * const registry = new Registry({ store })
 * // …
 * await store.close()
 * ```
 */
export function levelStore(options: LevelStoreOptions): LevelKvStore {
  const { path } = options
  const sync = options.sync ?? false
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? 1000))
  const capabilities: KvCapabilities = { persistent: true, multiProcess: false, ...options.limits }
  const lockPath = join(path, 'LOCK')

  let db: Db | undefined
  let ready: Db | undefined
  let opening: Promise<Db> | undefined
  let counter = 0
  let closed = false
  // Tail of the commit queue: each commit runs after the previous one settled.
  let queue: Promise<unknown> = Promise.resolve()

  const fail = (cause: unknown): ApprError => (closed ? closedError('level') : backendError('level', cause))

  const openDb = async (): Promise<Db> => {
    db ??= new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
    try {
      await db.open()
      const stored = await db.get(COUNTER_KEY)
      counter = stored === undefined ? 0 : readCounter(stored)
    } catch (cause) {
      if (hasCode(cause, 'LEVEL_LOCKED')) {
        throw new ApprError('unavailable', `the level store at ${path} is in use by another process (its LOCK file ${lockPath} is held)`, {
          cause,
          transient: true,
          details: { adapter: 'level', path, lock: lockPath },
        })
      }
      throw fail(cause)
    }
    if (closed) throw closedError('level')
    ready = db
    return db
  }

  /** The open database, opening it on first use; rejects with `unavailable` once closed. */
  const use = (): Db | Promise<Db> => {
    if (closed) throw closedError('level')
    if (ready !== undefined) return ready
    opening ??= openDb().catch((e: unknown) => {
      // Let a later call try again (the other process may have let go of the LOCK).
      opening = undefined
      throw e
    })
    return opening
  }

  const applyCommit = async (commit: KvCommit): Promise<KvCommitResult> => {
    const level = await use()
    const checks = commit.checks ?? []
    try {
      if (checks.length > 0) {
        // Synchronous reads: no commit can run meanwhile (we hold the mutex), checked keys are
        // small records the caller has just read (hot in LevelDB's cache), and a thread-pool
        // round trip would cost more than the read itself.
        const conflicts: string[] = []
        for (const { key, version } of checks) {
          const stored = level.getSync(encoder.encode(key))
          if ((stored === undefined ? null : String(readCounter(stored))) !== version) conflicts.push(key)
        }
        if (conflicts.length > 0) return { ok: false, conflicts }
      }
      const puts = commit.puts ?? []
      const deletes = commit.deletes ?? []
      if (puts.length === 0 && deletes.length === 0) return { ok: true }
      const version = counter + 1
      const header = encodeCounter(version)
      const ops: BatchOp[] = []
      for (const { key, value } of puts) {
        const stored = new Uint8Array(HEADER + value.byteLength)
        stored.set(header, 0)
        stored.set(value, HEADER)
        ops.push({ type: 'put', key: encoder.encode(key), value: stored })
      }
      for (const key of deletes) ops.push({ type: 'del', key: encoder.encode(key) })
      ops.push({ type: 'put', key: COUNTER_KEY, value: header })
      if (closed) throw closedError('level')
      await level.batch(ops, { sync })
      counter = version
      return { ok: true }
    } catch (e) {
      throw fail(e)
    }
  }

  const store: LevelKvStore = {
    name: 'level',
    path,
    capabilities,
    async open() {
      await use()
    },
    async get(key) {
      assertKey(key, capabilities)
      const level = await use()
      let stored: Uint8Array | undefined
      try {
        stored = await level.get(encoder.encode(key))
      } catch (e) {
        throw fail(e)
      }
      return stored === undefined ? undefined : decodeEntry(key, stored)
    },
    async getMany(keys) {
      for (const key of keys) assertKey(key, capabilities)
      const level = await use()
      if (keys.length === 0) return []
      let stored: (Uint8Array | undefined)[]
      try {
        stored = await level.getMany(keys.map((key) => encoder.encode(key)))
      } catch (e) {
        throw fail(e)
      }
      return keys.map((key, i) => {
        const s = stored[i]
        return s === undefined ? undefined : decodeEntry(key, s)
      })
    },
    async list({ prefix, after, limit }: KvListOptions) {
      assertWellFormed('prefix', prefix)
      assertWellFormed('after', after)
      const level = await use()
      const max = Math.floor(limit ?? pageSize)
      if (!(max >= 1)) return []
      const start = encoder.encode(prefix)
      const range =
        after !== undefined && Buffer.compare(encoder.encode(after), start) >= 0
          ? { gt: encoder.encode(after), lt: prefixEnd(start) }
          : { gte: start, lt: prefixEnd(start) }
      const decoder = new TextDecoder()
      try {
        // all() closes the iterator, also when it fails.
        const rows = await level.iterator({ ...range, limit: max }).all()
        return rows.map(([key, value]) => decodeEntry(decoder.decode(key), value))
      } catch (e) {
        throw fail(e)
      }
    },
    async commit(commit) {
      if (closed) throw closedError('level')
      assertCommit(commit, capabilities)
      const run = queue.then(() => applyCommit(commit))
      queue = run.catch(() => undefined)
      return run
    },
    async close() {
      if (closed) return
      closed = true
      ready = undefined
      // Wait for an open in progress so its handle is released too; its failure is not ours.
      await opening?.catch(() => undefined)
      try {
        await db?.close()
      } catch {
        // Closing is best effort: the store is unusable either way and must never hang.
      }
    },
  }
  return store
}
