/**
 * Start-up of `serve` against its store: open it and make one round trip within a deadline, so
 * a server whose store is down says so and exits instead of logging "listening" and failing
 * every request. `--wait-for-store` turns the one attempt into retries for a while (a store
 * started alongside the server, as compose files and systemd units do).
 * @module
 */
import { ApprError, isApprError } from '../errors/index.js'
import type { BlobStore } from '../storage/blob.js'
import type { KvStore } from '../storage/kv.js'

/** What the probe opens: a store and, optionally, a blob store beside it. */
export interface Reached {
  readonly store: KvStore
  readonly blobs?: BlobStore
  readonly label: string
}

/** Options of {@link reachStore}. */
export interface ReachOptions {
  /** Opens the store (and blob store); called again for each attempt after a failure. */
  readonly open: () => Promise<Reached>
  /** Keep retrying this long (ms) after a failed attempt; 0: one attempt. */
  readonly waitMs: number
  /** How long one round trip may take (ms, default 5000). */
  readonly attemptMs?: number
  /** Told of each failed attempt that will be retried. */
  readonly onRetry?: (reason: string, attempt: number, delayMs: number) => void
  /** Stops waiting (a signal arrived). */
  readonly signal?: AbortSignal
}

/** Rejects when `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Opens the store and reads one key, retrying while `waitMs` allows (back-off from 250 ms up to
 * 5 s). A configuration error (`invalid-parameters`, `unsupported`) is never retried.
 * @throws ApprError `unavailable` with the last reason once the time is up
 */
export async function reachStore(options: ReachOptions): Promise<Reached> {
  const attemptMs = options.attemptMs ?? 5000
  const giveUpAt = Date.now() + options.waitMs
  for (let attempt = 1, delay = 250; ; attempt++, delay = Math.min(5000, delay * 2)) {
    let opened: Reached | undefined
    let reason: string
    const opening = options.open()
    try {
      opened = await within(opening, attemptMs, 'the store')
      await within(opened.store.get('health/ping'), attemptMs, 'the store')
      return opened
    } catch (error) {
      if (isApprError(error) && (error.code === 'invalid-parameters' || error.code === 'unsupported')) throw error
      reason = reasonOf(error)
      if (opened) await opened.store.close().catch(() => {})
      // Opened after its deadline: closed then, so no client is left connecting in the background.
      else opening.then((late) => late.store.close()).catch(() => {})
    }
    if (options.signal?.aborted || Date.now() + delay > giveUpAt) {
      throw new ApprError('unavailable', reason, { details: { attempts: attempt } })
    }
    options.onRetry?.(reason, attempt, delay)
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}
