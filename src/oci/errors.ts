/**
 * The error codes of the OCI Distribution Specification (plus the few extra ones CNCF
 * distribution answers with), their HTTP statuses and the wire body
 * `{ errors: [{ code, message, detail }] }`.
 * @module
 */
import { isApprError } from '../errors/index.js'

/** HTTP status of every OCI error code (CNCF distribution's statuses where the spec names none). */
export const ociHttpStatus = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  PAGINATION_NUMBER_INVALID: 400,
  RANGE_INVALID: 416,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  UNKNOWN: 500,
} as const satisfies Record<string, number>

/** An OCI error code. */
export type OciErrorCode = keyof typeof ociHttpStatus

/** One entry of an OCI error body. */
export interface OciErrorEntry {
  readonly code: OciErrorCode | (string & {})
  readonly message: string
  readonly detail?: unknown
}

/**
 * An error of the OCI surface, carrying the spec's code. Thrown by `appr-core/oci` for bad
 * input (a malformed digest, name or manifest) and for error answers of a remote registry.
 */
export class OciError extends Error {
  override readonly name = 'OciError'
  /** The spec code (a remote registry may answer with codes outside {@link OciErrorCode}). */
  readonly code: OciErrorCode | (string & {})
  /** The HTTP status. */
  readonly status: number
  /** The spec's free-form `detail`. */
  readonly detail: unknown
  /** Every entry when a remote answer carried several (the first is `code`/`message`). */
  readonly errors: readonly OciErrorEntry[]

  constructor(code: OciErrorCode | (string & {}), message: string, options: { status?: number; detail?: unknown; cause?: unknown; errors?: readonly OciErrorEntry[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options.status ?? (code in ociHttpStatus ? ociHttpStatus[code as OciErrorCode] : 500)
    this.detail = options.detail ?? null
    this.errors = options.errors ?? [{ code, message, detail: this.detail }]
  }

  /** The OCI wire form `{ errors: [{ code, message, detail }] }`. */
  toJSON(): { errors: OciErrorEntry[] } {
    return { errors: this.errors.map((e) => ({ code: e.code, message: e.message, detail: e.detail ?? null })) }
  }
}

/** True when `value` is an {@link OciError} (optionally with `code`); checks the shape, not the prototype. */
export function isOciError(value: unknown, code?: OciErrorCode): value is OciError {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as { name?: unknown; code?: unknown }
  return candidate.name === 'OciError' && typeof candidate.code === 'string' && (code === undefined || candidate.code === code)
}

// appr codes that have a natural OCI counterpart; the rest are UNKNOWN (or their status says more).
const fromAppr: Readonly<Record<string, OciErrorCode>> = Object.assign(Object.create(null) as Record<string, OciErrorCode>, {
  'invalid-usage': 'UNSUPPORTED',
  'unauthorized-access': 'UNAUTHORIZED',
  forbidden: 'DENIED',
  'package-not-found': 'NAME_UNKNOWN',
  'package-release-not-found': 'MANIFEST_UNKNOWN',
  'channel-not-found': 'MANIFEST_UNKNOWN',
  'resource-not-found': 'BLOB_UNKNOWN',
  'method-not-allowed': 'UNSUPPORTED',
  'payload-too-large': 'SIZE_INVALID',
  'invalid-release': 'TAG_INVALID',
  'invalid-parameters': 'NAME_INVALID',
  unsupported: 'UNSUPPORTED',
})

/**
 * The {@link OciError} to answer for any thrown value: itself when it already is one, the
 * closest OCI code for an `ApprError` (its status kept), `UNKNOWN` (500) for anything else,
 * whose message is not exposed.
 */
export function toOciError(value: unknown): OciError {
  if (isOciError(value)) return value
  if (isApprError(value)) {
    const code = fromAppr[value.code] ?? 'UNKNOWN'
    return new OciError(code, value.message, { status: value.status, detail: value.details, cause: value })
  }
  return new OciError('UNKNOWN', 'internal error', { cause: value })
}
