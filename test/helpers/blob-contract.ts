/**
 * The BlobStore contract (src/storage/blob.ts, docs/adapters.md) as uvu tests, for any store:
 * round trips across chunk boundaries, absence, idempotent delete, ids ascending by bytes, a
 * failed write leaves nothing visible, bad ids refused; for stores that promise it, a read that
 * has started survives a delete.
 *
 * ```ts
 * blobStoreContract(suite, { name: 'oci', open: async () => ociBlobStore({ … }) })
 * ```
 * @module
 */
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { type BlobStore, compareKeys, isApprError } from 'appr-core'

/** What {@link blobStoreContract} runs against. */
export interface BlobContractSubject {
  /** A fresh, empty store (called once per test). */
  open(): Promise<BlobStore>
  /** Ids the store must accept besides plain ones (each ≤ 80 UTF-8 bytes). */
  readonly extraIds?: readonly string[]
  /** Ids the store must refuse with `invalid-parameters`. */
  readonly badIds?: readonly string[]
  /** The store promises that a read whose first chunk arrived streams to the end when the object is deleted meanwhile (not part of the BlobStore contract). */
  readonly readSurvivesDelete?: boolean
}

async function* from(chunks: Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* chunks
}
export async function* pieces(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size)
}
export async function collect(source: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> {
  if (!source) throw new Error('absent')
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
async function idsOf(store: BlobStore): Promise<string[]> {
  const out: string[] = []
  for await (const id of store.ids()) out.push(id)
  return out
}

/** Registers the contract tests on `suite`. `sizes` are object sizes to round-trip (pick them around the store's chunk size). */
export function blobStoreContract(suite: Test, subject: BlobContractSubject, sizes: readonly number[] = [0, 1, 999, 1000, 1001, 5000]): void {
  suite('round-trips bytes across chunk boundaries and never aliases the caller’s buffers', async () => {
    const store = await subject.open()
    for (const n of sizes) {
      const data = bytes(n, n)
      const copy = data.slice()
      await store.write(`obj-${n}`, pieces(copy, 337))
      copy.fill(0)
      assert.equal(await collect(await store.read(`obj-${n}`)), data, `size ${n}`)
    }
    assert.equal(await idsOf(store), sizes.map((n) => `obj-${n}`).sort(compareKeys))
  })

  suite('absent objects read as undefined; delete is idempotent', async () => {
    const store = await subject.open()
    assert.is(await store.read('nope/x'), undefined)
    await store.delete('nope/x')
    await store.write('d/1', from([Uint8Array.of(1)]))
    await store.delete('d/1')
    await store.delete('d/1')
    assert.is(await store.read('d/1'), undefined)
    assert.equal(await idsOf(store), [])
  })

  suite('ids are every object, ascending by UTF-8 bytes', async () => {
    const store = await subject.open()
    const names = ['sha256:ff/u1', 'b/.', 'a/z', 'a/B', 'a.b', 'a-c/1', '0f9a2c1e-5b7d-4c1a-9e8f-123456789abc', ...(subject.extraIds ?? [])]
    for (const id of names) await store.write(id, from([encodeId(id)]))
    assert.equal(await idsOf(store), [...names].sort(compareKeys))
    for (const id of names) assert.equal(await collect(await store.read(id)), encodeId(id), id)
  })

  suite('identical bytes under two ids are two objects: deleting one keeps the other', async () => {
    const store = await subject.open()
    const data = bytes(1234, 7)
    await store.write('twin/1', pieces(data, 100))
    await store.write('twin/2', pieces(data, 500))
    await store.delete('twin/1')
    assert.is(await store.read('twin/1'), undefined)
    assert.equal(await collect(await store.read('twin/2')), data)
    assert.equal(await idsOf(store), ['twin/2'])
  })

  suite('a failed write surfaces the source’s error and leaves no visible object', async () => {
    const store = await subject.open()
    async function* failing() {
      yield bytes(1500, 3)
      throw new Error('source broke')
    }
    try {
      await store.write('x/1', failing())
      assert.unreachable()
    } catch (e) {
      assert.is((e as Error).message, 'source broke')
    }
    assert.is(await store.read('x/1'), undefined)
    assert.equal(await idsOf(store), [])
  })

  suite('an object whose reading has started streams to the end even if deleted meanwhile (when promised)', async () => {
    if (!subject.readSurvivesDelete) return
    const store = await subject.open()
    const data = bytes(20_000, 9)
    await store.write('g/1', from([data]))
    const iterator = (await store.read('g/1'))![Symbol.asyncIterator]()
    const first = await iterator.next()
    await store.delete('g/1')
    const parts: Uint8Array[] = first.done ? [] : [first.value]
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) parts.push(next.value)
    assert.equal(new Uint8Array(Buffer.concat(parts)), data)
  })

  suite('malformed ids are invalid-parameters and write nothing', async () => {
    const store = await subject.open()
    for (const id of ['', '\uD800', ...(subject.badIds ?? [])]) {
      for (const call of [() => store.write(id, from([Uint8Array.of(1)])), () => store.read(id), () => store.delete(id)]) {
        try {
          await call()
          assert.unreachable(JSON.stringify(id))
        } catch (e) {
          assert.ok(isApprError(e, 'invalid-parameters'), `${JSON.stringify(id)}: ${e}`)
        }
      }
    }
    assert.equal(await idsOf(store), [])
  })
}

const encodeId = (id: string) => new TextEncoder().encode(id)
