/**
 * OCI digests as appr-core accepts them: `sha256:` and 64 lowercase hex characters. The spec
 * allows other algorithms (`sha512:`, registered or not); appr-core stores and verifies sha256
 * only, so anything else is `DIGEST_INVALID`.
 * @module
 */
import { sha256Hex } from '../digest/index.js'
import { OciError } from './errors.js'

const OCI_DIGEST = /^sha256:[0-9a-f]{64}$/

/** True when `value` is a `sha256:<64 lowercase hex>` digest. */
export function isOciDigest(value: unknown): value is string {
  return typeof value === 'string' && OCI_DIGEST.test(value)
}

/**
 * Validates an OCI digest and returns its hex part.
 * @throws OciError `DIGEST_INVALID`
 */
export function parseOciDigest(value: unknown): string {
  if (!isOciDigest(value)) {
    const shown = typeof value === 'string' ? value.slice(0, 200) : String(value)
    throw new OciError('DIGEST_INVALID', `'${shown}' is not a supported digest: expected sha256: and 64 lowercase hex characters`, {
      detail: { digest: shown },
    })
  }
  return value.slice(7)
}

/** `sha256:` digest of `bytes`. */
export function ociDigestOf(bytes: Uint8Array | string): string {
  return `sha256:${sha256Hex(bytes)}`
}

/**
 * Checks that `bytes` have digest `expected` (which must itself be valid).
 * @throws OciError `DIGEST_INVALID` (malformed or not matching)
 */
export function verifyOciDigest(bytes: Uint8Array, expected: string): void {
  parseOciDigest(expected)
  const actual = ociDigestOf(bytes)
  if (actual !== expected) {
    throw new OciError('DIGEST_INVALID', `content digest ${actual} does not match ${expected}`, { detail: { expected, actual } })
  }
}
