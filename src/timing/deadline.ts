/**
 * A deadline as an abort signal, for work bounded both by a caller's signal and by time.
 * @module
 */

/** What {@link deadline} gives: the combined signal, whether time ran out, and the timer's stop. */
export interface Deadline {
  /** Aborts when the caller's signal does or when the time is up, whichever comes first. */
  readonly signal: AbortSignal
  /** True once the time ran out (not when the caller aborted). */
  expired(): boolean
  /** Stops the timer; call it once the work has settled. */
  clear(): void
}

/**
 * A signal that aborts with `outer` or `ms` from now (with a `TimeoutError` saying `message`).
 * The timer is our own and held here, not an `AbortSignal.timeout`: Node 20 holds the sources of
 * `AbortSignal.any` only weakly, so a timeout signal combined there could be collected before it
 * fired and leave the work waiting forever (a webhook delivery to a hanging endpoint did, 1 run
 * in 6 of test/webhooks).
 */
export function deadline(outer: AbortSignal | undefined, ms: number, message = `no answer within ${ms} ms`): Deadline {
  const timeout = new AbortController()
  const timer = setTimeout(() => timeout.abort(new DOMException(message, 'TimeoutError')), ms)
  return {
    signal: outer === undefined ? timeout.signal : AbortSignal.any([outer, timeout.signal]),
    expired: () => timeout.signal.aborted,
    clear: () => clearTimeout(timer),
  }
}
