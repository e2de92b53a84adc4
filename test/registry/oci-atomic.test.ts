// A release of several formats pushed through /v2/ as an index (what `skopeo copy --all` does:
// each format's manifest by digest, then the index at the tag) becomes all its formats in ONE
// commit, and a /v2/ DELETE of it (by tag or by the index digest) removes them all in ONE commit:
// a reader racing either never sees the release with some formats only, and a refusal of any
// entry (an archive appr rejects, a conflicting format) writes nothing. Each format still records
// its own event. On memory and level, and on Redis and etcd when their servers can be started.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, type KvCommit, type KvStore, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { inspectArchive } from 'appr-core/archive'
import { OCI_INDEX, OCI_MANIFEST, ociDigestOf, projectRelease } from 'appr-core/oci'
import { rejectsOci } from '../oci/helpers.js'
import { ociUpload, snapshot, tgz } from './helpers.js'
import { assertAgree } from './oci-agree.js'
import { type StoreBackend, storeBackends } from './store-backends.js'

const fixtures = new URL('../fixtures/', import.meta.url).pathname
const chart = new Uint8Array(readFileSync(join(fixtures, 'hello-0.1.0+b1.tgz')))
const kpm = await tgz({ 'manifest.yaml': 'name: app\n' })
const compose = await tgz({ 'docker-compose.yml': 'services: {}\n' })
const ARCHIVES: Record<string, Uint8Array> = { helm: chart, kpm, 'docker-compose': compose }
const REPO = 'acme/app'

/** A store whose commits are recorded, to count those that write appr manifests. */
function recording(store: KvStore): { store: KvStore; commits: KvCommit[] } {
  const commits: KvCommit[] = []
  return {
    commits,
    store: {
      name: store.name,
      capabilities: store.capabilities,
      get: (key) => store.get(key),
      getMany: (keys) => store.getMany(keys),
      list: (options) => store.list(options),
      async commit(commit) {
        const result = await store.commit(commit)
        if (result.ok) commits.push(commit)
        return result
      },
      close: () => store.close(),
    },
  }
}

const writesManifests = (c: KvCommit): boolean => [...(c.puts ?? []).map((p) => p.key), ...(c.deletes ?? [])].some((k) => k.startsWith('man/'))

/**
 * Stores a release's blobs and each format's manifest by digest, as a copy does before the index;
 * returns the index to PUT at the tag. `archives` overrides a format's layer bytes.
 */
async function stageIndex(registry: Registry, release: string, formats: readonly string[], archives: Record<string, Uint8Array> = ARCHIVES) {
  const inputs = await Promise.all(
    formats.map(async (format) => {
      const archive = archives[format]!
      const chartYaml = format === 'helm' ? (await inspectArchive(archive)).manifest?.document : undefined
      return { format, blob: { digest: ociDigestOf(archive), size: archive.byteLength }, ...(chartYaml === undefined ? {} : { chartYaml }) }
    }),
  )
  const projected = projectRelease({ package: REPO, release, created: '2025-06-01T10:00:00Z', formats: inputs })
  for (const f of projected.formats) {
    await ociUpload(registry, REPO, f.config.bytes)
    await ociUpload(registry, REPO, archives[f.format]!)
    await registry.ociManifests.put(REPO, f.manifest.digest, f.manifest.bytes, f.manifest.mediaType)
  }
  return projected
}

/** What a reader sees of `release`: how many formats through the appr API, and what the OCI tag names (two reads, so each on its own). */
async function seen(registry: Registry, release: string, tag: string): Promise<string[]> {
  let appr = 0
  try {
    appr = (await registry.manifests(REPO, release)).length
  } catch (error) {
    if (!isApprError(error) || !['package-not-found', 'package-release-not-found'].includes(error.code)) throw error
  }
  return [`appr ${appr}`, `oci ${(await registry.ociManifests.head(REPO, tag))?.digest ?? 'none'}`]
}

/** Runs `write` while `readers` read in a loop; returns everything they saw (each reads at least once after the write). */
async function race(registry: Registry, release: string, tag: string, readers: number, write: () => Promise<unknown>): Promise<Set<string>> {
  const views = new Set<string>()
  let done = false
  const read = async (): Promise<void> => {
    for (let last = false; !last; ) {
      last = done
      for (const view of await seen(registry, release, tag)) views.add(view)
      // A store answering from memory resolves at once: let the writer's timers run too.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  const reading = Array.from({ length: readers }, read)
  await write().finally(() => {
    done = true
  })
  await Promise.all(reading)
  return views
}

const { backends, stop } = await storeBackends('oci atomic releases')

async function withRegistry(backend: StoreBackend, run: (registry: Registry, commits: KvCommit[], store: KvStore) => Promise<void>): Promise<void> {
  const { store, cleanup } = await backend.open()
  const recorded = recording(store)
  const registry = new Registry({ store: recorded.store, events: true })
  try {
    await run(registry, recorded.commits, store)
  } finally {
    await registry.close()
    await cleanup()
  }
}

const FORMATS = ['helm', 'kpm', 'docker-compose'] as const

for (const backend of backends) {
  test(`${backend.name}: an index PUT is every format in one commit, each with its event; a DELETE by tag or by the index digest removes them in one commit`, async () => {
    await withRegistry(backend, async (registry, commits) => {
      const projected = await stageIndex(registry, '1.0.0', FORMATS)
      commits.length = 0
      const put = await registry.ociManifests.put(REPO, projected.tag, projected.manifest.bytes, OCI_INDEX)
      assert.is(put.digest, projected.manifest.digest)
      assert.is(commits.filter(writesManifests).length, 1, 'one commit records the release')
      assert.equal((await registry.manifests(REPO, '1.0.0')).map((m) => m.content.digest).length, 3)
      assert.is((await registry.ociManifests.head(REPO, '1.0.0'))?.digest, projected.manifest.digest, 'the tag names the pushed index')
      const pushed = (await registry.events.read()).events.filter((e) => e.type === 'release.pushed')
      assert.equal(pushed.map((e) => (e as { format: string }).format).sort(), [...FORMATS].sort(), 'one event per format')

      commits.length = 0
      assert.ok(await registry.ociManifests.delete(REPO, '1.0.0'))
      assert.is(commits.filter(writesManifests).length, 1, 'one commit deletes the release')
      assert.is(await registry.ociManifests.head(REPO, '1.0.0'), undefined)
      const page = await registry.events.read()
      const deleted = page.events.filter((e) => e.type === 'release.deleted') as { format: string; releaseGone: boolean; packageGone: boolean }[]
      assert.equal(deleted.map((e) => e.format).sort(), [...FORMATS].sort(), 'one event per format')
      assert.equal(deleted.map((e) => [e.releaseGone, e.packageGone]), [[false, false], [false, false], [true, true]], 'the last format takes the release and the package')

      // Again, deleted by the index digest this time.
      const again = await stageIndex(registry, '1.0.0', FORMATS)
      await registry.ociManifests.put(REPO, again.tag, again.manifest.bytes, OCI_INDEX)
      commits.length = 0
      assert.ok(await registry.ociManifests.delete(REPO, again.manifest.digest))
      assert.is(commits.filter(writesManifests).length, 1, 'one commit deletes the release')
      assert.equal((await registry.list()).packages, [])
      assert.is(await registry.ociManifests.get(REPO, again.manifest.digest), undefined)
    })
  })

  test(`${backend.name}: readers racing an index PUT and its DELETE see the whole release or none of it`, async () => {
    await withRegistry(backend, async (registry) => {
      for (let round = 0; round < 3; round++) {
        const projected = await stageIndex(registry, '2.0.0', FORMATS)
        const whole = ['appr 0', 'appr 3', 'oci none', `oci ${projected.manifest.digest}`]
        const onPut = await race(registry, '2.0.0', projected.tag, 8, () => registry.ociManifests.put(REPO, projected.tag, projected.manifest.bytes, OCI_INDEX))
        assert.ok([...onPut].every((v) => whole.includes(v)), `during the PUT: all three formats at the index, or none (saw ${[...onPut]})`)
        assert.ok(onPut.has('appr 3') && onPut.has(`oci ${projected.manifest.digest}`), 'the release is there after the PUT')
        const reference = round === 1 ? projected.manifest.digest : projected.tag
        const onDelete = await race(registry, '2.0.0', projected.tag, 8, () => registry.ociManifests.delete(REPO, reference))
        assert.ok([...onDelete].every((v) => whole.includes(v)), `during the DELETE: all or none (saw ${[...onDelete]})`)
        assert.ok(onDelete.has('appr 0') && onDelete.has('oci none'), 'the release is gone after the DELETE')
      }
    })
  })
}

test('memory: an index whose second entry is an archive appr rejects writes nothing, and neither does one whose second format conflicts', async () => {
  await withRegistry(backends[0]!, async (registry, _commits, store) => {
    const bad = new TextEncoder().encode('not a gzip')
    const projected = await stageIndex(registry, '1.0.0', ['helm', 'kpm'], { ...ARCHIVES, kpm: bad })
    const before = await snapshot(store)
    await rejectsOci(registry.ociManifests.put(REPO, projected.tag, projected.manifest.bytes, OCI_INDEX), 'MANIFEST_INVALID', 400)
    assert.equal(await snapshot(store), before, 'not one key changed')
    assert.equal((await registry.list()).packages, [])

    // The release has kpm with other bytes: the index is refused, and its helm format is not added.
    const other = await tgz({ 'manifest.yaml': 'name: other\n' })
    await registry.push({ package: REPO, release: '3.0.0', format: 'kpm', blob: other })
    const conflicting = await stageIndex(registry, '3.0.0', ['helm', 'kpm'])
    const held = await snapshot(store)
    await rejectsOci(registry.ociManifests.put(REPO, conflicting.tag, conflicting.manifest.bytes, OCI_INDEX), 'DENIED', 403)
    assert.equal(await snapshot(store), held, 'not one key changed')
    assert.equal((await registry.manifests(REPO, '3.0.0')).map((m) => m.mediaType), ['application/vnd.appr.package-manifest.kpm.v0.json'])
  })
})

test('memory: an index of formats the release partly has adds only the others, in one commit; the same index again changes nothing', async () => {
  await withRegistry(backends[0]!, async (registry, commits, store) => {
    const projected = await stageIndex(registry, '1.0.0', FORMATS)
    // The kpm format first, alone, as its own manifest at the tag.
    const kpmManifest = projected.formats.find((f) => f.format === 'kpm')!.manifest
    await registry.ociManifests.put(REPO, projected.tag, kpmManifest.bytes, OCI_MANIFEST)
    commits.length = 0
    await registry.ociManifests.put(REPO, projected.tag, projected.manifest.bytes, OCI_INDEX)
    assert.is(commits.filter(writesManifests).length, 1)
    assert.equal(commits.filter(writesManifests)[0]!.puts!.filter((p) => p.key.startsWith('man/')).length, 2, 'helm and docker-compose')
    assert.is((await registry.ociManifests.head(REPO, projected.tag))?.digest, projected.manifest.digest)
    const before = await snapshot(store)
    await registry.ociManifests.put(REPO, projected.tag, projected.manifest.bytes, OCI_INDEX)
    assert.equal(await snapshot(store), before, 'a repeated copy writes nothing')
  })
})

test('memory: a store whose commits cannot hold the whole release (maxOpsPerCommit) gets one format a commit, and the views still agree', async () => {
  const store = memoryStore({ limits: { maxOpsPerCommit: 45 } })
  const recorded = recording(store)
  const registry = new Registry({ store: recorded.store })
  try {
    const projected = await stageIndex(registry, '1.0.0', FORMATS)
    recorded.commits.length = 0
    await registry.ociManifests.put(REPO, projected.tag, projected.manifest.bytes, OCI_INDEX)
    assert.is(recorded.commits.filter(writesManifests).length, 3, 'one commit a format')
    assert.is((await registry.manifests(REPO, '1.0.0')).length, 3)
    assert.is((await registry.ociManifests.head(REPO, '1.0.0'))?.digest, projected.manifest.digest)
    recorded.commits.length = 0
    assert.ok(await registry.ociManifests.delete(REPO, projected.tag))
    assert.is(recorded.commits.filter(writesManifests).length, 3)
    assert.equal((await registry.list()).packages, [])
    assert.is(await registry.ociManifests.head(REPO, '1.0.0'), undefined)
  } finally {
    await registry.close()
  }
})

// A DELETE by digest of a chart deletes the releases showing it, then the manifest. An index
// pushed between the two, naming that chart as a format of another release, must not lose it.
test('memory: a DELETE by digest racing an index PUT that makes the manifest a format of another release is refused, and the index stays whole', async () => {
  const store = memoryStore()
  let hook: (() => Promise<unknown>) | undefined
  let doomedKey = ''
  const commit: KvStore['commit'] = async (c) => {
    if (hook && (c.deletes ?? []).includes(doomedKey)) {
      const run = hook
      hook = undefined
      await run()
    }
    return store.commit(c)
  }
  const registry = new Registry({ store: { ...store, name: store.name, capabilities: store.capabilities, commit } })
  try {
    const projected = await stageIndex(registry, '1.0.0', ['helm', 'kpm'])
    const helm = projected.formats.find((f) => f.format === 'helm')!.manifest
    await registry.ociManifests.put(REPO, '1.1.0', helm.bytes, OCI_MANIFEST)
    doomedKey = `oci/manifest/${REPO}@${helm.digest.slice('sha256:'.length)}`
    hook = () => registry.ociManifests.put(REPO, projected.tag, projected.manifest.bytes, OCI_INDEX)
    await rejectsOci(registry.ociManifests.delete(REPO, helm.digest), 'DENIED', 403)
    assert.is(hook, undefined, 'the index was pushed in the middle')
    assert.equal((await registry.releases(REPO)).map((m) => m.release), ['1.0.0', '1.0.0'], '1.1.0 went, 1.0.0 has both formats')
    await assertAgree(registry, store)
    // Tried again, it deletes the format of 1.0.0 too, then the manifest.
    assert.ok(await registry.ociManifests.delete(REPO, helm.digest))
    assert.equal((await registry.manifests(REPO, '1.0.0')).map((m) => m.mediaType), ['application/vnd.appr.package-manifest.kpm.v0.json'])
    assert.is(await registry.ociManifests.get(REPO, helm.digest), undefined)
    await assertAgree(registry, store)
  } finally {
    await registry.close()
  }
})

test.after(stop)

test.run()
