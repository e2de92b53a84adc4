import { execFileSync } from 'node:child_process'
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError } from 'appr-core'
import {
  SIGNATURE_CONTEXT,
  SignatureSchema,
  checkSignature,
  checkSignatures,
  generateSigningKey,
  keyId,
  keySet,
  privateKey,
  publicKey,
  signDigest,
} from 'appr-core/trust'

const digest = `sha256:${'7b8a08161896a0404b36c0c1a0872b3cd202b4aceb374f9c16ad9f5362622b9c'}`
const otherDigest = `sha256:${'0'.repeat(64)}`
const ed = generateSigningKey('ed25519')
const ec = generateSigningKey('ecdsa-p256')
const ed2 = generateSigningKey('ed25519')

const invalid = (e: unknown) => isApprError(e, 'invalid-parameters')

function flipBase64(sig: string, byte = 10): string {
  const bytes = Buffer.from(sig, 'base64')
  bytes[byte]! ^= 0x01
  return bytes.toString('base64')
}

for (const [name, pair] of [
  ['ed25519', ed],
  ['ecdsa-p256', ec],
] as const) {
  test(`${name}: a signature verifies with the public key and names it by key id`, () => {
    const signature = signDigest(digest, pair.privateKey)
    assert.is(signature.alg, name)
    assert.is(signature.keyid, pair.keyid)
    assert.is(signature.digest, digest)
    assert.is(Buffer.from(signature.sig, 'base64').length, 64)
    assert.ok(SignatureSchema.safeParse(signature).success)
    assert.equal(checkSignature(signature, digest, keySet([pair.publicKey])), { ok: true, keyid: pair.keyid })
  })

  test(`${name}: tampered digest, signature, key id or algorithm, and a wrong key, are each rejected`, () => {
    const signature = signDigest(digest, pair.privateKey)
    const keys = keySet([pair.publicKey])
    // The record is honest but signs another release.
    assert.equal(checkSignature(signature, otherDigest, keys), { ok: false, reason: 'other-digest' })
    // The record's digest was edited to the one being checked: the signature no longer matches it.
    assert.equal(checkSignature({ ...signDigest(otherDigest, pair.privateKey), digest }, digest, keys), { ok: false, reason: 'bad-signature' })
    assert.equal(checkSignature({ ...signature, sig: flipBase64(signature.sig) }, digest, keys), { ok: false, reason: 'bad-signature' })
    assert.equal(checkSignature({ ...signature, sig: flipBase64(signature.sig, 63) }, digest, keys), { ok: false, reason: 'bad-signature' })
    assert.equal(checkSignature({ ...signature, sig: Buffer.alloc(63).toString('base64') }, digest, keys), { ok: false, reason: 'bad-signature' })
    assert.equal(checkSignature(signature, digest, keySet([ed2.publicKey])), { ok: false, reason: 'unknown-key' })
    // A signature by another key, relabelled with the trusted key's id.
    assert.equal(checkSignature({ ...signDigest(digest, ed2.privateKey), keyid: pair.keyid, alg: name }, digest, keys), { ok: false, reason: 'bad-signature' })
    assert.equal(checkSignature({ ...signature, alg: name === 'ed25519' ? 'ecdsa-p256' : 'ed25519' }, digest, keys), { ok: false, reason: 'wrong-algorithm' })
    assert.equal(checkSignature({ ...signature, alg: 'rsa' }, digest, keys), { ok: false, reason: 'malformed' })
    assert.equal(checkSignature({ ...signature, sig: 'not base64!' }, digest, keys), { ok: false, reason: 'malformed' })
    assert.equal(checkSignature(null, digest, keys), { ok: false, reason: 'malformed' })
  })

  test(`${name}: the same key id from PEM, JWK (text or object), the private half and a KeyObject`, () => {
    const pub = createPublicKey(pair.publicKey)
    const jwk = pub.export({ format: 'jwk' })
    const privateJwk = createPrivateKey(pair.privateKey).export({ format: 'jwk' })
    for (const input of [pair.publicKey, Buffer.from(pair.publicKey), jwk, JSON.stringify(jwk), pair.privateKey, privateJwk, pub]) {
      assert.is(publicKey(input).keyid, pair.keyid)
    }
    assert.is(privateKey(privateJwk).keyid, pair.keyid)
    assert.is(keyId(createPrivateKey(pair.privateKey)), pair.keyid)
    const viaJwk = signDigest(digest, JSON.stringify(privateJwk))
    assert.ok(checkSignature(viaJwk, digest, keySet([jwk])).ok)
  })

  test(`${name}: key id and signature check out with OpenSSL (the docs/trust.md recipes)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'appr-trust-'))
    try {
      writeFileSync(join(dir, 'release.pub'), pair.publicKey)
      const der = execFileSync('sh', ['-c', 'openssl pkey -pubin -in release.pub -outform DER | sha256sum'], { cwd: dir, encoding: 'utf8' })
      assert.is(`sha256:${der.split(' ')[0]}`, pair.keyid)
      const signature = signDigest(digest, pair.privateKey)
      writeFileSync(join(dir, 'message'), `${SIGNATURE_CONTEXT}${digest}`)
      let sig: Buffer = Buffer.from(signature.sig, 'base64')
      if (name === 'ecdsa-p256') sig = p1363ToDer(sig)
      writeFileSync(join(dir, 'sig.bin'), sig)
      const args = ['pkeyutl', '-verify', '-pubin', '-inkey', 'release.pub', '-in', 'message', '-sigfile', 'sig.bin']
      // Ed25519 signs the message itself; ECDSA the message's SHA-256.
      const out = execFileSync('openssl', name === 'ed25519' ? [...args, '-rawin'] : [...args, '-rawin', '-digest', 'sha256'], { cwd: dir, encoding: 'utf8' })
      assert.match(out, /Signature Verified Successfully/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
}

/** r‖s (32 + 32 bytes) as a DER ECDSA-Sig-Value, which OpenSSL's command line expects. */
function p1363ToDer(sig: Buffer): Buffer {
  const integer = (bytes: Buffer) => {
    let i = 0
    while (i < bytes.length - 1 && bytes[i] === 0) i++
    let body = bytes.subarray(i)
    if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body])
    return Buffer.concat([Buffer.from([0x02, body.length]), body])
  }
  const seq = Buffer.concat([integer(sig.subarray(0, 32)), integer(sig.subarray(32))])
  return Buffer.concat([Buffer.from([0x30, seq.length]), seq])
}

test('checkSignatures: trusted key ids once each; every other signature with its reason', () => {
  const good = signDigest(digest, ed.privateKey)
  const goodEc = signDigest(digest, ec.privateKey)
  const stranger = signDigest(digest, ed2.privateKey)
  const result = checkSignatures([good, stranger, { ...goodEc, sig: flipBase64(goodEc.sig) }, good, 'junk'], digest, keySet([ed.publicKey, ec.publicKey]))
  assert.equal(result.trusted, [ed.keyid])
  assert.equal(result.rejected, [
    { index: 1, keyid: ed2.keyid, reason: 'unknown-key' },
    { index: 2, keyid: ec.keyid, reason: 'bad-signature' },
    { index: 4, reason: 'malformed' },
  ])
  assert.equal(checkSignatures([], digest, keySet([ed.publicKey])).trusted, [])
})

test('unsupported and unusable keys are refused with invalid-parameters', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const ed448 = generateKeyPairSync('ed448').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  for (const input of [rsa, p384, 'not a key', '{"kty":', '{"kty":"OKP"}', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n']) {
    assert.throws(() => publicKey(input), invalid, input.slice(0, 30))
  }
  assert.throws(() => signDigest(digest, ed448), invalid)
  // Signing needs the private half.
  assert.throws(() => signDigest(digest, ed.publicKey), invalid)
  assert.throws(() => signDigest(digest, createPublicKey(ed.publicKey).export({ format: 'jwk' })), invalid)
  assert.throws(() => signDigest(digest, createPublicKey(ed.publicKey)), invalid)
  // And a manifest digest.
  for (const bad of ['7b8a', `sha256:${'A'.repeat(64)}`, `sha512:${'0'.repeat(64)}`]) assert.throws(() => signDigest(bad, ed.privateKey), invalid)
})

test('a SEC1 EC private key (openssl ecparam -genkey) signs too', () => {
  const sec1 = createPrivateKey(ec.privateKey).export({ type: 'sec1', format: 'pem' }).toString()
  assert.match(sec1, /BEGIN EC PRIVATE KEY/)
  const signature = signDigest(digest, sec1)
  assert.ok(checkSignature(signature, digest, keySet([ec.publicKey])).ok)
})

test.run()
