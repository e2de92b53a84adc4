/**
 * Signing keys: Ed25519 or ECDSA P-256, read from PEM (SPKI, PKCS#8, SEC1) or JWK, and named by
 * a key id.
 *
 * The key id is `sha256:` + lowercase hex SHA-256 of the public key's DER SubjectPublicKeyInfo,
 * the same bytes whatever form the key was given in; a reader recomputes it with
 * `openssl pkey -pubin -in key.pub -outform DER | sha256sum`.
 * @module
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { sha256Hex } from '../digest/index.js'
import { ApprError } from '../errors/index.js'
import { SIGNATURE_ALGORITHMS } from '../model/schemas.js'

/** Signature algorithms: Ed25519 (RFC 8032), or ECDSA on P-256 over SHA-256 with r‖s signatures (IEEE P1363, as JWS ES256). */
export { SIGNATURE_ALGORITHMS }

/** A signature algorithm. */
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number]

/** A key as a caller holds it: PEM text or bytes, a JWK (object or JSON text), or a Node KeyObject. */
export type KeyInput = string | Uint8Array | JsonWebKey | KeyObject

const invalidKey = (message: string, cause?: unknown): ApprError =>
  new ApprError('invalid-parameters', `unusable key: ${message}`, cause === undefined ? {} : { cause })

function isKeyObject(input: KeyInput): input is KeyObject {
  return typeof input === 'object' && input !== null && 'asymmetricKeyType' in input && typeof (input as KeyObject).export === 'function'
}

/** The JWK inside `input`, or undefined when `input` is PEM. */
function asJwk(input: string | Uint8Array | JsonWebKey): JsonWebKey | undefined {
  if (typeof input === 'object' && !(input instanceof Uint8Array)) return input
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8')
  if (!text.trimStart().startsWith('{')) return undefined
  try {
    return JSON.parse(text) as JsonWebKey
  } catch (cause) {
    throw invalidKey('neither PEM nor JSON (JWK)', cause)
  }
}

function load(input: KeyInput, kind: 'public' | 'private'): KeyObject {
  if (isKeyObject(input)) {
    if (kind === 'private' && input.type !== 'private') throw invalidKey('a private key is needed to sign')
    return kind === 'public' && input.type === 'private' ? createPublicKey(input) : input
  }
  const create = kind === 'public' ? createPublicKey : createPrivateKey
  try {
    const jwk = asJwk(input)
    if (jwk !== undefined) {
      if (kind === 'private' && typeof jwk.d !== 'string') throw invalidKey('a private key is needed to sign (the JWK has no "d")')
      return create({ key: jwk as never, format: 'jwk' })
    }
    return create({ key: typeof input === 'string' ? input : Buffer.from(input as Uint8Array), format: 'pem' })
  } catch (cause) {
    if (cause instanceof ApprError) throw cause
    throw invalidKey(kind === 'private' ? 'not a private key in PEM or JWK form' : 'not a key in PEM or JWK form', cause)
  }
}

/**
 * The signature algorithm a key is for.
 * @throws ApprError `invalid-parameters` for any key but Ed25519 and EC P-256.
 */
export function keyAlgorithm(key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256'
  const curve = key.asymmetricKeyDetails?.namedCurve
  throw invalidKey(`${key.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''} keys are not supported: use Ed25519 or ECDSA P-256`)
}

/** A public key ready to verify with: the key, its algorithm and its key id. */
export interface PublicKey {
  readonly key: KeyObject
  readonly alg: SignatureAlgorithm
  readonly keyid: string
}

/** A private key ready to sign with, with its public half's key id. */
export interface PrivateKey extends PublicKey {}

/** `sha256:<hex>` of the DER SubjectPublicKeyInfo of `key` (a private key is named by its public half). */
export function keyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  return `sha256:${sha256Hex(publicKey.export({ type: 'spki', format: 'der' }))}`
}

/**
 * Reads a public key (a private key gives its public half).
 * @throws ApprError `invalid-parameters` for unreadable or unsupported keys.
 */
export function publicKey(input: KeyInput): PublicKey {
  const key = load(input, 'public')
  return { key, alg: keyAlgorithm(key), keyid: keyId(key) }
}

/**
 * Reads a private key for signing.
 * @throws ApprError `invalid-parameters` for public, unreadable or unsupported keys.
 */
export function privateKey(input: KeyInput): PrivateKey {
  const key = load(input, 'private')
  return { key, alg: keyAlgorithm(key), keyid: keyId(key) }
}

/**
 * Public keys by key id: what verification trusts.
 * @throws ApprError `invalid-parameters` for an unusable key.
 */
export function keySet(inputs: Iterable<KeyInput>): ReadonlyMap<string, PublicKey> {
  const keys = new Map<string, PublicKey>()
  for (const input of inputs) {
    const key = publicKey(input)
    keys.set(key.keyid, key)
  }
  return keys
}

/** A new key pair as PEM (PKCS#8 private, SPKI public), with its key id. */
export function generateSigningKey(alg: SignatureAlgorithm = 'ed25519'): { privateKey: string; publicKey: string; keyid: string } {
  const pair = alg === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  return {
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyid: keyId(pair.publicKey),
  }
}
