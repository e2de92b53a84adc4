import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry, digestBlob, isApprError } from 'appr-core'
import { levelStore } from 'appr-core/adapters/level'
import { memoryStore } from 'appr-core/adapters/memory'
import { type Signature, checkSignatures, generateSigningKey, keySet, manifestDigest, pushedManifestDigest, signDigest } from 'appr-core/trust'
import { chart } from '../http/helpers.js'
import { backup1, snapshot } from '../registry/helpers.js'

const alice = generateSigningKey('ed25519')
const bob = generateSigningKey('ecdsa-p256')
const mallory = generateSigningKey('ed25519')

const is = (code: Parameters<typeof isApprError>[1]) => (e: unknown) => isApprError(e, code)

async function rejects(promise: Promise<unknown>, code: Parameters<typeof isApprError>[1]): Promise<unknown> {
  try {
    await promise
  } catch (e) {
    assert.ok(isApprError(e, code), `expected ${code}, got ${String(e)}`)
    return e
  }
  assert.unreachable(`expected ${code}`)
}

async function signedShow(registry: Registry, pkg: string, release: string, format: string) {
  return registry.show(pkg, { release, format })
}

test('signatures: added, listed by show, one per key, checked against the digest; delete and force push drop them', async () => {
  const registry = new Registry({ store: memoryStore() })
  const blob = await chart('web', '1.0.0')
  await registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob, metadata: { a: 1 } })
  const shown = await signedShow(registry, 'acme/web', '1.0.0', 'helm')
  assert.is(shown.signatures, undefined, 'unsigned: no field')
  const digest = manifestDigest(shown)
  const byAlice = signDigest(digest, alice.privateKey)
  const byBob = signDigest(digest, bob.privateKey)
  assert.equal(await registry.signatures.add('acme/web', '1.0.0', 'helm', [byAlice]), [byAlice])
  const both = await registry.signatures.add('acme/web', '1.0.0', 'helm', [byBob, signDigest(digest, alice.privateKey)])
  assert.is(both.length, 2)
  const listed = (await signedShow(registry, 'acme/web', '1.0.0', 'helm')).signatures ?? []
  assert.equal(checkSignatures(listed, digest, keySet([alice.publicKey, bob.publicKey])).trusted.slice().sort(), [alice.keyid, bob.keyid].sort())
  assert.equal(await registry.signatures.list('acme/web', '1.0.0', 'helm'), listed)
  const pulled = await registry.pull('acme/web', { release: '1.0.0', format: 'helm' })
  for await (const _ of pulled.stream) {
    // drain
  }
  assert.equal(pulled.manifest.signatures, listed)

  // Refused: another digest, garbage, unknown release.
  await rejects(registry.signatures.add('acme/web', '1.0.0', 'helm', [signDigest(`sha256:${'0'.repeat(64)}`, alice.privateKey)]), 'invalid-parameters')
  await rejects(registry.signatures.add('acme/web', '1.0.0', 'helm', [{ keyid: 'x' }]), 'invalid-parameters')
  await rejects(registry.signatures.add('acme/web', '2.0.0', 'helm', [byAlice]), 'package-not-found')
  await rejects(registry.signatures.list('acme/web', '1.0.0', 'kpm'), 'package-not-found')

  assert.ok(await registry.signatures.remove('acme/web', '1.0.0', 'helm', bob.keyid))
  assert.not.ok(await registry.signatures.remove('acme/web', '1.0.0', 'helm', bob.keyid))
  assert.is((await registry.signatures.list('acme/web', '1.0.0', 'helm')).length, 1)

  // A force push replaces the manifest and drops its signatures in the same commit.
  await registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob, metadata: { a: 1 }, force: true })
  assert.equal(await registry.signatures.list('acme/web', '1.0.0', 'helm'), [])
  // A delete drops them too: pushing the same release again finds none.
  await registry.signatures.add('acme/web', '1.0.0', 'helm', [byAlice])
  await registry.push({ package: 'acme/web', release: '1.1.0', format: 'helm', blob: await chart('web', '1.1.0') })
  await registry.delete('acme/web', '1.0.0', 'helm')
  await registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob, metadata: { a: 1 } })
  assert.equal(await registry.signatures.list('acme/web', '1.0.0', 'helm'), [])
  await registry.close()
})

test('a push may carry signatures of the manifest it creates (pushedManifestDigest computes it beforehand)', async () => {
  const registry = new Registry({ store: memoryStore() })
  const blob = await chart('api', '2.0.0')
  const facts = await digestBlob(blob)
  const digest = pushedManifestDigest({ package: 'ACME/api', release: '2.0.0', format: 'helm', blob: facts, metadata: { team: 'x' } })
  const signature = signDigest(digest, alice.privateKey)
  const manifest = await registry.push({ package: 'acme/api', release: '2.0.0', format: 'helm', blob, metadata: { team: 'x' }, signatures: [signature] })
  assert.is(manifestDigest(manifest), digest)
  assert.equal((await signedShow(registry, 'acme/api', '2.0.0', 'helm')).signatures, [signature])
  // A signature of anything else is refused and nothing is stored.
  const before = await snapshot(registry.options.store)
  await rejects(registry.push({ package: 'acme/api', release: '2.0.1', format: 'helm', blob, signatures: [signature] }), 'invalid-parameters')
  assert.equal(await snapshot(registry.options.store), before)
  await registry.close()
})

test('backup carries signatures; restore brings them back; an older backup without any still restores', async () => {
  const source = new Registry({ store: memoryStore() })
  await source.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: await chart('web', '1.0.0') })
  await source.push({ package: 'acme/web', release: '1.1.0', format: 'helm', blob: await chart('web', '1.1.0') })
  const digest = manifestDigest(await source.show('acme/web', { release: '1.0.0', format: 'helm' }))
  const signature = signDigest(digest, bob.privateKey)
  await source.signatures.add('acme/web', '1.0.0', 'helm', [signature])
  const doc = await source.backup()
  assert.equal(doc.packages.find((p) => p.release === '1.0.0')?.signatures, [signature])
  assert.not.ok('signatures' in doc.packages.find((p) => p.release === '1.1.0')!)
  const copy = new Registry({ store: memoryStore() })
  await copy.restore(JSON.parse(JSON.stringify(doc)))
  assert.equal(await copy.signatures.list('acme/web', '1.0.0', 'helm'), [signature])
  assert.equal(await copy.backup(), doc)
  const old = new Registry({ store: memoryStore() })
  await old.restore(backup1())
  assert.ok((await old.backup()).packages.every((p) => !('signatures' in p)))
  // A tampered signature in a backup stops the restore before anything is written.
  const tampered = JSON.parse(JSON.stringify(doc)) as typeof doc
  ;(tampered.packages.find((p) => p.release === '1.0.0')!.signatures as Signature[])[0] = signDigest(`sha256:${'1'.repeat(64)}`, bob.privateKey)
  const empty = new Registry({ store: memoryStore() })
  await rejects(empty.restore(tampered), 'invalid-parameters')
  assert.equal(await snapshot(empty.options.store), [])
  await Promise.all([source.close(), copy.close(), old.close(), empty.close()])
})

test("policy 'push': unsigned and wrongly-signed pushes are refused with typed errors and store nothing; signed ones pass", async () => {
  const registry = new Registry({ store: memoryStore(), signaturePolicies: { acme: { keys: [alice.publicKey, bob.publicKey], require: 'push' } } })
  const blob = await chart('web', '1.0.0')
  const facts = await digestBlob(blob)
  const digest = pushedManifestDigest({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: facts })
  const before = await snapshot(registry.options.store)
  await rejects(registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob }), 'forbidden')
  const e = await rejects(registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: blobStream(blob) }), 'forbidden')
  assert.is((e as { details: Record<string, unknown> }).details.reason, 'signature-required')
  // By a key outside the policy, or a forged one under a trusted key id.
  await rejects(registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob, signatures: [signDigest(digest, mallory.privateKey)] }), 'invalid-parameters')
  const forged = { ...signDigest(digest, mallory.privateKey), keyid: alice.keyid }
  await rejects(registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob, signatures: [forged] }), 'invalid-parameters')
  assert.equal(await snapshot(registry.options.store), before, 'nothing stored')
  // Other namespaces are not under the policy.
  await registry.push({ package: 'other/web', release: '1.0.0', format: 'helm', blob })
  const signature = signDigest(digest, alice.privateKey)
  await registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob, signatures: [signature] })
  await registry.channels.add('acme/web', 'stable', '1.0.0')
  // Restoring an unsigned release into the namespace is refused before anything is written.
  const fresh = new Registry({ store: memoryStore(), signaturePolicies: { '*': { keys: [alice.publicKey], require: 'push' } } })
  const doc = await registry.backup()
  await rejects(fresh.restore({ ...doc, packages: doc.packages.map(({ signatures: _, ...p }) => p) }), 'forbidden')
  assert.equal(await snapshot(fresh.options.store), [])
  // The signed part restores, with its signature and channel.
  await fresh.restore({ packages: doc.packages.filter((p) => p.package === 'acme/web'), channels: doc.channels.filter((c) => c.package === 'acme/web') })
  assert.is((await fresh.channels.show('acme/web', 'stable')).current, '1.0.0')
  assert.equal(await fresh.signatures.list('acme/web', '1.0.0', 'helm'), [signature])
  await Promise.all([registry.close(), fresh.close()])
})

async function* blobStream(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes.subarray(0, 10)
  yield bytes.subarray(10)
}

test("policy 'channel': pushes are free; a channel may point only at a release whose every format is signed", async () => {
  const registry = new Registry({ store: memoryStore(), signaturePolicies: { acme: { keys: [bob.publicKey], require: 'channel' } } })
  await registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: await chart('web', '1.0.0') })
  await registry.push({ package: 'acme/web', release: '1.0.0', format: 'kpm', blob: await chart('web-kpm', '1.0.0') })
  await rejects(registry.channels.add('acme/web', 'stable', '1.0.0'), 'forbidden')
  const sign = async (format: string, key = bob.privateKey) =>
    registry.signatures.add('acme/web', '1.0.0', format, [signDigest(manifestDigest(await registry.show('acme/web', { release: '1.0.0', format })), key)])
  await sign('helm')
  await rejects(registry.channels.add('acme/web', 'stable', '1.0.0'), 'forbidden')
  await rejects(sign('kpm', alice.privateKey), 'invalid-parameters')
  await sign('kpm')
  assert.equal((await registry.channels.add('acme/web', 'stable', '1.0.0')).current, '1.0.0')
  await registry.close()
})

test('a policy with an unsupported key fails at construction', () => {
  assert.throws(() => new Registry({ store: memoryStore(), signaturePolicies: { acme: { keys: ['not a key'], require: 'push' } } }), is('invalid-parameters'))
  assert.throws(() => new Registry({ store: memoryStore(), signaturePolicies: { acme: { keys: [], require: 'always' as 'push' } } }), is('invalid-parameters'))
})

test('signatures survive a restart (LevelDB)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'appr-sigs-'))
  try {
    const first = new Registry({ store: levelStore({ path: dir }), signaturePolicies: { acme: { keys: [alice.publicKey], require: 'push' } } })
    const blob = await chart('web', '1.0.0')
    const signature = signDigest(pushedManifestDigest({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: await digestBlob(blob) }), alice.privateKey)
    await first.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob, signatures: [signature] })
    await first.close()
    const second = new Registry({ store: levelStore({ path: dir }) })
    assert.equal((await second.show('acme/web', { release: '1.0.0', format: 'helm' })).signatures, [signature])
    await second.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
