// fileBlobStore, the level adapter's companion for blob bytes, on real files in a temp directory.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError } from 'appr-core'
import { fileBlobStore } from 'appr-core/adapters/level'

const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'appr-fileblobs-'))
  dirs.push(dir)
  return dir
}
test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

async function* from(chunks: Uint8Array[]) {
  yield* chunks
}
async function bytesOf(source: AsyncIterable<Uint8Array> | undefined): Promise<number[]> {
  if (!source) throw new Error('absent')
  const out: number[] = []
  for await (const chunk of source) out.push(...chunk)
  return out
}
const ids = async (store: ReturnType<typeof fileBlobStore>) => {
  const out: string[] = []
  for await (const id of store.ids()) out.push(id)
  return out
}

test('round-trips bytes across chunk boundaries, and never aliases the caller chunks', async () => {
  const blobs = fileBlobStore({ path: tempDir(), readChunkBytes: 4096 })
  const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) % 256)
  const chunk = data.slice(0, 5000)
  await blobs.write(`${'a'.repeat(64)}/up1`, from([chunk, data.slice(5000)]))
  chunk.fill(0)
  assert.equal(await bytesOf(await blobs.read(`${'a'.repeat(64)}/up1`)), [...data])
  await blobs.write('empty', from([]))
  assert.equal(await bytesOf(await blobs.read('empty')), [])
})

test('a small object is read into one buffer of its own size (no 256 KiB buffer per 1 KB chart)', async () => {
  const blobs = fileBlobStore({ path: tempDir() })
  await blobs.write('small/1', from([new Uint8Array(1500).fill(7)]))
  const chunks: Uint8Array[] = []
  for await (const chunk of (await blobs.read('small/1'))!) chunks.push(chunk)
  assert.equal(
    chunks.map((c) => [c.byteLength, c.buffer.byteLength]),
    [[1500, 1500]],
  )
})

test('absent objects read as undefined; delete is idempotent', async () => {
  const blobs = fileBlobStore({ path: tempDir() })
  assert.is(await blobs.read('nope/x'), undefined)
  await blobs.write('d/1', from([Uint8Array.of(1)]))
  await blobs.delete('d/1')
  await blobs.delete('d/1')
  assert.is(await blobs.read('d/1'), undefined)
  assert.equal(await ids(blobs), [])
})

test('ids are every object, ascending by bytes, including ids with ":" "." and "/"', async () => {
  const blobs = fileBlobStore({ path: tempDir() })
  const names = ['sha256:ff/u1', 'b/.', 'b/..', 'a/z', 'a/B', 'a.b', 'a-c/1', 'é/1']
  for (const id of names) await blobs.write(id, from([Uint8Array.of(1)]))
  assert.equal(await ids(blobs), [...names].sort())
  assert.equal(await bytesOf(await blobs.read('b/..')), [1])
})

test('a failed write leaves no object and no visible id', async () => {
  const path = tempDir()
  const blobs = fileBlobStore({ path })
  async function* failing() {
    yield Uint8Array.of(1, 2, 3)
    throw new Error('source broke')
  }
  try {
    await blobs.write('x/1', failing())
    assert.unreachable()
  } catch (e) {
    assert.is((e as Error).message, 'source broke')
  }
  assert.is(await blobs.read('x/1'), undefined)
  assert.equal(await ids(blobs), [])
  assert.equal(readdirSync(join(path, 'x')), [])
})

test('an object whose reading has started streams to the end even if deleted meanwhile', async () => {
  const blobs = fileBlobStore({ path: tempDir(), readChunkBytes: 4096 })
  const data = new Uint8Array(20_000).fill(9)
  await blobs.write('g/1', from([data]))
  const iterator = (await blobs.read('g/1'))![Symbol.asyncIterator]()
  const first = await iterator.next()
  await blobs.delete('g/1')
  let length = first.done ? 0 : first.value.byteLength
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) length += next.value.byteLength
  assert.is(length, 20_000)
})

test('a stream is opened lazily: one never read, or dropped unread, holds no file', async () => {
  const blobs = fileBlobStore({ path: tempDir() })
  await blobs.write('h/1', from([Uint8Array.of(1, 2, 3)]))
  const fds = () => readdirSync('/proc/self/fd').length
  const before = fds()
  const streams = await Promise.all(Array.from({ length: 50 }, () => blobs.read('h/1')))
  for (const stream of streams.slice(25)) await stream![Symbol.asyncIterator]().return?.(undefined)
  assert.is(fds(), before)
  // Deleted before the first read: the stream fails with a typed error, not a crash.
  const late = await blobs.read('h/1')
  await blobs.delete('h/1')
  try {
    await bytesOf(late)
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'unavailable'), String(e))
  }
})

test('malformed ids are invalid-parameters and touch nothing', async () => {
  const path = tempDir()
  const blobs = fileBlobStore({ path })
  for (const id of ['', 'a//b', '/a', 'a/', '\uD800']) {
    try {
      await blobs.write(id, from([Uint8Array.of(1)]))
      assert.unreachable(id)
    } catch (e) {
      assert.ok(isApprError(e, 'invalid-parameters'), `${JSON.stringify(id)}: ${e}`)
    }
  }
  assert.not.ok(existsSync(join(path, 'a')))
})

test.run()
