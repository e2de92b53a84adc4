/**
 * The settle loop the redis and etcd adapters share for a writing commit whose call failed in
 * transport: ask the server (fence) until it says "applied" or "not applied", with backoff, up
 * to a deadline; past it the outcome is reported as unknown.
 * @module
 */
import { ApprError } from '../../src/errors/index.js'
import { closedError } from '../../src/storage/util.js'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
export const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** The commit found its marker claimed by a settle of an earlier failure of the same call: not applied. */
export function fencedError(adapter: string): ApprError {
  return new ApprError('unavailable', `${adapter} commit was fenced off by an earlier failure of the same call`, {
    transient: true,
    details: { adapter, applied: false },
  })
}

export interface SettleOptions {
  /** Adapter name, as in error details. */
  readonly adapter: string
  /** Who could not be reached, for the "outcome unknown" message (`the server`, `etcd`). */
  readonly server: string
  readonly timeoutMs: number
  readonly isClosed: () => boolean
  /** One fence: true when the commit was applied, false when it is now fenced off for good; throws on transport failure. */
  readonly fence: () => Promise<boolean>
  /** Called with each failed fence, before deciding whether to retry. */
  readonly onFailure?: (e: unknown) => void
  /** A failure that retrying cannot mend: give up at once. */
  readonly isFinal?: (e: unknown) => boolean
}

/** Settles a commit whose call failed with `cause`: `{ ok: true }` if applied, else throws `unavailable`. */
export async function settleCommit(options: SettleOptions, cause: unknown): Promise<{ ok: true }> {
  const { adapter } = options
  const deadline = Date.now() + options.timeoutMs
  let last: unknown = cause
  for (let attempt = 0; ; attempt++) {
    if (options.isClosed()) throw closedError(adapter)
    let applied: boolean
    try {
      applied = await options.fence()
    } catch (e) {
      if (e instanceof ApprError) throw e
      last = e
      options.onFailure?.(e)
      if (options.isFinal?.(e) || Date.now() > deadline) break
      await sleep(Math.min(100 * 2 ** attempt, 1000))
      continue
    }
    if (applied) return { ok: true }
    throw new ApprError('unavailable', `${adapter} commit failed and was not applied: ${message(cause)}`, {
      cause,
      transient: true,
      details: { adapter, applied: false },
    })
  }
  throw new ApprError('unavailable', `${adapter} commit outcome unknown (${options.server} could not be reached to settle it): ${message(last)}`, {
    cause: last,
    transient: true,
    details: { adapter, applied: 'unknown' },
  })
}
