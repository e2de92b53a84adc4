/**
 * Limits on incoming archives and the typed errors of a rejected one.
 * @module
 */
import { ApprError } from '../errors/index.js'
import type { ArchiveLimits } from '../registry/types.js'

export type { ArchiveLimits }

/**
 * Why a blob was rejected: the stable `details.reason` of the {@link ApprError}.
 *
 * All are `invalid-usage` except `too-large` (the compressed size), which is `payload-too-large`.
 */
export type RejectionReason =
  | 'not-gzip'
  | 'truncated'
  | 'not-tar'
  | 'empty'
  | 'path-traversal'
  | 'absolute-path'
  | 'path-too-long'
  | 'link-outside'
  | 'device-file'
  | 'unsupported-entry'
  | 'too-many-entries'
  | 'entry-too-large'
  | 'ratio-exceeded'
  | 'uncompressed-too-large'
  | 'too-large'

/** The defaults of every {@link ArchiveLimits} field. */
export const DEFAULT_LIMITS: Readonly<Required<ArchiveLimits>> = Object.freeze({
  maxCompressedBytes: 64 * 1024 * 1024,
  maxUncompressedBytes: 512 * 1024 * 1024,
  maxRatio: 200,
  maxEntries: 10_000,
  maxEntryBytes: 256 * 1024 * 1024,
  maxPathLength: 1024,
})

/**
 * Output size after which the decompression ratio is enforced (small archives compress very
 * well). Shared by the streaming pass and the quick pass, which must agree.
 */
export const RATIO_GRACE_BYTES = 1024 * 1024

/**
 * Largest piece the streaming pass hands zlib at once, so the ratio is checked at a fine grain
 * even for one huge input chunk. The quick pass takes only blobs of at most one piece.
 */
export const FEED_BYTES = 64 * 1024

/** `limits` with every absent field set to its default. */
export function resolveLimits(limits: ArchiveLimits = {}): Required<ArchiveLimits> {
  return { ...DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) }
}

/** The typed error of a rejected blob. */
export function rejection(reason: RejectionReason, message: string, details: Record<string, unknown> = {}, cause?: unknown): ApprError {
  const code = reason === 'too-large' ? 'payload-too-large' : 'invalid-usage'
  return new ApprError(code, message, { details: { ...details, reason }, cause })
}
