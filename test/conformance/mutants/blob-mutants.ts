// Deliberately broken BlobStores, each breaking one guarantee of the BlobStore part. The
// in-memory ones start from a correct map of objects; the file ones (persistent, with a worker
// module: this file exports openBlobs) from a correct directory of files. A file location is
// `<dir>#<bug>`, so the worker opens the same broken variant.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BlobStore } from 'appr-core'
import { ApprError } from 'appr-core'
import type { BlobConformanceOptions } from 'appr-core/conformance'

/** A broken BlobStore and how the suite opens it. */
export interface BlobMutant extends Omit<BlobConformanceOptions, 'name'> {
  readonly name: string
  readonly bug: string
}

const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts))

function assertId(id: string) {
  if (id === '') throw new ApprError('invalid-parameters', 'empty id')
}

/** A correct in-memory BlobStore with some methods replaced; `closed` makes every call fail. */
function memoryBlobs(overrides: (objects: Map<string, Uint8Array>) => Partial<BlobStore> = () => ({})): BlobStore & { closed: boolean } {
  const objects = new Map<string, Uint8Array>()
  const o = overrides(objects)
  const self = {
    closed: false,
    alive() {
      if (self.closed) throw new ApprError('unavailable', 'closed')
    },
    async write(id: string, chunks: AsyncIterable<Uint8Array>) {
      self.alive()
      assertId(id)
      if (o.write) return o.write(id, chunks)
      const parts: Uint8Array[] = []
      for await (const c of chunks) parts.push(new Uint8Array(c))
      objects.set(id, concat(parts))
    },
    async read(id: string) {
      self.alive()
      assertId(id)
      if (o.read) return o.read(id)
      const bytes = objects.get(id)
      return bytes && (async function* () {
        yield new Uint8Array(bytes)
      })()
    },
    async delete(id: string) {
      self.alive()
      assertId(id)
      if (o.delete) return o.delete(id)
      objects.delete(id)
    },
    async *ids() {
      self.alive()
      yield* [...objects.keys()].sort()
    },
  }
  return self
}

const small = { capabilities: { chunkBytes: 4096 } }

type FileBug = 'leakOnCancel' | 'inPlace'

/** A directory of files, correct unless `bug`: leakOnCancel closes a read's file only at its end; inPlace writes straight into the final file. */
export function openBlobs(location: string): BlobStore {
  const [dir, bug] = location.split('#') as [string, FileBug]
  const file = (id: string) => {
    assertId(id)
    return join(dir, encodeURIComponent(id))
  }
  return {
    async write(id, chunks) {
      await mkdir(dir, { recursive: true })
      const target = bug === 'inPlace' ? file(id) : join(dir, `.tmp-${randomBytes(6).toString('hex')}`)
      const handle = await open(target, 'wx')
      try {
        for await (const c of chunks) await handle.write(c)
        await handle.close()
        if (target !== file(id)) await rename(target, file(id))
      } catch (e) {
        await handle.close().catch(() => {})
        await unlink(target).catch(() => {})
        throw e
      }
    },
    async read(id) {
      if (bug !== 'leakOnCancel') {
        // Read whole: no handle is held while the caller consumes the stream.
        const bytes = await readFile(file(id)).catch(() => undefined)
        return bytes && (async function* () {
          for (let at = 0; at < bytes.length; at += 4096) yield new Uint8Array(bytes.subarray(at, at + 4096))
        })()
      }
      const handle = await open(file(id), 'r').catch(() => undefined)
      if (!handle) return undefined
      return (async function* () {
        for (;;) {
          const { bytesRead, buffer } = await handle.read(new Uint8Array(4096), 0, 4096, null)
          if (bytesRead === 0) break
          yield buffer.subarray(0, bytesRead)
        }
        await handle.close()
      })()
    },
    async delete(id) {
      await unlink(file(id)).catch(() => {})
    },
    async *ids() {
      const names = await readdir(dir).catch(() => [] as string[])
      yield* names.filter((n) => !n.startsWith('.tmp-')).map(decodeURIComponent).sort()
    },
  }
}

const fileVariant = (name: string, bug: FileBug, what: string): BlobMutant => ({
  name,
  bug: what,
  open: openBlobs,
  capabilities: { persistent: true, chunkBytes: 4096 },
  newLocation: () => `${mkdtempSync(join(tmpdir(), 'blob-mutant-'))}#${bug}`,
  destroy: (location) => rmSync(location.split('#')[0]!, { recursive: true, force: true }),
  worker: new URL('./blob-mutants.ts', import.meta.url),
})

export const blobMutants: BlobMutant[] = [
  {
    name: 'empty-object-absent',
    bug: 'an object of zero bytes is never stored, so it reads as absent',
    ...small,
    open: () =>
      memoryBlobs((objects) => ({
        async write(id, chunks) {
          const parts: Uint8Array[] = []
          for await (const c of chunks) parts.push(new Uint8Array(c))
          if (parts.some((p) => p.length > 0)) objects.set(id, concat(parts))
        },
      })),
  },
  fileVariant('file-blobs-leak-on-cancel', 'leakOnCancel', 'a read closes its file only when the stream reaches its end, so a cancelled read leaks it'),
  {
    name: 'shared-staging-buffer',
    bug: 'writes gather pieces in one staging list per store, so concurrent writes mix their bytes',
    ...small,
    open: () => {
      let staging: Uint8Array[] = []
      return memoryBlobs((objects) => ({
        async write(id, chunks) {
          for await (const c of chunks) staging.push(new Uint8Array(c))
          objects.set(id, concat(staging))
          staging = []
        },
      }))
    },
  },
  {
    name: 'dedup-delete-drops-shared',
    bug: 'content-addressed storage without reference counts: deleting one id deletes the content other ids share',
    ...small,
    open: () =>
      memoryBlobs((objects) => ({
        async delete(id) {
          const bytes = objects.get(id)
          for (const [other, b] of objects) if (bytes && Buffer.compare(b, bytes) === 0) objects.delete(other)
        },
      })),
  },
  {
    name: 'keeps-failed-write',
    bug: 'a write whose source fails keeps the bytes received so far as the object',
    ...small,
    open: () =>
      memoryBlobs((objects) => ({
        async write(id, chunks) {
          const parts: Uint8Array[] = []
          try {
            for await (const c of chunks) parts.push(new Uint8Array(c))
          } finally {
            objects.set(id, concat(parts))
          }
        },
      })),
  },
  { name: 'blob-close-ignored', bug: 'close does nothing: calls after close still succeed', ...small, open: () => memoryBlobs(), close: () => {} },
  fileVariant('file-blobs-in-place', 'inPlace', 'writes straight into the final file (removed again only on an error it sees), so a killed writer leaves half an object'),
]
