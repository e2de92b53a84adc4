// OCI manifests, tags and the catalog of the Registry (registry.ociManifests): exact bytes by
// tag and digest, media types, references checked, tags that move, deletes by digest and by
// tag, paging in lexical order, and a race for one tag.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, EMPTY_JSON, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, ociDigestOf } from 'appr-core/oci'
import { keysOf, rejectsOci } from '../oci/helpers.js'

const enc = new TextEncoder()
async function upload(registry: Registry, repo: string, bytes: Uint8Array) {
  const { id } = await registry.ociBlobs.startUpload(repo)
  return registry.ociBlobs.finishUpload(repo, id, ociDigestOf(bytes), (async function* () {
    yield bytes
  })())
}
function imageManifest(layer: { digest: string; size: number }, mediaType = OCI_MANIFEST, extra: Record<string, unknown> = {}): Uint8Array {
  // Deliberately not canonical JSON (spaces, key order): the bytes must come back as sent.
  return enc.encode(`{ "schemaVersion": 2, "mediaType": "${mediaType}", "config": ${JSON.stringify({ mediaType: OCI_EMPTY, digest: ociDigestOf(EMPTY_JSON), size: 2 })}, "layers": [${JSON.stringify({ mediaType: 'application/octet-stream', ...layer })}]${Object.keys(extra).length ? `, ${JSON.stringify(extra).slice(1, -1)}` : ''} }`)
}

async function setup(repo = 'acme/app') {
  const store = memoryStore()
  const registry = new Registry({ store })
  await upload(registry, repo, EMPTY_JSON)
  const layer = await upload(registry, repo, enc.encode('layer one'))
  return { store, registry, layer }
}

test('a manifest is stored as the exact bytes, by tag and by digest; its blobs must be in the repository', async () => {
  const { registry, layer } = await setup()
  const missing = imageManifest({ digest: ociDigestOf('not uploaded'), size: 12 })
  await rejectsOci(registry.ociManifests.put('acme/app', 'v1', missing), 'MANIFEST_BLOB_UNKNOWN', 400)
  await rejectsOci(registry.ociManifests.put('acme/other', 'v1', imageManifest(layer)), 'MANIFEST_BLOB_UNKNOWN', 400)
  const bytes = imageManifest(layer)
  const put = await registry.ociManifests.put('acme/app', 'v1', bytes, `${OCI_MANIFEST}; charset=utf-8`)
  assert.equal(put, { digest: ociDigestOf(bytes), mediaType: OCI_MANIFEST })
  for (const ref of ['v1', put.digest]) {
    assert.equal(await registry.ociManifests.get('acme/app', ref), { digest: put.digest, mediaType: OCI_MANIFEST, bytes })
    assert.equal(await registry.ociManifests.head('acme/app', ref), { digest: put.digest, mediaType: OCI_MANIFEST, size: bytes.byteLength })
  }
  assert.is(await registry.ociManifests.get('acme/app', 'v2'), undefined)
  assert.is(await registry.ociManifests.get('acme/other', 'v1'), undefined)
  await rejectsOci(registry.ociManifests.put('acme/app', ociDigestOf('x'), bytes), 'DIGEST_INVALID', 400)
  await rejectsOci(registry.ociManifests.put('acme/app', 'v1', bytes, OCI_INDEX), 'MANIFEST_INVALID', 400)
  await rejectsOci(registry.ociManifests.put('acme/app', 'v1', enc.encode('{nope')), 'MANIFEST_INVALID')
  await rejectsOci(registry.ociManifests.put('acme/app', 'bad tag', bytes), 'TAG_INVALID')
  // Reading a reference that cannot be a tag finds nothing (404 at /v2/), as the OCI conformance suite expects.
  for (const ref of ['.INVALID_MANIFEST_NAME', 'bad tag', 'x'.repeat(129)]) {
    assert.is(await registry.ociManifests.get('acme/app', ref), undefined, ref)
    assert.is(await registry.ociManifests.head('acme/app', ref), undefined, ref)
  }
  await rejectsOci(registry.ociManifests.get('acme/app', 'sha256:totallywrong'), 'DIGEST_INVALID', 400)
  await rejectsOci(registry.ociManifests.get('Acme/App', 'v1'), 'NAME_INVALID')
})

test('indexes need their manifests first (pushed by digest, as skopeo --all does); Docker types keep their media type', async () => {
  const { registry, layer } = await setup()
  const child = imageManifest(layer, DOCKER_MANIFEST)
  const list = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [{ mediaType: DOCKER_MANIFEST, digest: ociDigestOf(child), size: child.byteLength, platform: { architecture: 'amd64', os: 'linux' } }] }))
  await rejectsOci(registry.ociManifests.put('acme/app', 'multi', list), 'MANIFEST_BLOB_UNKNOWN')
  assert.is((await registry.ociManifests.put('acme/app', ociDigestOf(child), child, DOCKER_MANIFEST)).mediaType, DOCKER_MANIFEST)
  assert.is((await registry.ociManifests.put('acme/app', 'multi', list)).mediaType, DOCKER_MANIFEST_LIST)
  assert.is((await registry.ociManifests.get('acme/app', 'multi'))?.mediaType, DOCKER_MANIFEST_LIST)
  assert.equal((await registry.ociManifests.tags('acme/app')).items, ['multi'], 'a manifest put by digest has no tag')
})

test('tags move; deleting by tag keeps the manifest, deleting by digest takes its tags', async () => {
  const { store, registry, layer } = await setup()
  const a = imageManifest(layer)
  const b = imageManifest(layer, OCI_MANIFEST, { annotations: { v: '2' } })
  const da = (await registry.ociManifests.put('acme/app', 'latest', a)).digest
  await registry.ociManifests.put('acme/app', 'v1', a)
  const db = (await registry.ociManifests.put('acme/app', 'latest', b)).digest
  assert.is((await registry.ociManifests.get('acme/app', 'latest'))?.digest, db)
  assert.is((await registry.ociManifests.get('acme/app', 'v1'))?.digest, da)
  // a lost `latest` when it moved: deleting a takes only v1.
  assert.is(await registry.ociManifests.delete('acme/app', da), true)
  assert.equal((await registry.ociManifests.tags('acme/app')).items, ['latest'])
  assert.is(await registry.ociManifests.delete('acme/app', 'latest'), true)
  assert.is(await registry.ociManifests.delete('acme/app', 'latest'), false)
  assert.is((await registry.ociManifests.get('acme/app', db))?.digest, db, 'untagged, still there by digest')
  assert.is(await registry.ociManifests.delete('acme/app', db), true)
  assert.is(await registry.ociManifests.delete('acme/app', db), false)
  // Its blobs are still there, so the repository is too, without tags; it is unknown once they go.
  assert.equal(await registry.ociManifests.tags('acme/app'), { items: [] })
  for (const digest of [ociDigestOf(EMPTY_JSON), layer.digest]) await registry.ociBlobs.delete('acme/app', digest)
  await rejectsOci(registry.ociManifests.tags('acme/app'), 'NAME_UNKNOWN', 404)
  assert.equal(await keysOf(store), [], 'nothing is left behind')
})

test('tags and catalog page in lexical order with n and last', async () => {
  const { registry, layer } = await setup()
  const bytes = imageManifest(layer)
  const tags = ['v2', 'a-1', 'Z_9', '1.0.0_b1', 'v1.x', 'v1']
  for (const tag of tags) await registry.ociManifests.put('acme/app', tag, bytes)
  const sorted = [...tags].sort()
  assert.equal((await registry.ociManifests.tags('acme/app')).items, sorted)
  const seen: string[] = []
  let last: string | undefined
  for (;;) {
    const page = await registry.ociManifests.tags('acme/app', { n: 4, ...(last === undefined ? {} : { last }) })
    seen.push(...page.items)
    if (page.next === undefined) break
    assert.is(page.items.length, 4)
    last = page.next
  }
  assert.equal(seen, sorted)
  assert.equal((await registry.ociManifests.tags('acme/app', { n: 2, last: 'a-1' })).items, sorted.slice(sorted.indexOf('a-1') + 1, sorted.indexOf('a-1') + 3))
  assert.equal(await registry.ociManifests.tags('acme/app', { n: 0 }), { items: [] })
  await rejectsOci(registry.ociManifests.tags('acme/app', { n: -1 }), 'PAGINATION_NUMBER_INVALID', 400)
  await rejectsOci(registry.ociManifests.tags('acme/never'), 'NAME_UNKNOWN')

  for (const repo of ['b/x', 'a/y/z', 'a/y']) {
    await upload(registry, repo, EMPTY_JSON)
    await upload(registry, repo, enc.encode('layer one'))
    await registry.ociManifests.put(repo, 'latest', bytes)
  }
  assert.equal((await registry.ociManifests.catalog()).items, ['a/y', 'a/y/z', 'acme/app', 'b/x'])
  const first = await registry.ociManifests.catalog({ n: 2 })
  assert.equal(first, { items: ['a/y', 'a/y/z'], next: 'a/y/z' })
  assert.equal(await registry.ociManifests.catalog({ n: 2, last: first.next! }), { items: ['acme/app', 'b/x'] })
})

test('two registries racing to move one tag agree on a winner, whose manifest names the tag', async () => {
  const { store, layer } = await setup()
  const registries = [new Registry({ store, ownsStore: false }), new Registry({ store, ownsStore: false })]
  const manifests = [0, 1].map((i) => imageManifest(layer, OCI_MANIFEST, { annotations: { i: String(i) } }))
  await Promise.all(registries.map((r, i) => r.ociManifests.put('acme/app', 'race', manifests[i]!)))
  const winner = (await registries[0]!.ociManifests.get('acme/app', 'race'))!.digest
  assert.equal((await registries[1]!.ociManifests.tags('acme/app')).items, ['race'])
  for (const m of manifests) {
    const digest = ociDigestOf(m)
    const record = JSON.parse(new TextDecoder().decode((await store.get(`oci/manifest/acme/app@${digest.slice(7)}`))!.value)) as { tags: string[] }
    assert.equal(record.tags, digest === winner ? ['race'] : [])
  }
})

test.run()
