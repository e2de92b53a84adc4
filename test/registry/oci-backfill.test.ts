// Registry.ociBackfill: releases whose OCI view is absent (stored before the view existed; here,
// pushed and then stripped of every oci/ key) get exactly the view their pushes wrote, one commit
// per release; the appr records are not touched; a second run writes nothing; `after` resumes;
// and pushes, deletes and channel changes racing a run leave views that agree. On memory and
// level, and on Redis and etcd when their servers can be started.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, type KvStore, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { inspectArchive } from 'appr-core/archive'
import { helmAnnotations, helmChartManifest, helmChartMetadata, helmConfigBytes, OCI_INDEX, OCI_MANIFEST, ociDigestOf, projectRelease } from 'appr-core/oci'
import { ociUpload, snapshot, tgz } from './helpers.js'
import { assertAgree } from './oci-agree.js'
import { type StoreBackend, storeBackends } from './store-backends.js'

const fixtures = new URL('../fixtures/', import.meta.url).pathname
const chart = new Uint8Array(readFileSync(join(fixtures, 'hello-0.1.0+b1.tgz')))
const chart2 = await tgz({ 'hello/Chart.yaml': 'apiVersion: v2\nname: hello\nversion: 1.1.0\ndescription: second\n' })
const kpm = await tgz({ 'manifest.yaml': 'name: app\n' })
const NOW = new Date('2026-01-01T00:00:00Z')

/** Every oci/ key with its value, as JSON. */
async function ociRecords(store: KvStore): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>()
  for (const e of await store.list({ prefix: 'oci/' })) out.set(e.key, JSON.parse(new TextDecoder().decode(e.value)))
  return out
}

/** What a store written before the OCI view existed looks like: no oci/ key at all. */
async function dropViews(store: KvStore): Promise<void> {
  const all = (await store.list({ prefix: 'oci/' })).map((e) => e.key)
  for (let i = 0; i < all.length; i += 50) await store.commit({ deletes: all.slice(i, i + 50) })
}

const apprKeys = async (store: KvStore) => (await snapshot(store)).filter((k) => !k.startsWith('oci/'))

/** Two packages with OCI names (one release of two formats, a channel), one without. */
async function populate(registry: Registry): Promise<void> {
  await registry.push({ package: 'acme/app', release: '1.0.0', format: 'helm', blob: chart })
  await registry.push({ package: 'acme/app', release: '1.0.0', format: 'kpm', blob: kpm })
  await registry.push({ package: 'acme/app', release: '1.1.0+b1', format: 'helm', blob: chart2 })
  await registry.channels.add('acme/app', 'stable', '1.1.0+b1')
  await registry.push({ package: 'acme/web', release: '2.0.0', format: 'kpm', blob: kpm })
  await registry.push({ package: 'acme/a..b', release: '1.0.0', format: 'kpm', blob: kpm })
}

const { backends, stop } = await storeBackends('oci backfill')

async function withRegistry(backend: StoreBackend, run: (registry: Registry, store: KvStore) => Promise<void>): Promise<void> {
  const { store, cleanup } = await backend.open()
  const registry = new Registry({ store, clock: () => NOW })
  try {
    await run(registry, store)
  } finally {
    await registry.close()
    await cleanup()
  }
}

for (const backend of backends) {
  test(`${backend.name}: releases without an OCI view get the very records their pushes wrote; the appr records are untouched; a second run writes nothing`, async () => {
    await withRegistry(backend, async (registry, store) => {
      await populate(registry)
      const pushed = await ociRecords(store)
      await dropViews(store)
      assert.equal((await registry.ociManifests.catalog()).items, [])
      const appr = await apprKeys(store)

      const result = await registry.ociBackfill()
      assert.equal(result, { packages: 3, releases: 3, formats: 4, shown: 0, notOci: 1 })
      assert.equal(await ociRecords(store), pushed, 'the same oci/ records, value for value')
      assert.equal(await apprKeys(store), appr, 'no appr record written')
      await assertAgree(registry, store)
      // The digests are projectRelease's for each release, with each format's created_at.
      const chartYaml = (await inspectArchive(chart)).manifest?.document
      const blob = (b: Uint8Array) => ({ digest: ociDigestOf(b), size: b.byteLength })
      const projected = projectRelease({ package: 'acme/app', release: '1.0.0', created: NOW.toISOString(), formats: [{ format: 'helm', blob: blob(chart), chartYaml }, { format: 'kpm', blob: blob(kpm) }] })
      assert.is((await registry.ociManifests.head('acme/app', '1.0.0'))?.digest, projected.manifest.digest)
      assert.is((await registry.ociManifests.head('acme/app', 'stable'))?.digest, (await registry.ociManifests.head('acme/app', '1.1.0_b1'))?.digest)

      const all = await snapshot(store)
      assert.equal(await registry.ociBackfill(), { packages: 3, releases: 0, formats: 0, shown: 3, notOci: 1 })
      assert.equal(await snapshot(store), all, 'not one key changed')
    })
  })
}

test('memory: `after` starts past a package, and progress names the last one read', async () => {
  await withRegistry(backends[0]!, async (registry, store) => {
    await populate(registry)
    await dropViews(store)
    const seen: string[] = []
    const rest = await registry.ociBackfill({ after: 'acme/app', onProgress: (p) => seen.push(`${p.last} ${p.releases}`) })
    assert.equal(rest, { packages: 1, releases: 1, formats: 1, shown: 0, notOci: 0 })
    assert.equal(seen, ['acme/web 1'])
    assert.equal((await registry.ociManifests.catalog()).items, ['acme/web'])
    assert.equal((await registry.ociBackfill()).releases, 2, 'the releases before it, on a run from the start')
    await assertAgree(registry, store)
  })
})

test('memory: a format the view shows already (a chart a /v2/ client pushed) keeps its bytes; a release whose view lacks a format gets it', async () => {
  await withRegistry(backends[0]!, async (registry, store) => {
    await populate(registry)
    await dropViews(store)
    // Pushed after the views went: a client's chart (its own bytes), and a kpm format added to a
    // release whose helm format has no view (the push shows kpm alone at the tag).
    const chartYaml = (await inspectArchive(chart)).manifest?.document
    const config = helmConfigBytes(chartYaml)
    for (const bytes of [config, chart]) await ociUpload(registry, 'acme/app', bytes)
    const client = helmChartManifest({ digest: ociDigestOf(config), size: config.byteLength }, { digest: ociDigestOf(chart), size: chart.byteLength }, helmAnnotations(helmChartMetadata(chartYaml), '2020-01-01T00:00:00Z'))
    await registry.ociManifests.put('acme/app', '5.0.0', client.bytes, OCI_MANIFEST)
    await registry.push({ package: 'acme/app', release: '1.1.0+b1', format: 'kpm', blob: kpm })
    assert.is((await registry.ociManifests.head('acme/app', '1.1.0_b1'))?.mediaType, OCI_MANIFEST, 'kpm alone')

    const result = await registry.ociBackfill()
    assert.equal([result.releases, result.formats, result.shown], [3, 4, 1], '1.0.0 (two formats), helm of 1.1.0+b1, acme/web; 5.0.0 shown')
    assert.is((await registry.ociManifests.head('acme/app', '1.1.0_b1'))?.mediaType, OCI_INDEX, 'both formats')
    assert.equal(await registry.ociManifests.get('acme/app', '5.0.0'), { digest: client.digest, mediaType: OCI_MANIFEST, bytes: client.bytes }, "the client's bytes")
    await assertAgree(registry, store)
  })
})

test('memory: a store whose commits cannot hold a whole release (maxOpsPerCommit) is backfilled one format a commit, to the same records', async () => {
  // Each push of one more format fits (about 40 operations for the fifth), the five formats' backfill does not.
  const store = memoryStore({ limits: { maxOpsPerCommit: 45 } })
  const registry = new Registry({ store, clock: () => NOW })
  try {
    const formats = ['helm', 'kpm', 'docker-compose', 'appr', 'extra']
    for (const format of formats) await registry.push({ package: 'acme/app', release: '1.0.0', format, blob: format === 'helm' ? chart : kpm })
    const pushed = await ociRecords(store)
    await dropViews(store)
    let commits = 0
    const commit: KvStore['commit'] = async (c) => {
      const result = await store.commit(c)
      if (result.ok) commits++
      return result
    }
    const counted = new Registry({ store: { ...store, name: store.name, capabilities: store.capabilities, commit }, clock: () => NOW })
    assert.equal(await counted.ociBackfill(), { packages: 1, releases: 1, formats: 5, shown: 0, notOci: 0 })
    assert.is(commits, 5, 'one commit a format')
    assert.equal(await ociRecords(store), pushed)
    await counted.close()
  } finally {
    await registry.close()
  }
})

for (const backend of backends.slice(0, 2)) {
  test(`${backend.name}: pushes, deletes and channel changes racing a backfill leave views that agree`, async () => {
    await withRegistry(backend, async (registry, store) => {
      for (let i = 0; i < 6; i++) {
        await registry.push({ package: `acme/p${i}`, release: '1.0.0', format: 'helm', blob: chart })
        await registry.push({ package: `acme/p${i}`, release: '2.0.0', format: 'kpm', blob: kpm })
      }
      await dropViews(store)
      const other = new Registry({ store, clock: () => NOW })
      const racing = async (i: number): Promise<void> => {
        const pkg = `acme/p${i}`
        await other.push({ package: pkg, release: '1.0.0', format: 'kpm', blob: kpm }).catch(ignoreExists)
        await other.channels.add(pkg, 'stable', '2.0.0')
        if (i % 2 === 0) await other.delete(pkg, '2.0.0', 'kpm')
        await other.push({ package: pkg, release: '3.0.0', format: 'helm', blob: chart2 })
      }
      await Promise.all([registry.ociBackfill(), ...Array.from({ length: 6 }, (_, i) => racing(i))])
      // A format pushed to a release the run had passed is shown alone until the next run.
      await registry.ociBackfill()
      await assertAgree(registry, store)
      assert.equal((await registry.ociBackfill()).releases, 0)
      await other.close()
    })
  })
}

function ignoreExists(error: unknown): void {
  if (!isApprError(error, 'package-exists')) throw error
}

test.after(stop)

test.run()
