// OCI content that is an appr release: a chart pushed through /v2/ (as helm push writes it) at a
// SemVer tag becomes a release, pulled byte for byte through the appr API from the one stored
// object; a /v2/ DELETE of its tag deletes it; and each conflict rule of docs/oci.md.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { inspectArchive } from 'appr-core/archive'
import {
  EMPTY_JSON,
  helmAnnotations,
  helmChartManifest,
  helmChartMetadata,
  helmConfigBytes,
  OCI_EMPTY,
  OCI_MANIFEST,
  ociDigestOf,
} from 'appr-core/oci'
import { rejectsOci } from '../oci/helpers.js'
import { collect, tgz } from './helpers.js'

const fixtures = new URL('../fixtures/', import.meta.url).pathname
const chart = new Uint8Array(readFileSync(join(fixtures, 'hello-0.1.0+b1.tgz')))
const enc = new TextEncoder()

async function upload(registry: Registry, repo: string, bytes: Uint8Array) {
  const { id } = await registry.ociBlobs.startUpload(repo)
  return registry.ociBlobs.finishUpload(repo, id, ociDigestOf(bytes), (async function* () {
    yield bytes
  })())
}

/** A chart as `helm push` writes it: its config, its layer, the manifest (with the push time). */
async function helmPush(registry: Registry, repo: string, tag: string, archive: Uint8Array, created = '2025-06-01T10:00:00Z') {
  const chartYaml = (await inspectArchive(archive).catch(() => undefined))?.manifest?.document
  const config = helmConfigBytes(chartYaml)
  await upload(registry, repo, config)
  await upload(registry, repo, archive)
  const manifest = helmChartManifest({ digest: ociDigestOf(config), size: config.byteLength }, { digest: ociDigestOf(archive), size: archive.byteLength }, helmAnnotations(helmChartMetadata(chartYaml), created))
  const put = await registry.ociManifests.put(repo, tag, manifest.bytes, OCI_MANIFEST)
  return { ...put, bytes: manifest.bytes }
}

async function imagePush(registry: Registry, repo: string, reference: string) {
  await upload(registry, repo, EMPTY_JSON)
  const layer = await upload(registry, repo, enc.encode('an image layer'))
  const bytes = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_EMPTY, digest: ociDigestOf(EMPTY_JSON), size: 2 }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }] }))
  return registry.ociManifests.put(repo, reference, bytes, OCI_MANIFEST)
}

const objects = async (registry: Registry) => (await registry.options.store.list({ prefix: 'obj/' })).length

test('a chart pushed through /v2/ at a SemVer tag is an appr release: shown, pulled byte for byte, channelled; one stored copy', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const registry = new Registry({ store: memoryStore(), clock: () => new Date(now), ociGraceMs: 60_000 })
  const pushed = await helmPush(registry, 'charts/hello', '0.1.0_b1', chart)
  const shown = await registry.show('charts/hello', { release: '0.1.0+b1', format: 'helm' })
  assert.is(shown.release, '0.1.0+b1')
  const pulled = await registry.pull('charts/hello', { release: '0.1.0+b1', format: 'helm' })
  assert.equal(await collect(pulled.stream), chart)
  assert.is(pulled.ociDigest, ociDigestOf(chart))
  assert.equal(await registry.ociManifests.get('charts/hello', '0.1.0_b1'), { digest: pushed.digest, mediaType: OCI_MANIFEST, bytes: pushed.bytes }, 'the exact bytes pushed')
  assert.is(await objects(registry), 2, 'the config and the chart, each once')
  await registry.channels.add('charts/hello', 'stable', '0.1.0+b1')
  assert.equal((await registry.ociManifests.tags('charts/hello')).items, ['0.1.0_b1', 'stable'])
  // Pushed again (skopeo copy of the same chart): nothing changes.
  assert.is((await helmPush(registry, 'charts/hello', '0.1.0_b1', chart)).digest, pushed.digest)
  // A /v2/ DELETE of the tag deletes the release, and its channel with it.
  assert.ok(await registry.ociManifests.delete('charts/hello', '0.1.0_b1'))
  try {
    await registry.show('charts/hello')
    assert.unreachable()
  } catch (e) {
    assert.is((e as { code?: string }).code, 'package-not-found')
  }
  assert.equal((await registry.ociManifests.catalog()).items, [])
  // The blobs only it named were uploaded again by the second push (whose PUT could have been
  // another manifest naming them): they wait for gc past the grace period, then nothing is left.
  assert.ok(await registry.ociBlobs.head('charts/hello', ociDigestOf(chart)))
  now += 60_000
  await registry.gc()
  assert.is(await registry.ociBlobs.head('charts/hello', ociDigestOf(chart)), undefined)
  assert.is(await objects(registry), 0)
})

test('conflicts: a non-SemVer tag stays OCI only; only a chart goes where a release or a channel is; other bytes at a release are refused unless overwriting', async () => {
  const registry = new Registry({ store: memoryStore() })
  // A chart at a tag that is not SemVer, or in a repository that is not <ns>/<name>: OCI only.
  await helmPush(registry, 'charts/hello', 'latest', chart)
  await helmPush(registry, 'mirror/charts/hello', '1.0.0', chart)
  assert.equal((await registry.list()).packages, [])
  // An image is content like any other, but not at a release's or a channel's tag.
  await registry.push({ package: 'charts/hello', release: '1.0.0', format: 'helm', blob: chart })
  await registry.channels.add('charts/hello', 'stable', '1.0.0')
  await rejectsOci(imagePush(registry, 'charts/hello', '1.0.0'), 'DENIED', 403)
  await rejectsOci(imagePush(registry, 'charts/hello', 'stable'), 'DENIED', 403)
  await imagePush(registry, 'charts/hello', 'image')
  // Another chart at the release's tag: refused; the same bytes the release has: accepted.
  const other = await tgz({ 'hello/Chart.yaml': 'apiVersion: v2\nname: hello\nversion: 1.0.0\ndescription: other\n' })
  await rejectsOci(helmPush(registry, 'charts/hello', '1.0.0', other), 'DENIED', 403)
  const served = (await registry.ociManifests.get('charts/hello', '1.0.0'))!
  assert.is((await registry.ociManifests.put('charts/hello', '1.0.0', served.bytes, OCI_MANIFEST)).digest, served.digest)
  // A layer that is not an archive appr accepts.
  await rejectsOci(helmPush(registry, 'charts/hello', '2.0.0', enc.encode('not a gzip')), 'MANIFEST_INVALID', 400)
  assert.equal((await registry.releases('charts/hello')).map((m) => m.release), ['1.0.0'])

  // With ociOverwriteReleases, another chart replaces the format, as a forced push does.
  const overwriting = new Registry({ store: memoryStore(), ociOverwriteReleases: true })
  await overwriting.push({ package: 'charts/hello', release: '1.0.0', format: 'helm', blob: chart })
  const replaced = await helmPush(overwriting, 'charts/hello', '1.0.0', other)
  assert.equal(await collect((await overwriting.pull('charts/hello', { release: '1.0.0' })).stream), other)
  assert.is((await overwriting.ociManifests.head('charts/hello', '1.0.0'))?.digest, replaced.digest)
})

test('one manifest pushed at two release tags is both releases; a DELETE by its digest deletes both, and the manifest', async () => {
  const registry = new Registry({ store: memoryStore() })
  const first = await helmPush(registry, 'charts/hello', '1.0.0', chart)
  const second = await helmPush(registry, 'charts/hello', '1.1.0', chart)
  assert.is(second.digest, first.digest, 'the same bytes: Helm annotates the chart version, not the tag')
  assert.equal((await registry.releases('charts/hello')).map((m) => m.release), ['1.1.0', '1.0.0'])
  await registry.ociManifests.put('charts/hello', 'latest', first.bytes, OCI_MANIFEST)
  assert.ok(await registry.ociManifests.delete('charts/hello', first.digest))
  assert.equal((await registry.list()).packages, [])
  assert.is(await registry.ociManifests.get('charts/hello', first.digest), undefined, "the client's own tag went with it")
  assert.equal(await registry.ociManifests.catalog(), { items: [] })
  // The chart's blobs stay linked until gc frees them: the repository lists no tags meanwhile.
  assert.equal(await registry.ociManifests.tags('charts/hello'), { items: [] })
})

test('an appr push takes a tag an OCI client held: the manifest it named stays, by digest', async () => {
  const registry = new Registry({ store: memoryStore() })
  const image = await imagePush(registry, 'charts/hello', '1.0.0')
  await registry.push({ package: 'charts/hello', release: '1.0.0', format: 'helm', blob: chart })
  assert.is.not((await registry.ociManifests.head('charts/hello', '1.0.0'))?.digest, image.digest)
  assert.ok(await registry.ociManifests.get('charts/hello', image.digest))
})

test('a release of several formats copied through /v2/ (children by digest, then the index) is a release of both formats in the copy, with the same digest', async () => {
  const registry = new Registry({ store: memoryStore() })
  const kpm = await tgz({ 'manifest.yaml': 'name: hello\n' })
  await registry.push({ package: 'charts/hello', release: '1.0.0', format: 'helm', blob: chart })
  await registry.push({ package: 'charts/hello', release: '1.0.0', format: 'kpm', blob: kpm })
  const index = (await registry.ociManifests.get('charts/hello', '1.0.0'))!
  const formats = (JSON.parse(new TextDecoder().decode(index.bytes)) as { manifests: { digest: string }[] }).manifests
  // What skopeo copy --all does: blobs (mounted here), each manifest by digest, the index at the tag.
  for (const f of formats) {
    const child = (await registry.ociManifests.get('charts/hello', f.digest))!
    const parsed = JSON.parse(new TextDecoder().decode(child.bytes)) as { config: { digest: string }; layers: { digest: string }[] }
    for (const d of [parsed.config.digest, ...parsed.layers.map((l) => l.digest)]) assert.ok(await registry.ociBlobs.mount('copies/hello', d, 'charts/hello'))
    await registry.ociManifests.put('copies/hello', child.digest, child.bytes, child.mediaType)
  }
  assert.equal((await registry.list()).packages.map((p) => p.name), ['charts/hello'], 'manifests by digest are no release yet')
  assert.is((await registry.ociManifests.put('copies/hello', '1.0.0', index.bytes, index.mediaType)).digest, index.digest)
  assert.equal((await registry.manifests('copies/hello', '1.0.0')).map((m) => m.content.digest), (await registry.manifests('charts/hello', '1.0.0')).map((m) => m.content.digest))
  assert.is((await registry.ociManifests.head('copies/hello', '1.0.0'))?.digest, index.digest)
  assert.is(await objects(registry), 2, 'both views of both packages share the two archives')
  // A DELETE by digest of one format's manifest deletes that format.
  assert.ok(await registry.ociManifests.delete('copies/hello', formats[1]!.digest))
  assert.equal((await registry.manifests('copies/hello', '1.0.0')).map((m) => m.mediaType), ['application/vnd.appr.package-manifest.helm.v0.json'])
  assert.is((await registry.ociManifests.head('copies/hello', '1.0.0'))?.digest, formats[0]!.digest)
})

test.run()
