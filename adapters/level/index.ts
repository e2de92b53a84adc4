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
 * Commits are serialised in-process: one writer at a time reads the versions of checked keys
 * (synchronously), then writes one atomic batch. Commits that queue up while a batch is
 * being written form the next group and share one batch (group commit), each still checked in
 * order against the writes before it. Reads go straight to LevelDB (a batch is atomic for
 * readers, and `getMany` and iterators read from one implicit snapshot).
 *
 * Change hints (`subscribe`) are in-process: the LOCK keeps every other process out, so this
 * store's own commits are all the commits there are, and it hints each after its batch is written.
 * The byte layout is in encoding.ts.
 * @module
 */
import { join } from 'node:path'
import type { Level } from 'level'
import { ApprError } from '../../src/errors/index.js'
import type { KvCapabilities, KvCommit, KvCommitResult, KvListOptions, KvStore } from '../../src/storage/kv.js'
import { importDriver } from '../../src/storage/driver.js'
import { assertCommit, assertKey, backendError, closedError } from '../../src/storage/util.js'
import { hintListeners } from '../_shared/hints.js'
import { Arena, COUNTER_KEY, decodeEntry, encodeCounter, encoder, HEADER, prefixEnd, readCounter } from './encoding.js'

export { fileBlobStore, type FileBlobStoreOptions } from './file-blob-store.js'

// level is an optional peer dependency: without it, importing this module says to install it.
const { Level: LevelDb } = await importDriver<typeof import('level')>('level', 'level')

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
  /**
   * Serve `get` and `getMany` with LevelDB's synchronous reads (default `true`): a read of a
   * cached record takes microseconds, far less than the thread-pool round trip of an async
   * read, but blocks the event loop while LevelDB reads from disk. Set `false` for stores much
   * larger than memory under many concurrent requests.
   */
  readonly syncReads?: boolean
  /**
   * Bytes of LevelDB's block cache (default LevelDB's 8 MiB). Raise it for large registries:
   * a read that misses it decompresses a table block (at 100k packages a pull took ~3× the CPU
   * it took at 10k with the default).
   */
  readonly cacheSize?: number
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
interface Pending {
  readonly commit: KvCommit
  readonly bytes: number
  resolve(result: KvCommitResult): void
  reject(error: unknown): void
}
/** Bounds of one group commit: concurrent commits share a batch, but not an unbounded one. */
const MAX_GROUP = 256
const MAX_GROUP_BYTES = 8 * 1024 * 1024
type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

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
  const syncReads = options.syncReads ?? true
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? 1000))
  const capabilities: KvCapabilities = { persistent: true, multiProcess: false, changeHints: true, ...options.limits }
  const lockPath = join(path, 'LOCK')

  let db: Db | undefined
  let ready: Db | undefined
  let opening: Promise<Db> | undefined
  let counter = 0
  let closed = false
  // Commits waiting for the writer, in arrival order (the order they take effect in).
  const waiting: Pending[] = []
  let writing = false
  // True while a batch may be landing on LevelDB's side: a run of synchronous reads could then
  // straddle it, so getMany reads asynchronously (from one snapshot) instead.
  let batchInFlight = false
  const hints = hintListeners()

  const fail = (cause: unknown): ApprError => (closed ? closedError('level') : backendError('level', cause))

  const openDb = async (): Promise<Db> => {
    db ??= new LevelDb<Uint8Array, Uint8Array>(path, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      ...(options.cacheSize === undefined ? {} : { cacheSize: options.cacheSize }),
    })
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

  // Keys of synchronous reads are encoded into one buffer: each is used before the next is encoded.
  let scratch = new Uint8Array(1024)
  const scratchKey = (key: string): Uint8Array => {
    if (key.length * 3 > scratch.byteLength) scratch = new Uint8Array(key.length * 3)
    return scratch.subarray(0, encoder.encodeInto(key, scratch).written)
  }
  /** Current version of `key` as LevelDB has it (synchronous: see {@link writeGroup}). */
  const storedVersion = (level: Db, key: string): string | null => {
    const stored = level.getSync(scratchKey(key))
    return stored === undefined ? null : String(readCounter(stored))
  }

  /**
   * Applies one group of queued commits in order, as one atomic batch: each commit's checks
   * see LevelDB plus the writes of the commits before it in the group, and every commit of the
   * group is acknowledged only once the batch is written (so nothing is ever acknowledged on
   * the strength of a write that then failed). Concurrent writers thus share one write.
   *
   * Checks read synchronously: no other commit can run meanwhile, checked keys are small
   * records the caller has just read (hot in LevelDB's cache), and a thread-pool round trip
   * costs more than the read itself.
   */
  const writeGroup = async (group: readonly Pending[]): Promise<void> => {
    let results: KvCommitResult[]
    try {
      const level = await use()
      const overlay = new Map<string, string | null>()
      const ops: BatchOp[] = []
      let version = counter
      let size = 0
      for (const { commit } of group) {
        for (const { key, value } of commit.puts ?? []) size += Arena.keyBytes(key) + HEADER + value.byteLength
        for (const key of commit.deletes ?? []) size += Arena.keyBytes(key)
      }
      const arena = new Arena(size)
      results = group.map(({ commit }) => {
        const conflicts: string[] = []
        for (const { key, version: expected } of commit.checks ?? []) {
          if ((overlay.has(key) ? overlay.get(key) : storedVersion(level, key)) !== expected) conflicts.push(key)
        }
        if (conflicts.length > 0) return { ok: false, conflicts }
        const puts = commit.puts ?? []
        const deletes = commit.deletes ?? []
        if (puts.length === 0 && deletes.length === 0) return { ok: true }
        version++
        const tag = String(version)
        for (const { key, value } of puts) {
          ops.push({ type: 'put', key: arena.key(key), value: arena.stored(version, value) })
          overlay.set(key, tag)
        }
        for (const key of deletes) {
          ops.push({ type: 'del', key: arena.key(key) })
          overlay.set(key, null)
        }
        return { ok: true }
      })
      if (ops.length > 0) {
        ops.push({ type: 'put', key: COUNTER_KEY, value: encodeCounter(version) })
        if (closed) throw closedError('level')
        batchInFlight = true
        try {
          // A chained batch: classic-level's array form (`batch(ops)`) cost about twice the
          // main-thread CPU for the eight small puts of a push (measured; cause not pinned down).
          const batch = level.batch()
          for (const op of ops) {
            if (op.type === 'put') batch.put(op.key, op.value)
            else batch.del(op.key)
          }
          await batch.write({ sync })
        } finally {
          batchInFlight = false
        }
        counter = version
      }
      // Hinted before any commit of the group is acknowledged: a subscriber hears of every commit
      // acknowledged after its subscribe resolved.
      if (!hints.idle) hints.notify(group.flatMap(({ commit }, i) => (results[i]!.ok ? (commit.puts ?? []).map((p) => p.key) : [])))
    } catch (e) {
      const error = fail(e)
      for (const pending of group) pending.reject(error)
      return
    }
    for (const [i, pending] of group.entries()) pending.resolve(results[i]!)
  }

  /** Writes queued commits group by group until the queue is empty; one writer at a time. */
  const drain = async (): Promise<void> => {
    writing = true
    try {
      while (waiting.length > 0) {
        // Take what queued up while the previous group was being written, within bounds.
        let bytes = 0
        let n = 0
        while (n < waiting.length && n < MAX_GROUP && bytes < MAX_GROUP_BYTES) bytes += waiting[n++]!.bytes
        await writeGroup(waiting.splice(0, n))
      }
    } finally {
      writing = false
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
        stored = syncReads ? level.getSync(scratchKey(key)) : await level.get(encoder.encode(key))
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
        // Synchronous reads in one turn see one state unless a batch is landing meanwhile
        // (only this process writes: the LOCK is exclusive).
        stored =
          syncReads && !batchInFlight
            ? keys.map((key) => level.getSync(scratchKey(key)))
            : await level.getMany(keys.map((key) => encoder.encode(key)))
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
      let bytes = 0
      for (const put of commit.puts ?? []) bytes += put.value.byteLength
      return new Promise<KvCommitResult>((resolve, reject) => {
        waiting.push({ commit, bytes, resolve, reject })
        if (!writing) void drain()
      })
    },
    async subscribe(prefix, listener) {
      if (closed) throw closedError('level')
      return hints.subscription(prefix, listener, () => closed)
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
