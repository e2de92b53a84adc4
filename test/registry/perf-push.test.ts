// The inline push (a small blob given as bytes, on the default blob store): its object and its
// records land in one commit, duplicates write no object at all, and the result is the same
// store state a streamed push gives.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type BlobStore, isApprError, kvBlobStore, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { collect, counting, kubeUi, rocketchat, snapshot, tgz } from './helpers.js'

async function* streamed(bytes: Uint8Array) {
  yield bytes
}

/** Keys without versions, and the objects' bytes by digest (object ids are random). */
async function layout(registry: Registry, store: ReturnType<typeof memoryStore>) {
  const keys = (await snapshot(store)).map((k) => k.replace(/@.*$/, '').replace(/[0-9a-f-]{36}/, '<id>'))
  const bytes = await collect((await registry.blob('a/b', '8dc8a2c479f770fd710e0dddaa7af0e6b495bc6375cdf2b4a649f4c2b03e27d5')).stream)
  return { keys, bytes }
}

test('a small push is one commit for a new package, one read and one commit for a known one; a duplicate writes no object', async () => {
  const { store, counts, reset } = counting(memoryStore())
  const registry = new Registry({ store })
  reset()
  // New package, new content: every key presumed absent, no read.
  await registry.push({ package: 'a/b', release: '1.0.0', blob: rocketchat })
  assert.equal({ calls: counts.calls, conflicts: counts.conflicts }, { calls: 1, conflicts: 0 })
  // A package this registry pushed to: read, then commit.
  reset()
  await registry.push({ package: 'a/b', release: '1.0.1', blob: kubeUi })
  assert.equal({ calls: counts.calls, conflicts: counts.conflicts }, { calls: 2, conflicts: 0 })
  const objects = (await store.list({ prefix: 'obj/' })).length
  // New package, stored content: the guess fails its checks, the push runs again with reads.
  reset()
  await registry.push({ package: 'a/c', release: '1.0.0', blob: rocketchat })
  assert.equal({ calls: counts.calls, conflicts: counts.conflicts }, { calls: 3, conflicts: 1 })
  assert.is((await store.list({ prefix: 'obj/' })).length, objects)
  assert.equal(await collect((await registry.pull('a/c')).stream), rocketchat)
  assert.equal(JSON.parse(new TextDecoder().decode((await store.get(`blob/${(await registry.show('a/c')).content.digest}`))!.value)).refs, 2)
})

test('a wrong guess (the package exists, created elsewhere) costs a round trip, never a release', async () => {
  const store = memoryStore()
  const first = new Registry({ store, ownsStore: false })
  const { store: counted, counts, reset } = counting(store)
  const second = new Registry({ store: counted, ownsStore: false })
  await first.push({ package: 'a/b', release: '1.0.0', blob: rocketchat, metadata: { by: 'first' } })
  reset()
  await second.push({ package: 'a/b', release: '2.0.0', blob: kubeUi })
  assert.equal({ calls: counts.calls, conflicts: counts.conflicts }, { calls: 3, conflicts: 1 })
  assert.equal((await first.releases('a/b')).map((m) => m.release), ['2.0.0', '1.0.0'])
  // The same release again from a third instance: package-exists, decided on real reads.
  const third = new Registry({ store, ownsStore: false })
  try {
    await third.push({ package: 'a/b', release: '1.0.0', blob: kubeUi })
    assert.unreachable('pushed over an existing release')
  } catch (e) {
    assert.ok(isApprError(e, 'package-exists'), String(e))
  }
  assert.equal((await first.show('a/b', { release: '1.0.0' })).metadata, { by: 'first' })
})

test('instances racing to create one package each presume it absent; both releases land', async () => {
  const store = memoryStore()
  const registries = Array.from({ length: 4 }, () => new Registry({ store, ownsStore: false }))
  await Promise.all(registries.map((r, i) => r.push({ package: 'a/new', release: `1.0.${i}`, blob: i % 2 ? kubeUi : rocketchat })))
  assert.equal((await registries[0]!.releases('a/new')).map((m) => m.release), ['1.0.3', '1.0.2', '1.0.1', '1.0.0'])
  const rocket = JSON.parse(new TextDecoder().decode((await store.get('blob/8dc8a2c479f770fd710e0dddaa7af0e6b495bc6375cdf2b4a649f4c2b03e27d5'))!.value))
  assert.is(rocket.refs, 2)
})

test('inline and streamed pushes leave the same keys and bytes', async () => {
  const a = memoryStore()
  const b = memoryStore()
  const inline = new Registry({ store: a })
  const stream = new Registry({ store: b })
  for (const [registry, wrap] of [
    [inline, (x: Uint8Array) => x],
    [stream, streamed],
  ] as const) {
    await registry.push({ package: 'a/b', release: '1.0.0', blob: wrap(rocketchat) })
    await registry.push({ package: 'a/b', release: '1.0.1', blob: wrap(kubeUi) })
    await registry.push({ package: 'a/b', release: '1.0.1', blob: wrap(rocketchat), force: true })
    await registry.push({ package: 'a/d', release: '1.0.0', blob: wrap(kubeUi) })
  }
  assert.equal(await layout(inline, a), await layout(stream, b))
})

test('a rejected or existing inline push writes nothing', async () => {
  const store = memoryStore()
  const registry = new Registry({ store })
  await registry.push({ package: 'a/b', release: '1.0.0', blob: rocketchat })
  const before = await snapshot(store)
  try {
    await registry.push({ package: 'a/b', release: '1.0.0', blob: kubeUi })
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'package-exists'))
  }
  const bent = rocketchat.slice()
  bent[bent.length - 5]! ^= 0xff // the gzip trailer: CRC mismatch
  try {
    await registry.push({ package: 'a/b', release: '2.0.0', blob: bent })
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'invalid-usage'), String(e))
  }
  assert.equal(await snapshot(store), before)
})

test('with its own blob store, a small byte push is validated in memory, written once and never read back; a rejected one leaves nothing', async () => {
  const store = memoryStore()
  const inner = kvBlobStore(memoryStore())
  const seen = { writes: 0, chunks: 0, reads: 0 }
  const blobs: BlobStore = {
    ...inner,
    async write(id, chunks) {
      seen.writes++
      await inner.write(
        id,
        (async function* () {
          for await (const chunk of chunks) {
            seen.chunks++
            yield chunk
          }
        })(),
      )
    },
    async read(id) {
      seen.reads++
      return inner.read(id)
    },
  }
  const registry = new Registry({ store, blobs })
  // A chart of a package with an OCI view: its Chart.yaml (Helm's config) comes from validation's pass.
  const chart = await tgz({ 'hello/Chart.yaml': 'apiVersion: v2\nname: hello\nversion: 1.0.0\n' })
  await registry.push({ package: 'a/b', release: '1.0.0', format: 'helm', blob: chart })
  await registry.push({ package: 'a/b', release: '1.0.1', blob: rocketchat })
  assert.equal(seen, { writes: 2, chunks: 2, reads: 0 })
  assert.ok(await registry.ociManifests.head('a/b', '1.0.0'), 'the OCI view has the chart')
  assert.equal(await collect((await registry.pull('a/b', { release: '1.0.0', format: 'helm' })).stream), chart)
  const before = await snapshot(store)
  const ids = async () => {
    const out: string[] = []
    for await (const id of inner.ids()) out.push(id)
    return out.sort()
  }
  const objects = await ids()
  const bent = rocketchat.slice()
  bent[bent.length - 5]! ^= 0xff // the gzip trailer: CRC mismatch
  for (const [blob, release, code] of [
    [bent, '2.0.0', 'invalid-usage'],
    [kubeUi, '1.0.1', 'package-exists'],
  ] as const) {
    try {
      await registry.push({ package: 'a/b', release, blob })
      assert.unreachable()
    } catch (e) {
      assert.ok(isApprError(e, code), String(e))
    }
  }
  assert.equal(await snapshot(store), before)
  assert.equal(await ids(), objects)
})

test.run()
