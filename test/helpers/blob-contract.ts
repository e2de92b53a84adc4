/**
 * What each BlobStore accepts and refuses beyond the shared contract, as uvu tests: its own id
 * alphabet round-trips and lists ascending by UTF-8 bytes, its malformed ids are refused, and, for
 * stores that promise it, a read that has started survives a delete. Round trips, absence,
 * idempotent delete, shared content and failed writes are the conformance suite's BlobStore part
 * (`runBlobConformance`, test/conformance/blobs-*.test.ts and test/oci/blob-conformance.test.ts).
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
export function blobStoreContract(suite: Test, subject: BlobContractSubject): void {
  suite('ids are every object, ascending by UTF-8 bytes', async () => {
    const store = await subject.open()
    const names = ['sha256:ff/u1', 'b/.', 'a/z', 'a/B', 'a.b', 'a-c/1', '0f9a2c1e-5b7d-4c1a-9e8f-123456789abc', ...(subject.extraIds ?? [])]
    for (const id of names) await store.write(id, from([encodeId(id)]))
    assert.equal(await idsOf(store), [...names].sort(compareKeys))
    for (const id of names) assert.equal(await collect(await store.read(id)), encodeId(id), id)
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
