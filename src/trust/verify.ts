/**
 * Verifying a release as a client receives it: the manifest digest recomputed from the manifest,
 * compared with the one the server announced, and the signatures checked against it.
 * @module
 */
import type { Signature } from '../model/types.js'
import type { PublicKey } from './keys.js'
import { type DigestedManifest, manifestDigest } from './manifest-digest.js'
import { checkSignature, checkSignatures, type SignatureRejection } from './signature.js'

/** The outcome of {@link verifyManifest}. */
export type ManifestVerification =
  | {
      readonly ok: true
      /** The manifest digest, recomputed. */
      readonly digest: string
      /** The signatures that verified (one per trusted key). */
      readonly signatures: readonly Signature[]
    }
  | {
      readonly ok: false
      readonly digest: string
      readonly reason: 'manifest-digest-mismatch' | 'signature-invalid'
      readonly message: string
      /** Why each signature was rejected (for `signature-invalid`). */
      readonly rejected: readonly SignatureRejection[]
    }

/**
 * Checks a manifest as a server sent it (with its `manifest_digest` and `signatures`, as appr-core
 * serves them): its digest is recomputed and must equal the announced one when there is one; with
 * `keys`, at least one signature must verify with one of them.
 * @throws ApprError `invalid-parameters` when the manifest has no digest (metadata not I-JSON).
 */
export function verifyManifest(manifest: DigestedManifest, keys: ReadonlyMap<string, PublicKey> | undefined): ManifestVerification {
  const digest = manifestDigest(manifest)
  const { manifest_digest: announced, signatures: offered } = manifest as { manifest_digest?: unknown; signatures?: unknown }
  if (announced !== undefined && announced !== digest) {
    return {
      ok: false,
      digest,
      reason: 'manifest-digest-mismatch',
      message: `the server announced ${String(announced).slice(0, 80)} for a manifest whose digest is ${digest}`,
      rejected: [],
    }
  }
  const candidates = Array.isArray(offered) ? (offered as unknown[]) : []
  if (keys === undefined) return { ok: true, digest, signatures: [] }
  const signatures = candidates.filter((s) => checkSignature(s, digest, keys).ok) as Signature[]
  if (signatures.length > 0) return { ok: true, digest, signatures }
  const rejected = checkSignatures(candidates, digest, keys).rejected.map((r) => r.reason)
  const why = rejected.length > 0 ? [...new Set(rejected)].join(', ') : 'unsigned'
  return { ok: false, digest, reason: 'signature-invalid', message: `no signature verifies with the given keys (${why})`, rejected }
}
