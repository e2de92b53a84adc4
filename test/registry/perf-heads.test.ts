// Heads: each package record carries a copy of its formats' default manifests (and where their
// blob is), so show default reads one record and pull default one record plus the bytes. The copy
// must never differ from the stored manifest, whatever sequence of pushes, force pushes and
// deletes (from several instances, as several processes) made it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, Registry, resolveQuery } from 'appr-core'
import type { KvStore } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { collect, counting, kubeUi, rocketchat, tgz } from './helpers.js'

const decoder = new TextDecoder()
const json = (bytes: Uint8Array): Record<string, unknown> => JSON.parse(decoder.decode(bytes)) as Record<string, unknown>

interface HeadJson {
  manifest: { release: string; content: { digest: string; size: number } }
  ociDigest: string
  size: number
  object: string
}

/** The invariant, read straight from the store: every head equals its stored manifest and blob record. */
async function assertHeadsTrue(store: KvStore, pkg: string): Promise<number> {
  const entry = await store.get(`pkg/${pkg}`)
  if (entry === undefined) return 0
  const heads = (json(entry.value).heads ?? {}) as Record<string, HeadJson>
  for (const [format, head] of Object.entries(heads)) {
    const man = await store.get(`man/${pkg}/${head.manifest.release}/${format}`)
    assert.ok(man, `head ${format} names ${head.manifest.release}, which has no stored manifest`)
    assert.equal(head.manifest, json(man.value), `head ${format} differs from its stored manifest`)
    const blob = await store.get(`blob/${head.manifest.content.digest}`)
    assert.ok(blob, 'head names a blob without a record')
    const record = json(blob.value)
    assert.equal({ ociDigest: head.ociDigest, size: head.size, object: head.object }, { ociDigest: record.ociDigest, size: record.size, object: record.object })
  }
  return Object.keys(heads).length
}

test('show default reads one key; pull default reads the package record and the bytes only', async () => {
  const { store, counts, reset } = counting(memoryStore())
  const registry = new Registry({ store, cacheEntries: 0, blobCacheBytes: 0 })
  await registry.push({ package: 'a/b', release: '1.0.0', format: 'helm', blob: rocketchat })
  await registry.push({ package: 'a/b', release: '1.1.0', format: 'helm', blob: kubeUi })
  reset()
  const shown = await registry.show('a/b', { format: 'helm' })
  assert.is(shown.release, '1.1.0')
  assert.equal(counts.keys, 1)
  reset()
  const pulled = await registry.pull('a/b', { format: 'helm' })
  assert.equal(await collect(pulled.stream), kubeUi)
  const withHead = counts.keys
  // Not the head (and nothing cached): the manifest and blob records are read as well.
  reset()
  const older = await registry.pull('a/b', { release: '1.0.0', format: 'helm' })
  assert.equal(await collect(older.stream), rocketchat)
  assert.ok(withHead < counts.keys, `pull of the head read ${withHead} keys, of another release ${counts.keys}`)
  reset()
  await registry.show('a/b', { release: '1.0.0', format: 'helm' })
  assert.equal(counts.keys, 2)
})

test('a pull of a cached blob reads only the package record, and callers never share its bytes', async () => {
  const { store, counts, reset } = counting(memoryStore())
  const registry = new Registry({ store })
  await registry.push({ package: 'a/b', release: '1.0.0', blob: rocketchat })
  reset()
  const first = await registry.pull('a/b')
  const bytes = await collect(first.stream)
  assert.equal(bytes, rocketchat)
  assert.equal({ calls: counts.calls, keys: counts.keys }, { calls: 1, keys: 1 })
  // Change what we were given, in place: the next pull is unaffected.
  const pulled = await registry.pull('a/b')
  for await (const chunk of pulled.stream) chunk.fill(0)
  assert.equal(await collect((await registry.pull('a/b')).stream), rocketchat)
})

test('the blob cache is bounded and filled by pulls too', async () => {
  const store = memoryStore()
  const writer = new Registry({ store, ownsStore: false })
  const blobs: Uint8Array[] = []
  for (let i = 0; i < 8; i++) {
    blobs.push(await tgz({ 'chart/Chart.yaml': `name: p${i}\nversion: 1.0.0\n`, 'chart/pad': 'x'.repeat(3000 + i) }))
    await writer.push({ package: `a/p${i}`, release: '1.0.0', blob: blobs[i]! })
  }
  const { store: counted, counts, reset } = counting(store)
  const reader = new Registry({ store: counted, ownsStore: false, blobCacheBytes: 3 * blobs[0]!.byteLength })
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 8; i++) assert.equal(await collect((await reader.pull(`a/p${i}`)).stream), blobs[i])
  }
  // The last pulled are still cached: one read each; the first ones were evicted.
  reset()
  await collect((await reader.pull('a/p7')).stream)
  assert.is(counts.calls, 1)
  reset()
  await collect((await reader.pull('a/p0')).stream)
  assert.ok(counts.calls > 1, 'an evicted blob is read again')
})

test('heads follow the default release through pushes, force pushes and deletes', async () => {
  const { store, counts, reset } = counting(memoryStore())
  const registry = new Registry({ store, cacheEntries: 0, blobCacheBytes: 0 })
  const push = (release: string, blob: Uint8Array, force = false) => registry.push({ package: 'a/b', release, format: 'helm', blob, force })
  await push('1.0.0', rocketchat)
  await push('2.0.0', kubeUi)
  await push('1.5.0', rocketchat) // lower: the head stays 2.0.0
  await push('0.9.0', kubeUi)
  assert.is(await assertHeadsTrue(store, 'a/b'), 1)
  reset()
  assert.is((await registry.show('a/b', { format: 'helm' })).release, '2.0.0')
  assert.equal(counts.keys, 1)
  await push('2.0.0', rocketchat, true) // the head's own manifest replaced
  assert.is(await assertHeadsTrue(store, 'a/b'), 1)
  assert.equal(await collect((await registry.pull('a/b', { format: 'helm' })).stream), rocketchat)
  await registry.delete('a/b', '2.0.0', 'helm') // the head goes: 1.5.0 becomes it, in the same commit
  assert.is(await assertHeadsTrue(store, 'a/b'), 1)
  reset()
  assert.is((await registry.show('a/b', { format: 'helm' })).release, '1.5.0')
  assert.equal(counts.keys, 1)
})

test('a manifest with large metadata is not copied into its package record, and still served', async () => {
  const { store, counts, reset } = counting(memoryStore())
  const registry = new Registry({ store, cacheEntries: 0 })
  const metadata = { notes: 'n'.repeat(5000) }
  await registry.push({ package: 'a/b', release: '1.0.0', blob: rocketchat, metadata })
  assert.is(await assertHeadsTrue(store, 'a/b'), 0)
  reset()
  assert.equal((await registry.show('a/b')).metadata, metadata)
  assert.equal(counts.keys, 2)
})

test('package records written without heads (older versions) are read, and get heads on the next push', async () => {
  const store = memoryStore()
  const registry = new Registry({ store, ownsStore: false })
  await registry.push({ package: 'a/b', release: '1.0.0', blob: rocketchat })
  const entry = (await store.get('pkg/a/b'))!
  const { heads: _, ...old } = json(entry.value)
  await store.commit({ puts: [{ key: 'pkg/a/b', value: new TextEncoder().encode(JSON.stringify(old)) }] })
  const fresh = new Registry({ store, ownsStore: false })
  assert.is((await fresh.show('a/b')).content.digest, (await registry.show('a/b')).content.digest)
  assert.equal(await collect((await fresh.pull('a/b')).stream), rocketchat)
  await fresh.channels.add('a/b', 'stable', '1.0.0') // rewrites the record, copies nothing new
  assert.is(await assertHeadsTrue(store, 'a/b'), 0)
  await fresh.push({ package: 'a/b', release: '1.1.0', blob: kubeUi })
  assert.is(await assertHeadsTrue(store, 'a/b'), 1)
})

test('random pushes, force pushes and deletes from two instances keep every head true', async () => {
  let seed = 20261127
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
  const store = memoryStore()
  const instances = [new Registry({ store, ownsStore: false }), new Registry({ store, ownsStore: false, cacheEntries: 0 })]
  const releases = ['0.1.0', '1.0.0', '1.0.1', '1.1.0-beta.1', '2.0.0']
  const formats = ['helm', 'kpm']
  const blobs = [rocketchat, kubeUi]
  const byDigest = new Map<string, Uint8Array>()
  for (let step = 0; step < 300; step++) {
    const registry = instances[random(2)]!
    const release = releases[random(releases.length)]!
    const format = formats[random(formats.length)]!
    try {
      if (random(3) === 0) await registry.delete('a/b', release, format)
      else {
        const blob = blobs[random(2)]!
        const manifest = await registry.push({ package: 'a/b', release, format, blob, force: random(2) === 0, metadata: { step } })
        byDigest.set(manifest.content.digest, blob)
      }
    } catch (error) {
      if (!isApprError(error, 'package-exists') && !isApprError(error, 'package-not-found')) throw error
    }
    await assertHeadsTrue(store, 'a/b')
    // Every instance answers default exactly as the stored manifests say.
    const stored = await instances[0]!.releases('a/b').catch(() => [])
    const expectedRelease = resolveQuery(undefined, [...new Set(stored.map((m) => m.release))])
    for (const format of formats) {
      const expected = stored.find((m) => m.release === expectedRelease && m.mediaType.includes(`.${format}.`))
      for (const reader of instances) {
        if (expected === undefined) {
          await reader.show('a/b', { format }).then(() => assert.unreachable('show found a default that is not stored'), (e: unknown) => assert.ok(isApprError(e), String(e)))
          continue
        }
        const shown = await reader.show('a/b', { format })
        assert.equal({ ...shown, channels: undefined }, { ...expected, channels: undefined })
        const pulled = await reader.pull('a/b', { format })
        assert.is(pulled.digest, expected.content.digest)
        assert.equal(await collect(pulled.stream), byDigest.get(expected.content.digest))
      }
    }
  }
})

test.run()
