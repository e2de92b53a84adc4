// The OCI view of appr releases, served live from the same records: an appr push shows the
// release at its tag with the digests projectRelease gives, channels are tags following their
// release, a delete hides it, one stored object serves both views, and gc reclaims what the
// view no longer names once the grace period has passed.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { inspectArchive } from 'appr-core/archive'
import { OCI_INDEX, OCI_MANIFEST, ociDigestOf, projectRelease } from 'appr-core/oci'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, tgz } from './helpers.js'

const fixtures = new URL('../fixtures/', import.meta.url).pathname
const chart = new Uint8Array(readFileSync(join(fixtures, 'hello-0.1.0+b1.tgz')))
const T0 = new Date('2026-01-01T00:00:00.000Z')

function setup(options: { graceMs?: number } = {}) {
  let now = T0.getTime()
  const store = memoryStore()
  const registry = new Registry({ store, clock: () => new Date(now), ...(options.graceMs === undefined ? {} : { ociGraceMs: options.graceMs }) })
  const advance = (ms: number): void => {
    now += ms
  }
  return { store, registry, advance }
}

/** Text that gzip cannot shrink much (the archive stays large). */
function randomText(length: number): string {
  let out = ''
  let x = 12345
  while (out.length < length) {
    x = (x * 1103515245 + 12345) % 2 ** 31
    out += x.toString(36)
  }
  return out.slice(0, length)
}

async function objects(registry: Registry): Promise<number> {
  // Every BlobStore object has an obj/<id> marker.
  return (await registry.options.store.list({ prefix: 'obj/' })).length
}

async function ociKeys(registry: Registry): Promise<string[]> {
  return (await registry.options.store.list({ prefix: 'oci/' })).map((e) => e.key)
}

async function bytesOf(registry: Registry, repo: string, digest: string): Promise<Uint8Array | undefined> {
  const read = await registry.ociBlobs.get(repo, digest)
  return read && collect(read.stream)
}

test('an appr push of a chart is served at /v2/ with the digests projectRelease gives; the chart is one stored object', async () => {
  const { registry } = setup()
  const manifest = await registry.push({ package: 'charts/hello', release: '0.1.0+b1', format: 'helm', blob: chart })
  const chartYaml = (await inspectArchive(chart)).manifest?.document
  const expected = projectRelease({ package: 'charts/hello', release: '0.1.0+b1', created: manifest.created_at, formats: [{ format: 'helm', blob: { digest: ociDigestOf(chart), size: chart.byteLength }, chartYaml }] })
  assert.is(expected.tag, '0.1.0_b1')
  const served = await registry.ociManifests.get('charts/hello', '0.1.0_b1')
  assert.equal(served, { digest: expected.manifest.digest, mediaType: OCI_MANIFEST, bytes: expected.manifest.bytes })
  assert.equal(await registry.ociManifests.get('charts/hello', expected.manifest.digest), served)
  assert.equal((await registry.ociManifests.tags('charts/hello')).items, ['0.1.0_b1'])
  assert.equal((await registry.ociManifests.catalog()).items, ['charts/hello'])
  assert.equal(await bytesOf(registry, 'charts/hello', ociDigestOf(chart)), chart)
  const config = expected.formats[0]!.config
  assert.equal(await bytesOf(registry, 'charts/hello', config.digest), config.bytes)
  assert.is(await objects(registry), 1, 'the chart is stored once')
})

test('a chart pushed as a stream (over 64 KiB: the streaming path) is served with the same digests as projectRelease gives', async () => {
  const { registry } = setup()
  const big = await tgz({ 'big/Chart.yaml': 'apiVersion: v2\nname: big\nversion: 3.0.0\ndescription: a <large> & chart\n', 'big/data.txt': randomText(200 * 1024) })
  assert.ok(big.byteLength > 64 * 1024)
  const manifest = await registry.push({ package: 'charts/big', release: '3.0.0', format: 'helm', blob: (async function* () {
    yield big.subarray(0, 1000)
    yield big.subarray(1000)
  })() })
  const chartYaml = (await inspectArchive(big)).manifest?.document
  const expected = projectRelease({ package: 'charts/big', release: '3.0.0', created: manifest.created_at, formats: [{ format: 'helm', blob: { digest: ociDigestOf(big), size: big.byteLength }, chartYaml }] })
  assert.equal(await registry.ociManifests.get('charts/big', '3.0.0'), { digest: expected.manifest.digest, mediaType: OCI_MANIFEST, bytes: expected.manifest.bytes })
  assert.equal(await bytesOf(registry, 'charts/big', expected.formats[0]!.config.digest), expected.formats[0]!.config.bytes)
})

test('a second format makes the tag an index; channels are tags that follow their current release', async () => {
  const { registry } = setup()
  const kpm = await tgz({ 'manifest.yaml': 'name: hello\n' })
  await registry.push({ package: 'charts/hello', release: '1.0.0', format: 'helm', blob: chart })
  const single = (await registry.ociManifests.get('charts/hello', '1.0.0'))!
  await registry.push({ package: 'charts/hello', release: '1.0.0', format: 'kpm', blob: kpm })
  const chartYaml = (await inspectArchive(chart)).manifest?.document
  const expected = projectRelease({
    package: 'charts/hello',
    release: '1.0.0',
    created: T0.toISOString(),
    formats: [
      { format: 'kpm', blob: { digest: ociDigestOf(kpm), size: kpm.byteLength } },
      { format: 'helm', blob: { digest: ociDigestOf(chart), size: chart.byteLength }, chartYaml },
    ],
  })
  const index = (await registry.ociManifests.get('charts/hello', '1.0.0'))!
  assert.equal(index, { digest: expected.manifest.digest, mediaType: OCI_INDEX, bytes: expected.manifest.bytes })
  assert.is(expected.formats[0]!.manifest.digest, single.digest, "adding a format keeps the helm manifest's digest")
  for (const f of expected.formats) assert.ok(await registry.ociManifests.get('charts/hello', f.manifest.digest))

  await registry.push({ package: 'charts/hello', release: '2.0.0', format: 'helm', blob: chart })
  const two = (await registry.ociManifests.head('charts/hello', '2.0.0'))!
  await registry.channels.add('charts/hello', 'stable', '1.0.0')
  assert.is((await registry.ociManifests.head('charts/hello', 'stable'))?.digest, index.digest)
  await registry.channels.add('charts/hello', 'stable', '2.0.0')
  assert.is((await registry.ociManifests.head('charts/hello', 'stable'))?.digest, two.digest)
  await registry.channels.remove('charts/hello', 'stable', '2.0.0')
  assert.is((await registry.ociManifests.head('charts/hello', 'stable'))?.digest, index.digest)
  // Deleting the channel's release moves the channel on (here: it empties, so it goes).
  await registry.delete('charts/hello', '1.0.0', 'kpm')
  assert.is((await registry.ociManifests.head('charts/hello', 'stable'))?.digest, single.digest, 'the release is its helm manifest again')
  assert.is(await registry.ociManifests.get('charts/hello', index.digest), undefined, 'the index went with the second format')
  await registry.delete('charts/hello', '1.0.0', 'helm')
  assert.equal((await registry.ociManifests.tags('charts/hello')).items, ['2.0.0'])
  await registry.channels.add('charts/hello', 'stable', '2.0.0')
  await registry.channels.delete('charts/hello', 'stable')
  assert.equal((await registry.ociManifests.tags('charts/hello')).items, ['2.0.0'])
})

test('an appr delete takes its whole OCI view with it: nothing is left', async () => {
  const { registry } = setup()
  await registry.push({ package: 'charts/hello', release: '1.0.0', format: 'helm', blob: chart })
  await registry.channels.add('charts/hello', 'stable', '1.0.0')
  await registry.delete('charts/hello', '1.0.0', 'helm')
  assert.equal((await registry.ociManifests.catalog()).items, [])
  assert.equal(await ociKeys(registry), [])
  assert.is(await objects(registry), 0)
})

const enc = new TextEncoder()
async function upload(registry: Registry, repo: string, bytes: Uint8Array) {
  const { id } = await registry.ociBlobs.startUpload(repo)
  return registry.ociBlobs.finishUpload(repo, id, ociDigestOf(bytes), (async function* () {
    yield bytes
  })())
}
function image(config: { digest: string; size: number }, layer: { digest: string; size: number }): Uint8Array {
  return enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }] }))
}

test('gc: untagged manifests and blobs nothing names stay for the grace period, then go; what a tag reaches stays', async () => {
  const { registry, advance } = setup({ graceMs: 60_000 })
  const config = await upload(registry, 'lib/app', enc.encode('{"os":"linux"}'))
  const kept = await upload(registry, 'lib/app', enc.encode('layer kept'))
  const dropped = await upload(registry, 'lib/app', enc.encode('layer dropped'))
  const stray = await upload(registry, 'lib/app', enc.encode('never named'))
  const tagged = image(config, kept)
  const untagged = image(config, dropped)
  await registry.ociManifests.put('lib/app', 'v1', tagged)
  await registry.ociManifests.put('lib/app', ociDigestOf(untagged), untagged)
  advance(59_000)
  assert.equal(await registry.gc(), { deletedBlobs: 0 }, 'within the grace period')
  assert.ok(await registry.ociBlobs.head('lib/app', stray.digest))
  advance(1_000)
  assert.equal(await registry.gc(), { deletedBlobs: 1, deletedManifests: 1 }, 'the untagged manifest and the stray blob')
  assert.is(await registry.ociManifests.get('lib/app', ociDigestOf(untagged)), undefined)
  assert.is(await registry.ociBlobs.head('lib/app', stray.digest), undefined)
  // The untagged manifest's own layer became free only now: it has a grace period of its own.
  assert.ok(await registry.ociBlobs.head('lib/app', dropped.digest))
  advance(60_000)
  await registry.gc()
  assert.is(await registry.ociBlobs.head('lib/app', dropped.digest), undefined)
  for (const d of [config.digest, kept.digest]) assert.ok(await registry.ociBlobs.head('lib/app', d), 'the tagged manifest keeps its blobs')
  assert.ok(await registry.ociManifests.get('lib/app', 'v1'))
  // Untagging frees the manifest, and later its blobs.
  await registry.ociManifests.delete('lib/app', 'v1')
  advance(60_000)
  await registry.gc()
  advance(60_000)
  await registry.gc()
  assert.equal(await ociKeys(registry), [])
  assert.is(await objects(registry), 0)
})

test.run()
