/**
 * Trust: manifest digests (RFC 8785 canonical JSON, SHA-256), signatures of them (Ed25519,
 * ECDSA P-256) and a mirror that verifies everything it copies. See docs/trust.md.
 * @module
 */
export { canonicalJson, MAX_CANONICAL_DEPTH } from './canonical-json.js'
export type { KeyInput, PrivateKey, PublicKey, SignatureAlgorithm } from './keys.js'
export { generateSigningKey, keyAlgorithm, keyId, keySet, privateKey, publicKey, SIGNATURE_ALGORITHMS } from './keys.js'
export type { DigestedManifest, PushedRelease } from './manifest-digest.js'
export { canonicalManifest, digestedFields, isManifestDigest, manifestDigest, pushedManifestDigest } from './manifest-digest.js'
export type { MirrorDestination, RegistryLike } from './mirror/destination.js'
export { registryDestination, serverDestination } from './mirror/destination.js'
export type { MirrorOptions } from './mirror/mirror.js'
export { mirror } from './mirror/mirror.js'
export type { MirrorCounts, MirrorEvent, MirrorFailure, MirrorFailureReason, MirrorReport } from './mirror/report.js'
export type { Signature, SignatureCheck, SignatureRejection, SignaturesCheck } from './signature.js'
export { checkSignature, checkSignatures, SIGNATURE_CONTEXT, SignatureSchema, signDigest } from './signature.js'
export type { ManifestVerification } from './verify.js'
export { verifyManifest } from './verify.js'
