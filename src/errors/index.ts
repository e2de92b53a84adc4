/**
 * Typed errors with appr's stable wire codes.
 *
 * Codes and statuses are public API and stable across minor versions; messages are not.
 * @module
 */

/** HTTP status for every error code. appr's own codes first, then appr-core's additions. */
export const httpStatus = {
  'invalid-usage': 400,
  'unauthorized-access': 401,
  forbidden: 403,
  'package-not-found': 404,
  'package-release-not-found': 404,
  'channel-not-found': 404,
  'resource-not-found': 404,
  'method-not-allowed': 405,
  'package-exists': 409,
  'resource-in-use': 409,
  'cursor-expired': 410,
  'payload-too-large': 413,
  'invalid-release': 422,
  'invalid-parameters': 422,
  'invalid-version': 422,
  'internal-error': 500,
  unsupported: 501,
  unavailable: 503,
} as const satisfies Record<string, number>

/**
 * Every code an {@link ApprError} can carry.
 *
 * appr's own codes, plus `method-not-allowed` (405), `cursor-expired` (410: an event cursor
 * older than the feed's retention; resync), `payload-too-large` (413) and
 * `unavailable` (503: a storage backend is down, closed or locked; `transient` tells whether
 * a retry may help).
 */
export type ErrorCode = keyof typeof httpStatus

/** Public, JSON-safe details attached to an error (never internal key paths or secrets). */
export type ErrorDetails = Record<string, unknown>

/** Options of {@link ApprError}. */
export interface ApprErrorOptions {
  /** Public identifiers that explain the error (package, release, channel, path …). */
  details?: ErrorDetails
  /** The underlying error (a backend's, zod's …); never sent on the wire. */
  cause?: unknown
  /** True when the same call may succeed if retried (backend outage, contention). */
  transient?: boolean
}

/**
 * The one error type of appr-core. `code` is one of appr's wire codes; `status` its HTTP status.
 *
 * @example
 * ```ts
 * try { await registry.show('acme/nginx', { release: '9.9.9' }) }
 * catch (e) { if (isApprError(e, 'package-release-not-found')) … }
 * ```
 */
export class ApprError extends Error {
  override readonly name = 'ApprError'
  readonly code: ErrorCode
  readonly status: number
  readonly details: ErrorDetails
  readonly transient: boolean

  constructor(code: ErrorCode, message: string, options: ApprErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = httpStatus[code]
    this.details = options.details ?? {}
    this.transient = options.transient ?? false
  }

  /** The appr wire form: `{ code, message, details }`. */
  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details }
  }
}

/**
 * True when `value` is an {@link ApprError} (optionally with the given code). Checks the shape,
 * not the prototype, so errors from another copy of appr-core are recognised too.
 */
export function isApprError(value: unknown, code?: ErrorCode): value is ApprError {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as { name?: unknown; code?: unknown }
  if (candidate.name !== 'ApprError' || typeof candidate.code !== 'string') return false
  if (!(candidate.code in httpStatus)) return false
  return code === undefined || candidate.code === code
}
