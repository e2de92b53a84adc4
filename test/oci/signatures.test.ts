// appr signatures as OCI artifacts: the pure mapping (deterministic bytes, a subject the
// referrers API lists, the document read back as the same signature) and the referrers tag schema.
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError } from 'appr-core'
import {
  APPR_SIGNATURE_ARTIFACT,
  EMPTY_JSON_DIGEST,
  OCI_INDEX,
  APPR_MANIFEST_ARTIFACT,
  OCI_MANIFEST,
  ociDigestOf,
  projectManifestRecord,
  parseManifest,
  projectRelease,
  projectSignature,
  readSignatureDocument,
  referrerDescriptor,
  referrersIndex,
  referrersTagOf,
  SIGNATURE_DIGEST_ANNOTATION,
  SIGNATURE_KEYID_ANNOTATION,
  signatureLayerOf,
} from 'appr-core/oci'
import { generateSigningKey, signDigest } from 'appr-core/trust'

const key = generateSigningKey('ed25519')
const p256 = generateSigningKey('ecdsa-p256')
const manifestDigest = `sha256:${'ab'.repeat(32)}`
const subject = projectRelease({
  package: 'acme/app',
  release: '1.0.0',
  created: '2024-01-01T00:00:00Z',
  formats: [{ format: 'kpm', blob: { digest: `sha256:${'cd'.repeat(32)}`, size: 10 } }],
}).manifest

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

test('a signature is an artifact referring to its format manifest, with its document as the one layer', () => {
  const signature = signDigest(manifestDigest, key.privateKey)
  const projected = projectSignature(subject, signature)
  const parsed = parseManifest(projected.manifest.bytes, OCI_MANIFEST)
  assert.is(parsed.mediaType, OCI_MANIFEST)
  assert.is(parsed.artifactType, APPR_SIGNATURE_ARTIFACT)
  assert.equal(parsed.subject, { mediaType: subject.mediaType, digest: subject.digest, size: subject.size })
  assert.is(parsed.config?.digest, EMPTY_JSON_DIGEST)
  assert.is(parsed.layers.length, 1)
  assert.equal(parsed.layers[0], { mediaType: APPR_SIGNATURE_ARTIFACT, digest: projected.layer.digest, size: projected.layer.size })
  assert.is(ociDigestOf(projected.layer.bytes), projected.layer.digest)
  assert.equal(parsed.annotations, { [SIGNATURE_DIGEST_ANNOTATION]: manifestDigest, [SIGNATURE_KEYID_ANNOTATION]: key.keyid })
  assert.is(signatureLayerOf(parsed)?.digest, projected.layer.digest)
  assert.equal(readSignatureDocument(projected.layer.bytes), signature)
  // The exact bytes, field order included (Go JSON, no time): what another implementation must write.
  assert.is(
    text(projected.layer.bytes),
    `{"keyid":"${signature.keyid}","alg":"ed25519","digest":"${manifestDigest}","sig":"${signature.sig}"}`,
  )
  assert.ok(text(projected.manifest.bytes).startsWith(`{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","artifactType":"${APPR_SIGNATURE_ARTIFACT}","config":`))
})

test('same signature and subject give the same digest; another signature, key or subject another', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(), (bytes, ecdsa) => {
      const digest = `sha256:${Buffer.from(bytes).toString('hex')}`
      const s = signDigest(digest, (ecdsa ? p256 : key).privateKey)
      const a = projectSignature(subject, s)
      const b = projectSignature({ ...subject }, { ...s })
      assert.is(a.manifest.digest, b.manifest.digest)
      assert.equal(readSignatureDocument(a.layer.bytes), s)
      const other = projectSignature({ ...subject, digest: `sha256:${'0'.repeat(64)}` }, s)
      assert.is.not(other.manifest.digest, a.manifest.digest)
      const byOther = projectSignature(subject, signDigest(digest, (ecdsa ? key : p256).privateKey))
      assert.is.not(byOther.manifest.digest, a.manifest.digest)
    }),
    { numRuns: 25 },
  )
})

test('malformed signatures and documents are invalid-parameters; other manifests are not signatures', () => {
  const signature = signDigest(manifestDigest, key.privateKey)
  for (const bad of [{ ...signature, keyid: 'nope' }, { ...signature, alg: 'rsa' }, { ...signature, sig: 'not base64!' }]) {
    try {
      projectSignature(subject, bad as never)
      assert.unreachable('accepted a malformed signature')
    } catch (error) {
      assert.ok(isApprError(error, 'invalid-parameters'), String(error))
    }
  }
  for (const bytes of [new Uint8Array([0xff, 0xfe]), new TextEncoder().encode('[]'), new TextEncoder().encode('{"keyid":1}')]) {
    try {
      readSignatureDocument(bytes)
      assert.unreachable('read a malformed document')
    } catch (error) {
      assert.ok(isApprError(error, 'invalid-parameters'), String(error))
    }
  }
  assert.is(signatureLayerOf(parseManifest(subject.bytes, subject.mediaType)), undefined)
})

test('the referrers tag schema: sha256-<hex>, an index of descriptors in digest order, one per digest', () => {
  assert.is(referrersTagOf(subject.digest), subject.digest.replace('sha256:', 'sha256-'))
  const one = projectSignature(subject, signDigest(manifestDigest, key.privateKey)).manifest
  const two = projectSignature(subject, signDigest(manifestDigest, p256.privateKey)).manifest
  const d1 = referrerDescriptor(one, parseManifest(one.bytes, one.mediaType))
  const d2 = referrerDescriptor(two, parseManifest(two.bytes, two.mediaType))
  assert.is(d1.artifactType, APPR_SIGNATURE_ARTIFACT)
  assert.is(d1.annotations?.[SIGNATURE_KEYID_ANNOTATION], key.keyid)
  const a = referrersIndex([d1], d2)
  const b = referrersIndex([d2, d1], d1)
  assert.is(a.digest, b.digest)
  assert.is(a.mediaType, OCI_INDEX)
  const parsed = parseManifest(a.bytes, OCI_INDEX)
  assert.equal(
    parsed.manifests.map((m) => m.digest),
    [d1.digest, d2.digest].sort(),
  )
})

test('an appr manifest record: an artifact referring to the format manifest, the manifest JSON its layer, deterministic', () => {
  const manifest = {
    package: 'acme/app',
    release: '1.0.0+b1',
    mediaType: 'application/vnd.appr.package-manifest.kpm.v0.json',
    content: { mediaType: 'application/vnd.appr.package.kpm.v0.tar+gzip', size: 10, digest: `sha256:${'ef'.repeat(32)}`, urls: [] },
    metadata: { team: 'core', '<tag>': [1, 2] },
    created_at: '2024-01-01T00:00:00Z',
  }
  const record = projectManifestRecord(subject, manifest)
  const parsed = parseManifest(record.manifest.bytes, OCI_MANIFEST)
  assert.is(parsed.artifactType, APPR_MANIFEST_ARTIFACT)
  assert.is(parsed.subject?.digest, subject.digest)
  assert.equal(parsed.layers, [{ mediaType: APPR_MANIFEST_ARTIFACT, digest: record.layer.digest, size: record.layer.size }])
  assert.equal(JSON.parse(text(record.layer.bytes)), manifest)
  assert.is(projectManifestRecord({ ...subject }, { ...manifest, metadata: { '<tag>': [1, 2], team: 'core' } }).manifest.digest !== record.manifest.digest, true, 'member order is part of the bytes')
  assert.is(projectManifestRecord(subject, structuredClone(manifest)).manifest.digest, record.manifest.digest)
})

test.run()
