// ociBlobStore on a real docker-registry: the BlobStore contract, the id ↔ tag encoding, what
// lands in the registry, a Registry (memory records, OCI bytes) through push, pull, delete and
// gc, and failures as `unavailable`.
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry, compareKeys, isApprError } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { BLOB_ID_ANNOTATION, BLOB_OBJECT_ARTIFACT_TYPE, MAX_OCI_BLOB_ID_BYTES, blobIdOfTag, blobIdTag, isTag, ociBlobStore, ociClient, parseManifest } from 'appr-core/oci'
import { blobStoreContract, collect } from '../helpers/blob-contract.js'
import { type TestDockerRegistry, startDockerRegistry } from '../helpers/servers.js'

let registry: TestDockerRegistry | undefined
let repoCount = 0
const fresh = () => `appr/blobs-${++repoCount}`
const open = (repository = fresh()) => ociBlobStore({ url: registry!.url, repository, chunkBytes: 1000 })

const contract = suite('ociBlobStore contract')
contract.before(async () => {
  registry = await startDockerRegistry({ suite: 'ociBlobStore' })
})
blobStoreContract(
  // Every test of the contract is a no-op when docker-registry is missing (skipped outside CI).
  Object.assign(((name: string, fn: () => Promise<void>) => contract(name, async () => (registry ? fn() : undefined))) as typeof contract, contract),
  {
    open: async () => open(),
    extraIds: ['é/ü', 'Z', 'x'.repeat(80), '\u{1F600}/1'],
    badIds: ['x'.repeat(MAX_OCI_BLOB_ID_BYTES + 1), 'é'.repeat(41)],
    readSurvivesDelete: true,
  },
)
contract.run()

const more = suite('ociBlobStore')
more.after(async () => {
  await registry?.stop()
})

more('ids map to tags and back, keeping their byte order', () => {
  assert.is(blobIdTag('a'), 'c4')
  assert.is(blobIdOfTag('c4'), 'a')
  for (const bad of ['c5', 'C4', 'latest', 'w0', '', 'c']) assert.is(blobIdOfTag(bad), undefined, bad)
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), (a, b) => {
      fc.pre(new TextEncoder().encode(a).byteLength <= 80 && new TextEncoder().encode(b).byteLength <= 80)
      const [ta, tb] = [blobIdTag(a), blobIdTag(b)]
      assert.ok(isTag(ta), ta)
      assert.is(blobIdOfTag(ta), a)
      assert.is(Math.sign(compareKeys(a, b)), Math.sign(ta < tb ? -1 : ta > tb ? 1 : 0))
    }),
  )
})

more('each object is a small OCI artifact naming its id; unrelated tags are not objects', async () => {
  if (!registry) return
  const repository = fresh()
  const blobs = open(repository)
  await blobs.write('obj/1', (async function* () {
    yield Uint8Array.of(1, 2, 3)
  })())
  const client = ociClient({ url: registry.url })
  const manifest = await client.getManifest(repository, blobIdTag('obj/1'))
  assert.ok(manifest)
  const parsed = parseManifest(manifest.bytes, manifest.mediaType)
  assert.is(parsed.artifactType, BLOB_OBJECT_ARTIFACT_TYPE)
  assert.is(parsed.annotations[BLOB_ID_ANNOTATION], 'obj/1')
  assert.equal(parsed.layers.map((l) => l.size), [3])
  await client.putManifest(repository, 'latest', manifest.bytes, manifest.mediaType)
  const ids: string[] = []
  for await (const id of blobs.ids()) ids.push(id)
  assert.equal(ids, ['obj/1'])
})

more('a Registry with records in memory and bytes in docker-registry pushes, pulls, deletes and collects', async () => {
  if (!registry) return
  const repository = fresh()
  const blobs = open(repository)
  // No blob cache: every pull reads the bytes from docker-registry.
  const apprRegistry = new Registry({ store: memoryStore(), blobs, blobCacheBytes: 0 })
  const chart = new Uint8Array(readFileSync(join(new URL('../fixtures/', import.meta.url).pathname, 'kube-ui.tar.gz')))
  await apprRegistry.push({ package: 'acme/kube-ui', release: '1.0.0', format: 'kpm', blob: chart })
  await apprRegistry.push({ package: 'acme/other', release: '2.0.0', format: 'kpm', blob: chart })
  const pulled = await apprRegistry.pull('acme/kube-ui', { release: '1.0.0', format: 'kpm' })
  assert.equal(await collect(pulled.stream), chart)
  // The bytes sit in the registry under the appr blob's own OCI digest.
  const layer = await ociClient({ url: registry.url }).getBlob(repository, pulled.ociDigest)
  assert.equal(await collect(layer?.body), chart)
  const before: string[] = []
  for await (const id of blobs.ids()) before.push(id)
  assert.is(before.length, 1, 'one object for the shared blob')
  await apprRegistry.delete('acme/kube-ui', '1.0.0', 'kpm')
  await apprRegistry.delete('acme/other', '2.0.0', 'kpm')
  await apprRegistry.gc()
  const after: string[] = []
  for await (const id of blobs.ids()) after.push(id)
  assert.equal(after, [])
})

more('a registry that is down is unavailable (transient), never “absent”', async () => {
  if (!registry) return
  const blobs = open()
  await blobs.write('k/1', (async function* () {
    yield Uint8Array.of(7)
  })())
  await registry.kill()
  try {
    for (const call of [() => blobs.read('k/1'), () => blobs.delete('k/1'), async () => blobs.ids()[Symbol.asyncIterator]().next()]) {
      try {
        await call()
        assert.unreachable()
      } catch (e) {
        assert.ok(isApprError(e, 'unavailable') && e.transient, String(e))
      }
    }
  } finally {
    await registry.restart()
  }
  assert.equal(await collect(await blobs.read('k/1')), Uint8Array.of(7))
})

more.run()
