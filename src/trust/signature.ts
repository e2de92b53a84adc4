/**
 * Signatures of manifest digests.
 *
 * A signature signs the ASCII bytes `appr-manifest-signature:v1:` followed by the manifest digest
 * (`sha256:<hex>`). The prefix keeps a signature made here from meaning anything to another
 * protocol that signs bare hashes with the same key. Ed25519 signs those bytes directly; ECDSA
 * P-256 hashes them with SHA-256 and encodes the signature as r‖s (64 bytes, IEEE P1363, as JWS
 * ES256). The record names the key by key id and carries the signature as base64.
 * @module
 */
import { sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import { fromOciDigest } from '../digest/index.js'
import { ApprError } from '../errors/index.js'
import { SignatureSchema } from '../model/schemas.js'
import type { Signature } from '../model/types.js'
import { type KeyInput, type PublicKey, privateKey } from './keys.js'
import { isManifestDigest } from './manifest-digest.js'

/** What precedes the manifest digest in the signed bytes. */
export const SIGNATURE_CONTEXT = 'appr-manifest-signature:v1:'


export type { Signature }
export { SignatureSchema }

const message = (digest: string): Buffer => Buffer.from(`${SIGNATURE_CONTEXT}${digest}`, 'ascii')

function assertDigest(digest: string): void {
  if (!isManifestDigest(digest)) {
    throw new ApprError('invalid-parameters', 'a manifest digest is sha256: followed by 64 lowercase hex characters', {
      details: { digest: String(digest).slice(0, 100) },
    })
  }
}

/**
 * Signs a manifest digest.
 * @throws ApprError `invalid-parameters` for a malformed digest or an unusable key.
 * @example
 * ```ts
 * const signature = signDigest(manifestDigest(shown), readFileSync('release.key', 'utf8'))
 * ```
 */
export function signDigest(digest: string, key: KeyInput): Signature {
  assertDigest(digest)
  const signer = privateKey(key)
  const bytes =
    signer.alg === 'ed25519' ? nodeSign(null, message(digest), signer.key) : nodeSign('sha256', message(digest), { key: signer.key, dsaEncoding: 'ieee-p1363' })
  return { keyid: signer.keyid, alg: signer.alg, digest, sig: bytes.toString('base64') }
}

/** Why a signature was not accepted. */
export type SignatureRejection =
  /** The record does not have the shape of a signature. */
  | 'malformed'
  /** It signs another manifest digest than the one being checked. */
  | 'other-digest'
  /** No trusted key has its key id. */
  | 'unknown-key'
  /** Its algorithm is not the key's. */
  | 'wrong-algorithm'
  /** The signature does not verify under the key. */
  | 'bad-signature'

/** The outcome of checking one signature. */
export type SignatureCheck = { readonly ok: true; readonly keyid: string } | { readonly ok: false; readonly reason: SignatureRejection }

/**
 * Checks one signature record (trusted nothing: it may come off the wire) against the manifest
 * digest the verifier computed itself and the keys it trusts.
 */
export function checkSignature(record: unknown, digest: string, keys: ReadonlyMap<string, PublicKey>): SignatureCheck {
  const parsed = SignatureSchema.safeParse(record)
  if (!parsed.success) return { ok: false, reason: 'malformed' }
  const signature = parsed.data
  if (signature.digest !== digest) return { ok: false, reason: 'other-digest' }
  const key = keys.get(signature.keyid)
  if (key === undefined) return { ok: false, reason: 'unknown-key' }
  if (key.alg !== signature.alg) return { ok: false, reason: 'wrong-algorithm' }
  const bytes = Buffer.from(signature.sig, 'base64')
  if (bytes.length !== 64) return { ok: false, reason: 'bad-signature' }
  const ok =
    key.alg === 'ed25519'
      ? nodeVerify(null, message(digest), key.key, bytes)
      : nodeVerify('sha256', message(digest), { key: key.key, dsaEncoding: 'ieee-p1363' }, bytes)
  return ok ? { ok: true, keyid: key.keyid } : { ok: false, reason: 'bad-signature' }
}

/** The outcome of checking all the signatures of a release. */
export interface SignaturesCheck {
  /** Key ids with a valid signature of the digest (each once). */
  readonly trusted: readonly string[]
  /** Every signature that was not accepted, with its position and why. */
  readonly rejected: readonly { readonly index: number; readonly keyid?: string; readonly reason: SignatureRejection }[]
}

/**
 * Checks every signature of a release. A release is verified when `trusted` is not empty; a
 * signature by a key outside `keys` is rejected as `unknown-key` and does not count against it.
 */
export function checkSignatures(records: readonly unknown[], digest: string, keys: ReadonlyMap<string, PublicKey>): SignaturesCheck {
  const trusted = new Set<string>()
  const rejected: { index: number; keyid?: string; reason: SignatureRejection }[] = []
  records.forEach((record, index) => {
    const check = checkSignature(record, digest, keys)
    if (check.ok) trusted.add(check.keyid)
    else {
      const keyid = (record as { keyid?: unknown } | null)?.keyid
      rejected.push({ index, ...(typeof keyid === 'string' && fromOciDigest(keyid) !== undefined && { keyid }), reason: check.reason })
    }
  })
  return { trusted: [...trusted], rejected }
}
