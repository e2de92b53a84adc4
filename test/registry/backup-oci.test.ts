/**
 * Streamed backups carry OCI content: images (config + layers), an index of two images, a
 * referrer, an untagged manifest, a client's tags on an appr package's repository, a Helm chart
 * pushed through `/v2/` (an appr release whose view is the client's bytes) and appr releases with
 * channels. backupStream → restoreStream into an empty store gives every tag, manifest (bytes,
 * digest, media type), blob and release back with true reference counts; a second restore writes
 * nothing; a restore cut anywhere (mid-blob too) then run in full converges; an 8 MiB blob is
 * restored without the whole of it in memory. On memory and level, and Redis when it starts.
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type BlobStore, fromNdjson, type KvStore, Registry, toNdjson } from 'appr-core'
import { fileBlobStore, levelStore } from 'appr-core/adapters/level'
import { memoryStore } from 'appr-core/adapters/memory'
import { redisStore } from 'appr-core/adapters/redis'
import { inspectArchive } from 'appr-core/archive'
import { helmAnnotations, helmChartManifest, helmChartMetadata, helmConfigBytes, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, ociDigestOf } from 'appr-core/oci'
import { startRedis } from '../helpers/servers.js'
import { backupText, collect, ociUpload, snapshot, sortedBackup, textChunks, tgz } from './helpers.js'
import { assertAgree } from './oci-agree.js'

const enc = new TextEncoder()
const START = Date.parse('2026-03-01T00:00:00Z')
const json = (value: unknown) => enc.encode(JSON.stringify(value))
const descriptor = (mediaType: string, bytes: Uint8Array) => ({ mediaType, digest: ociDigestOf(bytes), size: bytes.byteLength })

/** Pushes an image (its config and layers first) to `repo` at `tag` (or by digest); answers its manifest bytes. */
async function pushImage(registry: Registry, repo: string, tag: string | undefined, layers: Uint8Array[], extra: Record<string, unknown> = {}): Promise<Uint8Array> {
  const config = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map(ociDigestOf) } })
  for (const b of [config, ...layers]) await ociUpload(registry, repo, b)
  const bytes = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(OCI_CONFIG, config), layers: layers.map((l) => descriptor(OCI_LAYER_GZIP, l)), ...extra })
  await registry.ociManifests.put(repo, tag ?? ociDigestOf(bytes), bytes, OCI_MANIFEST)
  return bytes
}

/** Everything the backup must bring back. */
async function populate(registry: Registry, big?: Uint8Array): Promise<void> {
  const chart = await tgz({ 'web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n' })
  await registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: chart, metadata: { team: 'a' } })
  await registry.push({ package: 'acme/web', release: '1.0.0', format: 'kpm', blob: await tgz({ 'manifest.yaml': 'name: web\n' }) })
  await registry.push({ package: 'acme/web', release: '2.0.0', format: 'helm', blob: await tgz({ 'web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 2.0.0\n' }) })
  await registry.channels.add('acme/web', 'stable', '1.0.0')
  await registry.channels.add('acme/web', 'beta', '2.0.0')

  // Images and an index of two of them; a layer shared by both, and by a repository nested under another.
  const shared = enc.encode('shared layer bytes')
  const a = await pushImage(registry, 'library/app', 'v1', [shared, enc.encode('layer a')])
  const b = await pushImage(registry, 'library/app', 'v2', [shared, enc.encode('layer b')])
  const index = json({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      { ...descriptor(OCI_MANIFEST, a), platform: { architecture: 'amd64', os: 'linux' } },
      { ...descriptor(OCI_MANIFEST, b), platform: { architecture: 'arm64', os: 'linux' } },
    ],
  })
  await registry.ociManifests.put('library/app', 'multi', index, OCI_INDEX)
  await registry.ociManifests.put('library/app', 'latest', index, OCI_INDEX)
  await pushImage(registry, 'mirror/library/app', 'v1', [shared, enc.encode('mirror layer')])
  // An index of indexes (restored after the index it names), and an image whose layer a client
  // deleted under it (as CNCF distribution allows: restored without it, as it is).
  const nested = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor(OCI_INDEX, index), descriptor(OCI_MANIFEST, a)] })
  await registry.ociManifests.put('library/app', 'nested', nested, OCI_INDEX)
  const lost = enc.encode('a layer deleted under its image')
  await pushImage(registry, 'library/app', 'broken', [lost])
  await registry.ociBlobs.delete('library/app', ociDigestOf(lost))
  // A referrer of image a, and an image pushed by digest that nothing names yet.
  await pushImage(registry, 'library/app', undefined, [enc.encode('signature')], { artifactType: 'application/vnd.example.sig', subject: descriptor(OCI_MANIFEST, a) })
  await pushImage(registry, 'library/app', undefined, [enc.encode('untagged')])
  if (big) await pushImage(registry, 'library/big', 'v1', [big])

  // A client's tags in an appr package's repository: one on the release's index, one on an image
  // whose empty config an appr view's manifest also names... and one that takes a channel's name.
  const web = await registry.ociManifests.get('acme/web', '1.0.0')
  await registry.ociManifests.put('acme/web', 'latest', web!.bytes, web!.mediaType)
  await pushImage(registry, 'acme/web', 'sidecar', [enc.encode('sidecar layer')])
  await pushImage(registry, 'acme/web', 'edge', [enc.encode('edge layer')])
  await registry.channels.add('acme/web', 'edge', '2.0.0')

  // A release's projected manifest kept by a client's tag after the release is deleted: not made again by a restore, so carried.
  await registry.push({ package: 'acme/old', release: '1.0.0', format: 'kpm', blob: await tgz({ 'manifest.yaml': 'name: old\n' }) })
  const old = await registry.ociManifests.get('acme/old', '1.0.0')
  await registry.ociManifests.put('acme/old', 'keep', old!.bytes, old!.mediaType)
  await registry.delete('acme/old', '1.0.0', 'kpm')

  // A Helm chart as `helm push` writes it: an appr release whose OCI view is these exact bytes.
  const pushed = await tgz({ 'hello/Chart.yaml': 'apiVersion: v2\nname: hello\nversion: 0.3.0\ndescription: pushed through /v2/\n' })
  const chartYaml = (await inspectArchive(pushed)).manifest?.document
  const config = helmConfigBytes(chartYaml)
  await ociUpload(registry, 'acme/hello', config)
  await ociUpload(registry, 'acme/hello', pushed)
  const m = helmChartManifest(descriptor('', config), descriptor('', pushed), helmAnnotations(helmChartMetadata(chartYaml), '2025-01-01T00:00:00Z'))
  await registry.ociManifests.put('acme/hello', '0.3.0', m.bytes, OCI_MANIFEST)
  await registry.channels.add('acme/hello', 'stable', '0.3.0')
}

/**
 * What both views serve, and the OCI records without what differs by nature between two stores
 * (BlobStore ids, times: `free_at` kept as whether it is set): every repository's tags and
 * manifests (digest, media type, bytes), every blob's bytes, every count.
 */
async function observed(registry: Registry, store: KvStore): Promise<unknown> {
  const records: Record<string, unknown> = {}
  for (const e of await store.list({ prefix: 'oci/' })) {
    assert.not.ok(e.key.startsWith('oci/upload/'), `no upload session is left: ${e.key}`)
    const { object: _o, inline: _i, created_at: _c, free_at, uploaded_at: _u, pushed_at: _p, appr, ...rest } = JSON.parse(new TextDecoder().decode(e.value)) as Record<string, unknown>
    // A blob record's appr digest matters while that appr blob exists (its object is shared); the
    // blob of a deleted release keeps it, inert, and its restored copy has none.
    const shared = typeof appr !== 'string' || (await store.get(`blob/${appr}`)) !== undefined
    records[e.key] = { ...rest, ...(free_at !== undefined && { free: true }), ...(appr !== undefined && shared && { appr }) }
  }
  const served: Record<string, unknown> = {}
  for (const repo of (await registry.ociManifests.catalog()).items) {
    for (const tag of (await registry.ociManifests.tags(repo)).items) {
      const m = await registry.ociManifests.get(repo, tag)
      served[`${repo}:${tag}`] = { digest: m!.digest, mediaType: m!.mediaType, bytes: Buffer.from(m!.bytes).toString('base64') }
    }
    for (const key of Object.keys(records)) {
      if (!key.startsWith(`oci/link/${repo}@`)) continue
      const digest = `sha256:${key.slice(key.lastIndexOf('@') + 1)}`
      const blob = await registry.ociBlobs.get(repo, digest)
      assert.is(ociDigestOf(await collect(blob!.stream)), digest, `${repo} serves ${digest} with its bytes`)
    }
  }
  return { records, served, appr: sortedBackup(await registry.backup()) }
}

interface Backend {
  readonly name: string
  open(): Promise<{ store: KvStore; blobs?: BlobStore; cleanup(): Promise<void> }>
}
const temp = (): string => mkdtempSync(join(tmpdir(), 'appr-backup-oci-'))
const backends: Backend[] = [
  { name: 'memory', open: async () => ({ store: memoryStore(), cleanup: async () => undefined }) },
  {
    name: 'level',
    async open() {
      const dir = temp()
      return { store: levelStore({ path: join(dir, 'kv') }), blobs: fileBlobStore({ path: join(dir, 'blobs') }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
    },
  },
]
let unique = 0
const redis = await startRedis({ suite: 'OCI backups on redis' })
if (redis) backends.push({ name: 'redis', open: async () => ({ store: redisStore({ url: redis.url, prefix: `bo${process.pid}-${++unique}` }), cleanup: async () => undefined }) })

/** A registry on a fresh store of `backend`, its clock advanced by `tick`. */
async function registryOn(backend: Backend) {
  const opened = await backend.open()
  let now = START
  const registry = new Registry({ store: opened.store, ...(opened.blobs && { blobs: opened.blobs }), clock: () => new Date(now) })
  return {
    registry,
    store: opened.store,
    tick: () => {
      now += 1000
    },
    close: async () => {
      await registry.close()
      await opened.cleanup()
    },
  }
}

type Line = { kind: string; [k: string]: unknown }

for (const backend of backends) {
  test(`${backend.name}: OCI content round-trips; a second restore writes nothing`, async () => {
    const from = await registryOn(backend)
    const to = await registryOn(backend)
    try {
      await populate(from.registry)
      const text = await backupText(from.registry)
      const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Line)
      assert.equal(lines[0]!.version, 2)
      const kinds = (k: string) => lines.filter((l) => l.kind === k)
      assert.equal(lines.at(-1), {
        kind: 'end',
        packages: 2,
        releases: kinds('release').length,
        channels: kinds('channel').length,
        repositories: 5,
        manifests: kinds('oci-manifest').length,
        tags: kinds('oci-tag').length,
        blobs: kinds('oci-blob').length,
      })
      // Client tags only: releases' and channels' tags come back with them.
      assert.equal(kinds('oci-tag').map((l) => `${l.repository}:${l.tag}`).sort(), ['acme/old:keep', 'acme/web:edge', 'acme/web:latest', 'acme/web:sidecar', 'library/app:broken', 'library/app:latest', 'library/app:multi', 'library/app:nested', 'library/app:v1', 'library/app:v2', 'mirror/library/app:v1'])
      // The layer two repositories share is carried once; appr blobs are not carried again.
      const shared = kinds('oci-blob').filter((l) => l.digest === ociDigestOf(enc.encode('shared layer bytes')))
      assert.equal(shared.map((l) => [l.repository, l.from]), [['library/app', undefined], ['mirror/library/app', 'earlier']])
      assert.ok(kinds('oci-blob').some((l) => l.from === 'appr'))

      const progress = await to.registry.restoreStream(fromNdjson(textChunks(text, 4093)))
      assert.is(progress.tags, kinds('oci-tag').length)
      assert.ok(progress.manifests > 0 && progress.blobs > 0, JSON.stringify(progress))
      assert.equal(await observed(to.registry, to.store), await observed(from.registry, from.store))
      await assertAgree(to.registry, to.store)
      // The chart pushed through /v2/ keeps its manifest (not the projection of its release).
      assert.equal((await to.registry.ociManifests.head('acme/hello', 'stable'))?.digest, (await from.registry.ociManifests.head('acme/hello', '0.3.0'))?.digest)
      assert.equal(await to.registry.ociManifests.referrers('library/app', ociDigestOf((await from.registry.ociManifests.get('library/app', 'v1'))!.bytes)), await from.registry.ociManifests.referrers('library/app', ociDigestOf((await from.registry.ociManifests.get('library/app', 'v1'))!.bytes)))

      const before = await snapshot(to.store)
      to.tick()
      const again = await to.registry.restoreStream(fromNdjson(textChunks(text, 4093)))
      assert.equal([again.releases, again.channels, again.manifests, again.tags, again.blobs, again.bytes], [0, 0, 0, 0, 0, 0])
      assert.equal(await snapshot(to.store), before, 'the second restore wrote nothing')
    } finally {
      await from.close()
      await to.close()
    }
  })
}

test('memory: a restore cut anywhere (mid-blob too), then run in full, ends as one full restore', async () => {
  const from = await registryOn(backends[0]!)
  const whole = await registryOn(backends[0]!)
  try {
    await populate(from.registry, new Uint8Array(3 * 1024 * 1024 + 5).fill(7))
    const text = await backupText(from.registry)
    const records = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Line)
    await whole.registry.restoreStream(records)
    const expected = await observed(whole.registry, whole.store)
    const objects = (await whole.store.list({ prefix: 'obj/' })).length
    const firstOci = records.findIndex((r) => r.kind.startsWith('oci-'))
    const midBlob = records.findIndex((r, i) => r.kind === 'oci-chunk' && records[i + 1]?.kind === 'oci-chunk') + 1
    const cuts = [3, firstOci + 1, midBlob, records.findIndex((r) => r.kind === 'oci-tag') + 1, records.length - 1]
    for (const cut of cuts) {
      const to = await registryOn(backends[0]!)
      try {
        async function* aborted(): AsyncGenerator<unknown> {
          yield* records.slice(0, cut)
          throw new Error('connection lost')
        }
        try {
          await to.registry.restoreStream(aborted())
          assert.unreachable('the restore fails')
        } catch (error) {
          assert.match((error as Error).message, 'connection lost', `cut at ${cut}`)
        }
        await to.registry.restoreStream(records)
        assert.equal(await observed(to.registry, to.store), expected, `cut at record ${cut} of ${records.length}`)
        // The upload the cut interrupted left no object behind (gc would find nothing to reclaim).
        const markers = (await to.store.list({ prefix: 'obj/' })).map((e) => (JSON.parse(new TextDecoder().decode(e.value)) as { state: string }).state)
        assert.equal([...new Set(markers)], ['live'], `cut at record ${cut}: objects ${markers.join(', ')}`)
        assert.is(markers.length, objects, `cut at record ${cut}: as many stored objects as one whole restore makes`)
        await assertAgree(to.registry, to.store)
      } finally {
        await to.close()
      }
    }
  } finally {
    await from.close()
    await whole.close()
  }
})

test('version 1 backups (appr records only) still restore; bad OCI records are refused naming them', async () => {
  const from = await registryOn(backends[0]!)
  try {
    await populate(from.registry)
    const records = (await backupText(from.registry)).trimEnd().split('\n').map((l) => JSON.parse(l) as Line)
    const v1 = records.filter((r) => r.kind === 'release' || r.kind === 'channel')
    const to = await registryOn(backends[0]!)
    const done = await to.registry.restoreStream([{ ...records[0], version: 1 }, ...v1, { kind: 'end', packages: 2, releases: 0, channels: 0 }])
    assert.is(done.releases, v1.filter((r) => r.kind === 'release').length)
    assert.equal(sortedBackup(await to.registry.backup()), sortedBackup(await from.registry.backup()))
    await to.close()

    const refused = async (list: unknown[], message: string) => {
      const target = await registryOn(backends[0]!)
      try {
        await target.registry.restoreStream(list)
        assert.unreachable(message)
      } catch (error) {
        assert.is((error as { code?: string }).code, 'invalid-parameters', String(error))
        assert.match((error as Error).message, message, (error as Error).message)
        assert.equal((await target.store.list({ prefix: 'oci/upload/' })).length, 0, 'no upload session is left')
      } finally {
        await target.close()
      }
    }
    const chunk = records.findIndex((r) => r.kind === 'oci-chunk')
    await refused([records[0], records[chunk]], 'backup record 2: an oci-chunk record that follows no oci-blob')
    await refused([...records.slice(0, chunk), { kind: 'oci-tag', repository: 'library/app', tag: 'v1', digest: 'sha256:x' }], `backup record ${chunk + 1}`)
    const blob = records[chunk - 1]!
    await refused([records[0], { ...blob, size: 1 }, records[chunk]], 'more bytes than its size')
    await refused([records[0], blob], 'ends inside the blob of record 2')
    // A chunk whose bytes are not the blob's: the digest check refuses it, in appr's terms, and cancels the upload.
    const image = records.findIndex((r, i) => r.kind === 'oci-chunk' && records[i - 1]!.repository === 'library/app')
    const tampered = records.slice(0, image + 1)
    tampered[image] = { kind: 'oci-chunk', data: Buffer.from(Buffer.from(String(records[image]!.data), 'base64').map((b) => b ^ 1)).toString('base64') }
    await refused(tampered, `backup record ${image}: the uploaded bytes have digest`)
    const manifest = records.find((r) => r.kind === 'oci-manifest' && r.repository === 'acme/web' && r.appr === undefined)!
    await refused([records[0], { ...manifest, digest: `sha256:${'0'.repeat(64)}` }], 'not sha256:0000')
  } finally {
    await from.close()
  }
})

setFlagsFromString('--expose-gc')
const fullGc = runInNewContext('gc') as () => void
const liveBytes = () => {
  for (let i = 0; i < 3; i++) fullGc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

test('level: an 8 MiB blob goes through an NDJSON file and back without the whole of it in memory', async () => {
  const size = 8 * 1024 * 1024
  const from = await registryOn(backends[1]!)
  const to = await registryOn(backends[1]!)
  const dir = temp()
  try {
    const big = new Uint8Array(size)
    for (let i = 0; i < size; i += 4096) big[i] = (i / 4096) % 251
    const digest = ociDigestOf(big)
    await pushImage(from.registry, 'library/big', 'v1', [big])
    const file = join(dir, 'backup.ndjson')
    const out = createWriteStream(file)
    for await (const line of toNdjson(from.registry.backupStream())) if (!out.write(line)) await once(out, 'drain')
    out.end()
    await once(out, 'close')
    const longest = Math.max(...readFileSync(file, 'utf8').split('\n').map((l) => l.length))
    assert.ok(longest < 1.5 * 1024 * 1024, `carried in chunks of 1 MiB (the longest line has ${longest} characters)`)

    const baseline = liveBytes()
    let peak = 0
    await to.registry.restoreStream(fromNdjson(createReadStream(file)), { onProgress: () => (peak = Math.max(peak, liveBytes() - baseline)) })
    console.log(`restore of an ${size / 1024 / 1024} MiB blob: at most ${(peak / 1024 / 1024).toFixed(1)} MiB more live memory`)
    assert.ok(peak < size, `restore held ${peak} bytes more at some record: no less than the whole blob`)
    const blob = await to.registry.ociBlobs.get('library/big', digest)
    assert.is(ociDigestOf(await collect(blob!.stream)), digest)
  } finally {
    await from.close()
    await to.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test.after(async () => {
  await redis?.stop()
})

test.run()
