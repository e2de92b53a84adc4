import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { memoryStore } from 'appr-core/adapters/memory'
import { isApprError, kvBlobStore, listAll } from 'appr-core'
import type { KvStore } from 'appr-core'

async function keys(store: KvStore): Promise<string[]> {
  const out: string[] = []
  for await (const e of listAll(store, '')) out.push(e.key)
  return out
}
async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of stream) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}
function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}
async function* pieces(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size)
}

test('round-trips objects of many sizes across chunk and commit boundaries', async () => {
  const store = memoryStore({ limits: { maxOpsPerCommit: 4, maxValueBytes: 100 } })
  const blobs = kvBlobStore(store, { chunkBytes: 1000 })
  for (const n of [0, 1, 99, 100, 101, 299, 300, 301, 1234]) {
    const data = bytes(n, n)
    await blobs.write(`obj-${n}`, pieces(data, 37))
    const read = await blobs.read(`obj-${n}`)
    assert.ok(read)
    assert.equal(await collect(read), data)
  }
  assert.is(await blobs.read('absent'), undefined)
  const ids: string[] = []
  for await (const id of blobs.ids()) ids.push(id)
  assert.equal(ids, ['obj-0', 'obj-1', 'obj-100', 'obj-101', 'obj-1234', 'obj-299', 'obj-300', 'obj-301', 'obj-99'])
})

test('a failing source leaves no key behind', async () => {
  const store = memoryStore()
  const blobs = kvBlobStore(store, { chunkBytes: 10 })
  async function* failing() {
    yield bytes(95)
    throw new Error('boom')
  }
  try {
    await blobs.write('x', failing())
    assert.unreachable()
  } catch (e) {
    assert.is((e as Error).message, 'boom')
  }
  assert.equal(await keys(store), [])
})

test('chunks without a meta record are invisible and delete removes them', async () => {
  const store = memoryStore()
  const blobs = kvBlobStore(store, { chunkBytes: 10, prefix: 'b/' })
  await blobs.write('a', pieces(bytes(35), 35))
  // Imitate a writer that crashed before its meta record.
  await store.commit({ puts: [{ key: 'b/half#00000000', value: bytes(10) }, { key: 'b/half#00000001', value: bytes(10) }] })
  await blobs.write('z', pieces(bytes(5), 5))
  const ids: string[] = []
  for await (const id of blobs.ids()) ids.push(id)
  assert.equal(ids, ['a', 'z'])
  assert.is(await blobs.read('half'), undefined)
  await blobs.delete('half')
  await blobs.delete('a')
  await blobs.delete('z')
  assert.equal(await keys(store), [])
})

test('ids with slashes and a missing chunk is a typed error', async () => {
  const store = memoryStore()
  const blobs = kvBlobStore(store, { chunkBytes: 4 })
  await blobs.write('d/1', pieces(bytes(10), 3))
  await blobs.write('d/10', pieces(bytes(3), 3))
  const ids: string[] = []
  for await (const id of blobs.ids()) ids.push(id)
  assert.equal(ids, ['d/1', 'd/10'])
  await store.commit({ deletes: ['blobdata/d/1#00000001'] })
  try {
    await collect((await blobs.read('d/1'))!)
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'internal-error'))
  }
  try {
    await blobs.write('bad id', pieces(bytes(1), 1))
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'invalid-parameters'))
  }
})

test.run()
