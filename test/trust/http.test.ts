/** The trust routes over real loopback HTTP: manifest digests, a release by digest, signatures, policies. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry, digestBlob } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { generateSigningKey, manifestDigest, pushedManifestDigest, signDigest } from 'appr-core/trust'
import { b64, call, chart, postJson, start } from '../http/helpers.js'

const alice = generateSigningKey('ed25519')
const bob = generateSigningKey('ecdsa-p256')

const registry = new Registry({ store: memoryStore(), signaturePolicies: { locked: { keys: [alice.publicKey], require: 'push' } } })
const server = await start(registry)
const A = `${server.url}/cnr/api/v1/packages`
test.after(async () => {
  await server.close()
  await registry.close()
})

const blob = await chart('web', '1.0.0')
const first = await postJson(`${A}/acme/web`, { release: '1.0.0', media_type: 'helm', metadata: { team: 'web' }, blob: b64(blob) })
if (first.status !== 200) throw new Error(JSON.stringify(first.body))

test('show, releases and manifests carry manifest_digest, which the client recomputes from the same answer', async () => {
  const shown = await call(`${A}/acme/web/1.0.0/helm`)
  assert.is(shown.status, 200)
  assert.ok(/^sha256:[0-9a-f]{64}$/.test(shown.body.manifest_digest))
  assert.is(manifestDigest(shown.body), shown.body.manifest_digest)
  assert.is((await call(`${A}/acme/web`)).body[0].manifest_digest, shown.body.manifest_digest)
  assert.is((await call(`${A}/acme/web/1.0.0`)).body[0].manifest_digest, shown.body.manifest_digest)
})

test('GET …/manifests/<digest> answers that release; after a force push the old digest no longer resolves', async () => {
  const old = (await call(`${A}/acme/web/1.0.0/helm`)).body.manifest_digest as string
  const byDigest = await call(`${A}/acme/web/manifests/${old}`)
  assert.is(byDigest.status, 200)
  assert.is(byDigest.body.release, '1.0.0')
  assert.is(byDigest.body.manifest_digest, old)
  assert.equal(byDigest.body.channels, [])
  const missing = await call(`${A}/acme/web/manifests/sha256:${'0'.repeat(64)}`)
  assert.equal([missing.status, missing.body.code], [404, 'package-release-not-found'])
  assert.is((await call(`${A}/acme/web/manifests/not-a-digest`)).status, 404)
  await postJson(`${A}/acme/web?force=true`, { release: '1.0.0', media_type: 'helm', metadata: { team: 'ops' }, blob: b64(blob) })
  const now = (await call(`${A}/acme/web/1.0.0/helm`)).body.manifest_digest
  assert.is.not(now, old)
  assert.is((await call(`${A}/acme/web/manifests/${old}`)).status, 404)
  assert.is((await call(`${A}/acme/web/manifests/${now}`)).status, 200)
})

test('signatures: POST (object, array or {signatures}), GET, listed by show, DELETE by key id; bad ones refused', async () => {
  const digest = (await call(`${A}/acme/web/1.0.0/helm`)).body.manifest_digest as string
  const byAlice = signDigest(digest, alice.privateKey)
  const byBob = signDigest(digest, bob.privateKey)
  const url = `${A}/acme/web/1.0.0/helm/signatures`
  let r = await postJson(url, byAlice)
  assert.equal([r.status, r.body], [200, [byAlice]])
  r = await postJson(url, { signatures: [byBob] })
  assert.is(r.body.length, 2)
  assert.equal((await call(url)).body, r.body)
  assert.equal((await call(`${A}/acme/web/1.0.0/helm`)).body.signatures, r.body)
  r = await postJson(url, [signDigest(`sha256:${'1'.repeat(64)}`, alice.privateKey)])
  assert.equal([r.status, r.body.code], [422, 'invalid-parameters'])
  r = await call(url, { method: 'POST', body: '{nope' })
  assert.equal([r.status, r.body.code], [400, 'invalid-usage'])
  r = await call(`${url}/${encodeURIComponent(bob.keyid)}`, { method: 'DELETE' })
  assert.equal([r.status, r.body.status], [200, 'deleted'])
  assert.is((await call(`${url}/${bob.keyid}`, { method: 'DELETE' })).status, 404)
  assert.equal((await call(url)).body, [byAlice])
  assert.is((await call(`${A}/acme/web/9.9.9/helm/signatures`)).status, 404)
})

test("a 'push' policy over HTTP: unsigned push 403 forbidden, signed push (signatures before blob) stored with them", async () => {
  const facts = await digestBlob(blob)
  let r = await postJson(`${A}/locked/web`, { release: '1.0.0', media_type: 'helm', blob: b64(blob) })
  assert.equal([r.status, r.body.code, r.body.details.reason], [403, 'forbidden', 'signature-required'])
  assert.is((await call(`${A}/locked/web`)).status, 404)
  const signature = signDigest(pushedManifestDigest({ package: 'locked/web', release: '1.0.0', format: 'helm', blob: facts }), alice.privateKey)
  r = await postJson(`${A}/locked/web`, { release: '1.0.0', media_type: 'helm', signatures: [signature], blob: b64(blob) })
  assert.equal([r.status, r.body], [200, { status: 'ok' }])
  assert.equal((await call(`${A}/locked/web/1.0.0/helm`)).body.signatures, [signature])
  r = await postJson(`${A}/locked/web`, { release: '1.0.1', media_type: 'helm', signatures: 'x', blob: b64(blob) })
  assert.equal([r.status, r.body.code], [422, 'invalid-parameters'])
})

test.run()
