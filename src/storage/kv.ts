/**
 * The storage contract every backend implements: an ordered key space with one atomic,
 * conditional, multi-key write primitive. All appr semantics live above it (src/registry).
 *
 * Obligations for implementors (the conformance suite checks each one):
 * - Keys are non-empty strings of well-formed Unicode. Order is the **byte order of their UTF-8
 *   encoding** (never JavaScript's UTF-16 `<`).
 * - Values are arbitrary bytes and round-trip exactly. Stored data never aliases caller buffers:
 *   mutating a buffer after `commit` or after `get` changes nothing stored.
 * - Every write of a key (including rewriting the same bytes) gives it a new `version` token that
 *   was never used before for that key, also across delete and re-create.
 * - `commit` is atomic and linearizable: it applies all puts and deletes if and only if every
 *   check holds at that instant, and concurrent readers never observe part of it.
 * - Limits are enforced before any write, with an `ApprError('invalid-parameters')`.
 * - After `close()` every call rejects with `ApprError('unavailable')`; `close()` never hangs.
 * - Backend failures surface as `ApprError('unavailable', …, { transient: true })`, never as
 *   "not found".
 * @module
 */

/** Opaque token that changes on every write of a key. Compare only for equality. */
export type Version = string

/** One stored record. */
export interface KvEntry {
  readonly key: string
  readonly value: Uint8Array
  readonly version: Version
}

/** Options of {@link KvStore.list}. */
export interface KvListOptions {
  /** Only keys starting with this prefix (may be `''`). */
  readonly prefix: string
  /** Resume after this key (exclusive): pass the last key of the previous page. */
  readonly after?: string
  /** At most this many entries (default: the adapter's page size, at least 1). */
  readonly limit?: number
}

/**
 * A precondition of a commit: the key's current version equals `version`, or the key is
 * absent when `version` is `null`.
 */
export interface KvCheck {
  readonly key: string
  readonly version: Version | null
}

/** A write to apply atomically. */
export interface KvPut {
  readonly key: string
  readonly value: Uint8Array
}

/**
 * One atomic, conditional write. A key may appear at most once across `puts` and `deletes`
 * (a duplicate is an `ApprError('invalid-parameters')`); checks may name any key, written or not.
 * Deleting an absent key is allowed and does nothing.
 */
export interface KvCommit {
  readonly checks?: readonly KvCheck[]
  readonly puts?: readonly KvPut[]
  readonly deletes?: readonly string[]
}

/** Result of {@link KvStore.commit}: applied, or not applied because checks failed. */
export type KvCommitResult = { readonly ok: true } | { readonly ok: false; readonly conflicts: readonly string[] }

/**
 * What an adapter declares about itself. Consumers (and the conformance suite) decide by these
 * flags, never by probing methods.
 */
export interface KvCapabilities {
  /** Data survives `close()` and reopening (and a process crash after an acknowledged commit). */
  readonly persistent: boolean
  /** Several processes may use the same store at once (level: false, its LOCK is exclusive). */
  readonly multiProcess: boolean
  /** Largest value in bytes the adapter accepts (etcd: bounded by its request size). */
  readonly maxValueBytes?: number
  /** Largest number of checks + puts + deletes in one commit (etcd: 128 by default). */
  readonly maxOpsPerCommit?: number
  /** Largest key in UTF-8 bytes. */
  readonly maxKeyBytes?: number
  /**
   * The store implements {@link KvStore.subscribe}: it can wake a reader soon after a commit, by
   * any process sharing the store, puts a key under a prefix (redis: pub/sub, etcd: watch,
   * memory: in process). Absent or false: readers poll.
   */
  readonly changeHints?: boolean
}

/** Ends a {@link KvStore.subscribe} subscription. Idempotent. */
export type Unsubscribe = () => Promise<void>

/** The ordered, transactional key-value store contract. */
export interface KvStore {
  /** Adapter name, for messages and reports (`memory`, `level`, `redis`, `etcd`, …). */
  readonly name: string
  readonly capabilities: KvCapabilities
  /** The entry at `key`, or `undefined` when absent. */
  get(key: string): Promise<KvEntry | undefined>
  /** The entries at `keys`, in the same order (`undefined` where absent), in as few round trips as the backend allows. */
  getMany(keys: readonly string[]): Promise<(KvEntry | undefined)[]>
  /** One page of entries under `prefix`, ascending by key bytes, strictly after `after`. */
  list(options: KvListOptions): Promise<KvEntry[]>
  /** Applies the commit atomically if every check holds; otherwise applies nothing. */
  commit(commit: KvCommit): Promise<KvCommitResult>
  /**
   * Present when `capabilities.changeHints`: calls `listener` soon after a commit that puts a key
   * starting with `prefix`, whichever process or instance made it; resolves once subscribed, so a
   * commit acknowledged afterwards is hinted. A hint, never a delivery: it carries no data, may
   * come for nothing or merged with others, and is lost while the connection is down, so a
   * consumer re-reads what it watches on every hint and still polls, just less often.
   * `close()` ends every subscription.
   */
  subscribe?(prefix: string, listener: () => void): Promise<Unsubscribe>
  /** Releases what the adapter opened. Idempotent. */
  close(): Promise<void>
}
