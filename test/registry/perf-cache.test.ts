// The manifest cache (release-cache.ts) never serves what another writer replaced: two Registry
// instances on one store, as two processes would be; one reads (filling its cache), the other
// force-pushes, deletes and re-creates, and every read of the first sees the store's state.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { collect, counting, kubeUi, rocketchat } from './helpers.js'

const ROCKET = '8dc8a2c479f770fd710e0dddaa7af0e6b495bc6375cdf2b4a649f4c2b03e27d5'
const KUBE = 'd14ec5d33581b51a389db8f3f4e26421eaba09460c8ea4817225abd4a5a1b44a'

async function rejects(promise: Promise<unknown>, code: string) {
  try {
    await promise
  } catch (e) {
    assert.ok(isApprError(e, code as never), String(e))
    return
  }
  assert.unreachable(`expected ${code}`)
}

test('a force push, delete or re-create by another instance is seen at once', async () => {
  const store = memoryStore()
  const reader = new Registry({ store, ownsStore: false })
  const writer = new Registry({ store, ownsStore: false })
  await writer.push({ package: 'a/b', release: '1.0.0', format: 'helm', blob: rocketchat, metadata: { v: 1 } })
  for (let i = 0; i < 2; i++) {
    assert.is((await reader.show('a/b', { format: 'helm' })).content.digest, ROCKET)
    assert.equal(await collect((await reader.pull('a/b', { format: 'helm' })).stream), rocketchat)
  }
  await writer.push({ package: 'a/b', release: '1.0.0', format: 'helm', blob: kubeUi, metadata: { v: 2 }, force: true })
  const shown = await reader.show('a/b', { format: 'helm' })
  assert.is(shown.content.digest, KUBE)
  assert.equal(shown.metadata, { v: 2 })
  const pulled = await reader.pull('a/b', { format: 'helm' })
  assert.is(pulled.digest, KUBE)
  assert.equal(await collect(pulled.stream), kubeUi)
  assert.equal((await reader.releases('a/b')).map((m) => m.metadata), [{ v: 2 }])

  await writer.delete('a/b', '1.0.0', 'helm')
  await rejects(reader.show('a/b', { format: 'helm' }), 'package-not-found')
  await rejects(reader.pull('a/b', { format: 'helm' }), 'package-not-found')

  // Re-created with other content: same keys, new versions.
  await writer.push({ package: 'a/b', release: '1.0.0', format: 'helm', blob: rocketchat, metadata: { v: 3 } })
  assert.equal((await reader.show('a/b', { format: 'helm' })).metadata, { v: 3 })
  assert.equal(await collect((await reader.pull('a/b', { format: 'helm' })).stream), rocketchat)
})

test('a newer release pushed elsewhere changes what default resolves to', async () => {
  const store = memoryStore()
  const reader = new Registry({ store, ownsStore: false })
  const writer = new Registry({ store, ownsStore: false })
  await writer.push({ package: 'a/b', release: '1.0.0', blob: rocketchat })
  assert.is((await reader.show('a/b')).release, '1.0.0')
  await writer.push({ package: 'a/b', release: '1.1.0', blob: kubeUi })
  assert.is((await reader.show('a/b')).release, '1.1.0')
  assert.is((await reader.pull('a/b')).digest, KUBE)
})

test('what a caller gets shares nothing with the cache', async () => {
  const registry = new Registry({ store: memoryStore() })
  await registry.push({ package: 'a/b', release: '1.0.0', blob: rocketchat, metadata: { deep: { list: [1] } } })
  const first = await registry.show('a/b')
  ;(first.metadata as { deep: { list: number[] } }).deep.list.push(2)
  ;(first.content.urls as string[]).push('x')
  ;(first as { release: string }).release = 'changed'
  const again = await registry.show('a/b')
  assert.equal(again.metadata, { deep: { list: [1] } })
  assert.equal(again.content.urls, [])
  assert.is(again.release, '1.0.0')
  const [listed] = await registry.releases('a/b')
  ;(listed!.metadata as { deep: unknown }).deep = null
  assert.equal((await registry.pull('a/b')).manifest.metadata, { deep: { list: [1] } })
})

test('a hit saves the manifest and blob reads; the package record is read every time', async () => {
  const { store, counts, reset } = counting(memoryStore())
  const registry = new Registry({ store })
  await registry.push({ package: 'a/b', release: '1.0.0', blob: rocketchat })
  await collect((await registry.pull('a/b')).stream)
  reset()
  await registry.show('a/b')
  assert.equal(counts.keys, 1)
  reset()
  await collect((await registry.pull('a/b')).stream)
  const pullCalls = counts.calls
  // The package record, then the blob's bytes (the object store's own reads).
  assert.ok(pullCalls <= 3, `pull made ${pullCalls} calls`)
  // A release that is not the default (whose manifest the package record does not carry):
  // cached, one key; disabled, every call reads the manifest again.
  await registry.push({ package: 'a/b', release: '2.0.0', blob: kubeUi })
  await registry.show('a/b', { release: '1.0.0' })
  reset()
  await registry.show('a/b', { release: '1.0.0' })
  assert.equal(counts.keys, 1)
  const uncached = counting(memoryStore())
  const plain = new Registry({ store: uncached.store, cacheEntries: 0 })
  await plain.push({ package: 'a/b', release: '1.0.0', blob: rocketchat })
  await plain.push({ package: 'a/b', release: '2.0.0', blob: kubeUi })
  await plain.show('a/b', { release: '1.0.0' })
  uncached.reset()
  await plain.show('a/b', { release: '1.0.0' })
  assert.equal(uncached.counts.keys, 2)
})

test('the cache is bounded: the oldest entries go first, answers stay right', async () => {
  const registry = new Registry({ store: memoryStore(), cacheEntries: 3 })
  for (let i = 0; i < 6; i++) await registry.push({ package: `a/p${i}`, release: '1.0.0', blob: i % 2 ? kubeUi : rocketchat, metadata: { i } })
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 6; i++) {
      const pulled = await registry.pull(`a/p${i}`)
      assert.equal(pulled.manifest.metadata, { i })
      assert.equal(await collect(pulled.stream), i % 2 ? kubeUi : rocketchat)
    }
  }
})

test.run()
