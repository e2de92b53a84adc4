/**
 * Optimistic transactions over a KvStore: every key a mutation reads becomes a version check of
 * its one commit, and the whole mutation re-runs on conflict.
 * @module
 */
import { ApprError, isApprError } from '../errors/index.js'
import type { KvEntry, KvStore } from '../storage/kv.js'
import type { MutationOutcome } from './types.js'

/** The reads and writes of one attempt. */
export class Transaction {
  readonly #store: KvStore
  readonly #reads = new Map<string, KvEntry | undefined>()
  readonly #writes = new Map<string, Uint8Array | null>()

  /** @param presumedAbsent keys taken as absent without reading them (checked as absent by the commit). */
  constructor(store: KvStore, presumedAbsent: readonly string[] = []) {
    this.#store = store
    for (const key of presumedAbsent) this.#reads.set(key, undefined)
  }

  /**
   * Reads `keys` (those not read before in this transaction, in one call); each becomes a check
   * (absent → must stay absent). A key read twice gives the first answer, not the pending write.
   */
  async getMany(keys: readonly string[]): Promise<(KvEntry | undefined)[]> {
    const missing = new Set<string>()
    for (const key of keys) if (!this.#reads.has(key)) missing.add(key)
    if (missing.size > 0) {
      const ask = [...missing]
      const entries = await this.#store.getMany(ask)
      for (let i = 0; i < ask.length; i++) this.#reads.set(ask[i]!, entries[i])
    }
    return keys.map((key) => this.#reads.get(key))
  }

  async get(key: string): Promise<KvEntry | undefined> {
    return (await this.getMany([key]))[0]
  }

  /**
   * `key` as this attempt leaves it: its pending write (a delete: undefined) if it has one, else
   * what {@link get} reads. For a step that must see what an earlier step of the same mutation wrote.
   */
  async latest(key: string): Promise<Uint8Array | undefined> {
    const pending = this.#writes.get(key)
    if (pending !== undefined) return pending ?? undefined
    return (await this.get(key))?.value
  }

  /** Makes the commit check that `key` is absent, without reading it (a key this attempt creates under a fresh name). */
  expectAbsent(key: string): void {
    if (!this.#reads.has(key)) this.#reads.set(key, undefined)
  }

  put(key: string, value: Uint8Array): void {
    this.#writes.set(key, value)
  }

  delete(key: string): void {
    this.#writes.set(key, null)
  }

  /**
   * True when every key read in this attempt still has the version it was read at. An attempt
   * that read in several round trips can see a torn state (a manifest read before, and its blob
   * record read after, another writer's commit); its decisions then mean nothing.
   */
  async readsAreCurrent(): Promise<boolean> {
    const keys = [...this.#reads.keys()]
    if (keys.length === 0) return true
    const now = await this.#store.getMany(keys)
    return keys.every((key, i) => now[i]?.version === this.#reads.get(key)?.version)
  }

  /** Applies the writes if every read is unchanged. */
  async commit(): Promise<boolean> {
    const puts: { key: string; value: Uint8Array }[] = []
    const deletes: string[] = []
    for (const [key, value] of this.#writes) {
      if (value === null) deletes.push(key)
      else puts.push({ key, value })
    }
    if (puts.length === 0 && deletes.length === 0) return true
    const checks: { key: string; version: string | null }[] = []
    for (const [key, entry] of this.#reads) checks.push({ key, version: entry === undefined ? null : entry.version })
    const result = await this.#store.commit({ checks, puts, deletes })
    return result.ok
  }
}

/**
 * The adapter refused a commit for its number of operations (`maxOpsPerCommit`), before writing
 * anything: a mutation of several parts may then commit them one by one.
 */
export function isCommitTooLarge(error: unknown): boolean {
  return isApprError(error, 'invalid-parameters') && typeof error.details.limit === 'number' && typeof error.details.operations === 'number'
}

/** Options of {@link transact}. */
export interface TransactOptions {
  /**
   * Keys the first attempt takes as absent without reading them: a mutation that usually creates
   * them (a push of a new package) then costs one round trip, its commit, instead of two. If the
   * guess was wrong the commit's checks fail and the mutation runs again with real reads, at once
   * and without counting as a retry (so a wrong guess costs one extra round trip, nothing else).
   */
  readonly presumeAbsent?: readonly string[]
}

/** What {@link transact} needs of a registry: the store, the retry budget and who hears how each mutation ended. */
export interface TransactContext {
  readonly store: KvStore
  readonly maxRetries: number
  readonly onMutation: ((outcome: MutationOutcome) => void) | undefined
}

/**
 * Runs `attempt` in a fresh {@link Transaction} and commits it, up to `1 + maxRetries` times while
 * commits conflict. Between attempts it sleeps a random back-off ("full jitter") whose ceiling
 * doubles each time, starting from the duration of the attempt itself so a slow backend (etcd)
 * backs off proportionally, capped at 2 s: contenders spread out instead of colliding again.
 * `attempt` may throw an ApprError to abort (nothing is written); the error stands only if the
 * attempt's reads are still current, otherwise it came from a torn read and the attempt re-runs.
 * `ctx.onMutation` hears how it ended, once.
 * @throws ApprError `resource-in-use` (transient) when every attempt conflicted
 */
export async function transact<T>(
  ctx: TransactContext,
  details: Record<string, unknown>,
  attempt: (tx: Transaction) => Promise<T>,
  options: TransactOptions = {},
): Promise<T> {
  if (ctx.onMutation === undefined) return attempts(ctx, details, attempt, options, { retries: 0, gaveUp: false })
  const run = { retries: 0, gaveUp: false }
  let value: T
  try {
    value = await attempts(ctx, details, attempt, options, run)
  } catch (error) {
    // A store that failed (a Redis gone away) fails the mutation as much as the operation's own error.
    ctx.onMutation({ outcome: run.gaveUp ? 'gave-up' : 'failed', retries: run.retries })
    throw error
  }
  ctx.onMutation({ outcome: 'committed', retries: run.retries })
  return value
}

/** {@link transact} without the report: `run` says how far it went. */
async function attempts<T>(
  { store, maxRetries }: TransactContext,
  details: Record<string, unknown>,
  attempt: (tx: Transaction) => Promise<T>,
  options: TransactOptions,
  run: { retries: number; gaveUp: boolean },
): Promise<T> {
  const presumed = options.presumeAbsent ?? []
  if (presumed.length > 0) {
    const tx = new Transaction(store, presumed)
    // Whatever goes wrong on a guess (a conflict, or an error decided on guessed reads) is
    // settled by the real run below.
    const result = await attempt(tx).then(
      (value) => ({ value }),
      () => undefined,
    )
    if (result && (await tx.commit())) return result.value
  }
  for (let n = 0; ; n++) {
    run.retries = n
    const started = Date.now()
    const tx = new Transaction(store)
    let result: T
    try {
      result = await attempt(tx)
    } catch (error) {
      if (n >= maxRetries || (await tx.readsAreCurrent())) throw error
      continue
    }
    if (await tx.commit()) return result
    if (n >= maxRetries) {
      run.gaveUp = true
      throw new ApprError('resource-in-use', `the package is being changed concurrently; gave up after ${n + 1} attempts`, {
        details,
        transient: true,
      })
    }
    const ceiling = Math.min(2000, Math.max(1, Date.now() - started) * 2 ** n)
    await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling))
  }
}
