// The inline push (a small blob given as bytes, on the default blob store): its object and its
// records land in one commit, duplicates write no object at all, and the result is the same
// store state a streamed push gives.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, kvBlobStore, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { collect, counting, kubeUi, rocketchat, snapshot } from './helpers.js'

async function* streamed(bytes: Uint8Array) {
  yield bytes
}

/** Keys without versions, and the objects' bytes by digest (object ids are random). */
async function layout(registry: Registry, store: ReturnType<typeof memoryStore>) {
  const keys = (await snapshot(store)).map((k) => k.replace(/@.*$/, '').replace(/[0-9a-f-]{36}/, '<id>'))
  const bytes = await collect((await registry.blob('a/b', '8dc8a2c479f770fd710e0dddaa7af0e6b495bc6375cdf2b4a649f4c2b03e27d5')).stream)
  return { keys, bytes }
}

test('a small push is one read and one commit; a duplicate writes no object', async () => {
  const { store, counts, reset } = counting(memoryStore())
  const registry = new Registry({ store })
  reset()
  await registry.push({ package: 'a/b', release: '1.0.0', blob: rocketchat })
  assert.equal(counts.calls, 2)
  const objects = (await store.list({ prefix: 'obj/' })).length
  reset()
  await registry.push({ package: 'a/c', release: '1.0.0', blob: rocketchat })
  assert.equal(counts.calls, 2)
  assert.is((await store.list({ prefix: 'obj/' })).length, objects)
  assert.equal(await collect((await registry.pull('a/c')).stream), rocketchat)
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

test('a registry with its own blob store streams as before', async () => {
  const store = memoryStore()
  const blobs = kvBlobStore(memoryStore())
  const { store: counted, counts, reset } = counting(store)
  const registry = new Registry({ store: counted, blobs })
  reset()
  await registry.push({ package: 'a/b', release: '1.0.0', blob: rocketchat })
  assert.ok(counts.calls > 2)
  assert.equal(await collect((await registry.pull('a/b')).stream), rocketchat)
})

test.run()
