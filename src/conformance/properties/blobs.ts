// The BlobStore contract: byte-exact round trips from empty to many chunks whatever the pieces
// the source yields, streaming reads the caller cancels that release what they hold, concurrent
// writes, delete and id listing, limits, behaviour after close, and a writer killed mid-write
// that leaves no partial object visible.
import { existsSync, readdirSync } from 'node:fs'
import fc from 'fast-check'
import { isApprError } from '../../errors/index.js'
import { collectBytes } from '../../registry/blob-input.js'
import type { BlobStore } from '../../storage/blob.js'
import { compareKeys } from '../../storage/util.js'
import { hex, sameBytes } from '../arbitraries.js'
import type { BlobCtx, BlobGroup } from '../blob-harness.js'
import { rejectsWith, within } from '../harness.js'
import { noise } from './bytes.js'

/** The bytes of object `id` of `size` bytes in these properties (derived from both, so a mix-up shows). */
export function blobContent(id: string, size: number): Uint8Array {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return noise(size, h)
}

/**
 * Yields `bytes` in pieces of the given sizes (cycled), copied into one buffer that is reused
 * for the next piece: a store that keeps a yielded buffer instead of its bytes stores garbage.
 * `pause` runs between pieces (to let other writers interleave).
 */
export async function* pieces(bytes: Uint8Array, sizes: readonly number[], pause?: () => Promise<void>): AsyncGenerator<Uint8Array> {
  const scratch = new Uint8Array(Math.max(1, ...sizes))
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, bytes.length - at)
    scratch.set(bytes.subarray(at, at + n))
    yield scratch.subarray(0, n)
    scratch.fill(0xee)
    at += n
    await pause?.()
  }
}

/** The whole object, or undefined when `read` says there is none. */
export async function readAll(store: BlobStore, id: string): Promise<Uint8Array | undefined> {
  const stream = await store.read(id)
  return stream && collectBytes(stream)
}

async function allIds(store: BlobStore): Promise<string[]> {
  const out: string[] = []
  for await (const id of store.ids()) out.push(id)
  return out
}

const tick = () => new Promise<void>((r) => setImmediate(r))

function expectBytes(ctx: BlobCtx, what: string, got: Uint8Array | undefined, want: Uint8Array): void {
  if (sameBytes(got, want)) return
  if (got === undefined) throw ctx.failure(`${what}: the object is absent, ${want.length} bytes were written`)
  let at = 0
  while (at < Math.min(got.length, want.length) && got[at] === want[at]) at++
  throw ctx.failure(`${what}: read ${got.length} bytes, wrote ${want.length}; first difference at byte ${at} (${hex(got.subarray(at, at + 4))} for ${hex(want.subarray(at, at + 4))})`)
}

/** Object sizes around the chunk size `c`: empty, one byte, c-1, c, c+1, and several chunks ±1. */
function sizeArb(c: number, max: number | undefined): fc.Arbitrary<number> {
  const cap = Math.min(max ?? Number.POSITIVE_INFINITY, 4 * c + 1)
  return fc
    .oneof(fc.constantFrom(0, 1, c - 1, c, c + 1, 2 * c, 3 * c - 1, 4 * c + 1), fc.integer({ min: 0, max: 4 * c + 1 }))
    .map((n) => Math.max(0, Math.min(n, cap)))
}

const idArb = fc.oneof(
  fc.uuid(),
  fc.uuid().map((u) => `sha256:${u.replaceAll('-', '')}`),
  fc.tuple(fc.uuid(), fc.uuid()).map(([a, b]) => `${a.slice(0, 8)}/${b}`),
)

/** Open file descriptors of this process (Linux), or undefined where that cannot be read. */
function openFds(): number | undefined {
  return existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : undefined
}

export const blobs: BlobGroup = {
  name: 'blobs',
  properties: [
    {
      id: 'blobs/round-trip',
      title: 'objects from empty to several chunks, written in pieces of any size from a reused buffer, read back byte-exact (twice); unknown ids read as absent',
      async run(ctx) {
        const c = ctx.capabilities.chunkBytes
        const pieceArb = fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 2 * c })), { minLength: 1, maxLength: 4 })
        await ctx.check(
          fc.asyncProperty(idArb, sizeArb(c, ctx.capabilities.maxObjectBytes), pieceArb, (id, size, sizes) =>
            ctx.withStore(async (store) => {
              const bytes = blobContent(id, size)
              await store.write(id, pieces(bytes, sizes))
              for (const pass of ['first', 'second']) {
                const got = await readAll(store, id)
                if (!sameBytes(got, bytes)) throw new Error(`${pass} read of ${id} (${size} bytes, pieces ${sizes.join('/')}) gave ${got === undefined ? 'absent' : `${got.length} bytes, not the ones written`}`)
              }
              if ((await store.read(`${id}-never-written`)) !== undefined) throw new Error('an id never written reads as present')
            }),
          ),
          20,
        )
        // Every boundary size once, whatever the random runs drew.
        const store = await ctx.open()
        for (const size of [0, 1, c - 1, c, c + 1, 4 * c + 1].filter((n) => n <= (ctx.capabilities.maxObjectBytes ?? Number.POSITIVE_INFINITY))) {
          const id = `boundary-${size}`
          const bytes = blobContent(id, size)
          await store.write(id, pieces(bytes, [c]))
          expectBytes(ctx, `an object of ${size} bytes (chunk size ${c})`, await readAll(store, id), bytes)
        }
      },
    },
    {
      id: 'blobs/cancelled-read',
      title: 'reads cancelled before, after one and after several pieces settle promptly and release what they hold; the object stays readable and deletable',
      async run(ctx) {
        const store = await ctx.open()
        const id = 'cancelled-read-object'
        const bytes = blobContent(id, 4 * ctx.capabilities.chunkBytes + 1)
        await store.write(id, pieces(bytes, [ctx.capabilities.chunkBytes]))
        // Warm up first, so lazily opened resources of the store itself are not counted as leaks.
        await readAll(store, id)
        for (const taken of [0, 1, 3]) {
          const before = openFds()
          const rounds = 10
          for (let i = 0; i < rounds; i++) {
            const stream = await store.read(id)
            if (stream === undefined) throw ctx.failure('the object vanished')
            const it = stream[Symbol.asyncIterator]()
            for (let n = 0; n < taken; n++) await within(it.next(), 10_000, 'reading a piece')
            // What `break` in `for await`, or a cancelled HTTP response, does.
            await within(Promise.resolve(it.return?.()), 10_000, `cancelling a read after ${taken} pieces`)
          }
          const after = openFds()
          if (before !== undefined && after !== undefined && after - before >= rounds / 2) {
            throw ctx.failure(`${rounds} reads cancelled after ${taken} piece(s) left ${after - before} more file descriptors open (before ${before}, after ${after})`)
          }
        }
        expectBytes(ctx, 'a full read after cancelled ones', await readAll(store, id), bytes)
        await store.delete(id)
        if ((await store.read(id)) !== undefined) throw ctx.failure('the object is still readable after a delete that followed cancelled reads')
      },
    },
    {
      id: 'blobs/concurrent-writes',
      title: 'objects written at once, with interleaved pieces, some with the same content under different ids, each read back whole and listed',
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(fc.uniqueArray(idArb, { minLength: 2, maxLength: 6 }), fc.array(fc.nat({ max: 2 }), { minLength: 6, maxLength: 6 }), (ids, contents) =>
            ctx.withStore(async (store) => {
              const c = ctx.capabilities.chunkBytes
              // Content k is shared by every id assigned k: the registry uploads one blob under a fresh id per push.
              const shared = [0, 1, 2].map((k) => blobContent(`content-${k}`, Math.min(k * c + 17, ctx.capabilities.maxObjectBytes ?? Number.POSITIVE_INFINITY)))
              const want = ids.map((_, i) => shared[contents[i]!]!)
              await Promise.all(ids.map((id, i) => store.write(id, pieces(want[i]!, [Math.max(1, c >> 2), 7], tick))))
              for (const [i, id] of ids.entries()) {
                const got = await readAll(store, id)
                if (!sameBytes(got, want[i])) throw new Error(`${id} (content ${contents[i]}) read back ${got === undefined ? 'absent' : `${got.length} bytes, not its own`} after concurrent writes`)
              }
              const listed = await allIds(store)
              for (const id of ids) if (!listed.includes(id)) throw new Error(`ids() does not list ${id}`)
            }),
          ),
          10,
        )
      },
    },
    {
      id: 'blobs/delete-and-ids',
      title: 'delete removes exactly its object (others with the same content stay); ids() lists exactly the stored objects, ascending; deleting an absent id is a no-op',
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(fc.uniqueArray(fc.tuple(idArb, fc.nat({ max: 1 }), fc.boolean()), { selector: ([id]) => id, minLength: 1, maxLength: 8 }), (objects) =>
            ctx.withStore(async (store) => {
              const content = (k: number) => blobContent(`content-${k}`, k === 0 ? 1 : ctx.capabilities.chunkBytes + 3)
              for (const [id, k] of objects) await store.write(id, pieces(content(k), [4096]))
              const doomed = objects.filter(([, , d]) => d).map(([id]) => id)
              for (const id of doomed) await store.delete(id)
              await store.delete(doomed[0] ?? 'never-written') // twice, or never written: nothing happens
              const kept = objects.filter(([, , d]) => !d)
              const want = kept.map(([id]) => id).sort(compareKeys)
              const listed = await allIds(store)
              if (listed.join(' ') !== want.join(' ')) throw new Error(`ids() gave [${listed.join(', ')}], expected [${want.join(', ')}]`)
              for (const id of doomed) if ((await store.read(id)) !== undefined) throw new Error(`deleted ${id} still reads as present`)
              for (const [id, k] of kept) {
                const got = await readAll(store, id)
                if (!sameBytes(got, content(k))) throw new Error(`${id} read back ${got === undefined ? 'absent' : `${got.length} bytes`} after other objects (some with its content) were deleted`)
              }
            }),
          ),
          20,
        )
      },
    },
    {
      id: 'blobs/limits',
      title: 'an empty id is invalid-parameters everywhere; a write whose source fails rejects with that error and leaves no object',
      async run(ctx) {
        const store = await ctx.open()
        await rejectsWith(store.write('', pieces(new Uint8Array([1]), [1])), 'invalid-parameters', 'write of an empty id')
        await rejectsWith(store.read(''), 'invalid-parameters', 'read of an empty id')
        await rejectsWith(store.delete(''), 'invalid-parameters', 'delete of an empty id')
        const id = 'failing-source'
        const boom = new Error('the source failed')
        const c = ctx.capabilities.chunkBytes
        for (const failAt of [0, 1, c + 1, 2 * c]) {
          async function* failing() {
            yield* pieces(blobContent(id, failAt), [Math.max(1, c >> 1)])
            throw boom
          }
          try {
            await store.write(id, failing())
            throw ctx.failure(`a write whose source failed after ${failAt} bytes succeeded`)
          } catch (e) {
            if (e !== boom) throw ctx.failure(`a write whose source failed after ${failAt} bytes rejected with ${String(e)}, not the source's own error`)
          }
          if ((await store.read(id)) !== undefined) throw ctx.failure(`a write whose source failed after ${failAt} bytes left a readable object`)
          if ((await allIds(store)).includes(id)) throw ctx.failure(`a write whose source failed after ${failAt} bytes left its id listed`)
        }
        const listed = await allIds(store)
        if (listed.length !== 0) throw ctx.failure(`refused and failed writes left objects: [${listed.join(', ')}]`)
      },
    },
    {
      id: 'blobs/max-object-bytes',
      title: 'an object of exactly maxObjectBytes round-trips; one byte more is invalid-parameters and leaves no object',
      needs: ['maxObjectBytes'],
      async run(ctx) {
        const max = ctx.capabilities.maxObjectBytes!
        const store = await ctx.open()
        const at = blobContent('at-limit', max)
        await store.write('at-limit', pieces(at, [ctx.capabilities.chunkBytes]))
        expectBytes(ctx, `an object of exactly ${max} bytes`, await readAll(store, 'at-limit'), at)
        await rejectsWith(store.write('over-limit', pieces(blobContent('over-limit', max + 1), [ctx.capabilities.chunkBytes])), 'invalid-parameters', `an object of ${max + 1} bytes`)
        if ((await store.read('over-limit')) !== undefined) throw ctx.failure('a refused object is readable')
      },
    },
    {
      id: 'blobs/after-close',
      title: 'after close every call rejects with unavailable promptly; a read started before close settles',
      needs: ['close'],
      async run(ctx) {
        const store = await ctx.open()
        const bytes = blobContent('before-close', 3 * ctx.capabilities.chunkBytes)
        await store.write('before-close', pieces(bytes, [ctx.capabilities.chunkBytes]))
        const open = await store.read('before-close')
        await within(ctx.close(store), 10_000, 'close()')
        if (open) {
          const drained = (async () => {
            for await (const _ of open) {
              // drain
            }
          })().then(
            () => 'ok',
            (e: unknown) => (isApprError(e, 'unavailable') ? 'unavailable' : String(e)),
          )
          const outcome = await within(drained, 10_000, 'a read started before close()')
          if (outcome !== 'ok' && outcome !== 'unavailable') throw ctx.failure(`a read started before close() ended with ${outcome}`)
        }
        await rejectsWith(within(store.write('after-close', pieces(bytes, [1024])), 10_000, 'write after close'), 'unavailable', 'write after close')
        await rejectsWith(within(store.read('before-close'), 10_000, 'read after close'), 'unavailable', 'read after close')
        await rejectsWith(within(store.delete('before-close'), 10_000, 'delete after close'), 'unavailable', 'delete after close')
        await rejectsWith(within(allIds(store), 10_000, 'ids after close'), 'unavailable', 'ids after close')
        await within(ctx.close(store), 10_000, 'a second close()')
      },
    },
    {
      id: 'blobs/crash-during-write',
      title: 'a writer SIGKILLed at random moments: every acknowledged object reads back whole after reopening, and no half-written object is readable or listed',
      needs: ['persistent', 'worker', 'newLocation'],
      async run(ctx) {
        const rounds = ctx.runs(4)
        for (let round = 0; round < rounds; round++) {
          const location = await ctx.freshLocation()
          const spin = Math.abs(ctx.settings.seed ^ Math.imul(round + 1, 0x9e3779b1))
          const acked = await ctx.killAfter(location, 'blob-writes', { chunkBytes: ctx.capabilities.chunkBytes }, spin % 4, () => new Promise((r) => setTimeout(r, (spin >> 4) % 15)))
          const store = await within(ctx.openAt(location), 30_000, 'reopening after SIGKILL')
          const listed = new Set(await allIds(store))
          for (let i = 0; i <= acked + 1; i++) {
            const id = crashObjectId(i, ctx.capabilities.chunkBytes)
            const got = await readAll(store, id)
            if (got === undefined) {
              if (i <= acked) throw ctx.failure(`round ${round}: object ${id} was acknowledged before SIGKILL but is gone`)
              if (listed.has(id)) throw ctx.failure(`round ${round}: ${id}, written when the writer was killed, is listed by ids() but cannot be read`)
              continue
            }
            expectBytes(ctx, `round ${round}: object ${id} after SIGKILL${i > acked ? ' (being written when killed)' : ''}`, got, blobContent(id, crashObjectSize(id)))
          }
          for (const id of listed) {
            const got = await readAll(store, id)
            if (got === undefined) throw ctx.failure(`round ${round}: ids() lists ${id}, which cannot be read`)
            expectBytes(ctx, `round ${round}: listed object ${id}`, got, blobContent(id, crashObjectSize(id)))
          }
        }
      },
    },
  ],
}

/** Id of object `i` of the blob-writes job; its size (2–5 chunks plus a remainder) is part of the id. */
export function crashObjectId(i: number, chunkBytes: number): string {
  return `crash/${String(i).padStart(6, '0')}-${(2 + (i % 4)) * chunkBytes + ((i * 37) % 101)}`
}

/** The size {@link crashObjectId} put into `id`. */
export function crashObjectSize(id: string): number {
  return Number(id.slice(id.lastIndexOf('-') + 1))
}
