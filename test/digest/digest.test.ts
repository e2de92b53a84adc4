import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { digestBlob, fromOciDigest, isDigest, sha256, sha256Hex, toOciDigest } from '../../src/digest/index.js'

const fixtures = new URL('../fixtures', import.meta.url).pathname
const rocketchat = new Uint8Array(Buffer.from(readFileSync(`${fixtures}/rocketchat.tar.gz.b64`, 'utf8'), 'base64'))
const kubeUi = new Uint8Array(readFileSync(`${fixtures}/kube-ui.tar.gz`))

async function* pieces(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

test('golden vectors: appr digest of the gunzipped stream and size of the gzip bytes', async () => {
  const r = await digestBlob(rocketchat)
  assert.is(r.digest, '8dc8a2c479f770fd710e0dddaa7af0e6b495bc6375cdf2b4a649f4c2b03e27d5')
  assert.is(r.size, 848)
  assert.is(r.ociDigest, toOciDigest(sha256Hex(rocketchat)))
  const k = await digestBlob(kubeUi)
  assert.is(k.digest, 'd14ec5d33581b51a389db8f3f4e26421eaba09460c8ea4817225abd4a5a1b44a')
  assert.is(k.size, 765)
})

test('the same digests whatever the chunking', async () => {
  const whole = await digestBlob(kubeUi)
  for (const size of [1, 7, 512, 4096]) assert.equal(await digestBlob(pieces(kubeUi, size)), whole)
})

test('the OCI digest differs from the appr digest (it hashes the gzip bytes)', async () => {
  const r = await digestBlob(rocketchat)
  assert.is.not(fromOciDigest(r.ociDigest), r.digest)
  assert.ok(isDigest(fromOciDigest(r.ociDigest)))
})

test('incremental sha256 equals the one-shot hash', () => {
  const h = sha256()
  h.update(new TextEncoder().encode('ab'))
  h.update(new TextEncoder().encode('c'))
  assert.is(h.hex(), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  assert.is(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})

test('isDigest and fromOciDigest accept only lowercase 64-hex', () => {
  const hex = 'a'.repeat(64)
  assert.ok(isDigest(hex))
  assert.not.ok(isDigest('A'.repeat(64)))
  assert.not.ok(isDigest(`${hex}0`))
  assert.not.ok(isDigest(42))
  assert.is(fromOciDigest(`sha256:${hex}`), hex)
  assert.is(fromOciDigest(hex), undefined)
  assert.is(fromOciDigest('sha512:abc'), undefined)
})

test('a truncated gzip is an error, not a digest', async () => {
  try {
    await digestBlob(kubeUi.subarray(0, 300))
    assert.unreachable()
  } catch (e) {
    assert.instance(e, Error)
    assert.not.instance(e, assert.Assertion)
  }
})

test.run()
