/**
 * A {@link BlobStore} of plain files in a directory: the companion of the level adapter for
 * large blobs. LevelDB reads its table files through `mmap`, so blobs kept as chunks inside
 * LevelDB make the process's RSS grow with the blob being pulled, and every chunk is rewritten
 * by compaction; files are written once, streamed with a bounded buffer, and renamed into place
 * only when complete (a crash mid-write leaves an invisible temp file, never a partial object).
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'
import { ApprError } from '../../src/errors/index.js'
import type { BlobStore } from '../../src/storage/blob.js'
import { backendError, compareKeys } from '../../src/storage/util.js'

/** Options of {@link fileBlobStore}. */
export interface FileBlobStoreOptions {
  /** Directory of the objects; created when missing. */
  readonly path: string
  /** `fsync` each object before it becomes visible (default `false`, as {@link LevelStoreOptions.sync}). */
  readonly sync?: boolean
  /** Bytes per read when streaming an object out (default 256 KiB). */
  readonly readChunkBytes?: number
}

const TEMP = '.tmp-'
const SAFE = /[A-Za-z0-9_-]/

/** One id segment as a file name: every byte outside `[A-Za-z0-9_-]` percent-encoded (so `.`, `..` and `:` are safe everywhere). */
function encodeSegment(segment: string): string {
  let out = ''
  for (const char of segment) {
    if (SAFE.test(char)) out += char
    else for (const byte of new TextEncoder().encode(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

function assertId(id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > 512 || !id.isWellFormed() || id.split('/').some((s) => s === '')) {
    throw new ApprError('invalid-parameters', 'a blob object id must be a non-empty path of non-empty segments', { details: { id } })
  }
}

const isMissing = (e: unknown) => (e as { code?: string }).code === 'ENOENT'

/**
 * Creates a {@link BlobStore} that keeps each object as one file under `options.path` (an id's
 * `/`-separated segments become directories).
 *
 * @example
 * ```ts
 * const registry = new Registry({
 *   store: levelStore({ path: './appr-data/kv' }),
 *   blobs: fileBlobStore({ path: './appr-data/blobs' }),
 * })
 * ```
 */
export function fileBlobStore(options: FileBlobStoreOptions): BlobStore {
  const root = options.path
  const readChunk = Math.max(4096, options.readChunkBytes ?? 256 * 1024)
  const fileOf = (id: string) => {
    assertId(id)
    const file = join(root, ...id.split('/').map(encodeSegment))
    if (file.split(sep).some((part) => part.length > 255)) {
      throw new ApprError('invalid-parameters', 'a blob object id segment is too long for a file name', { details: { id } })
    }
    return file
  }

  return {
    async write(id, chunks) {
      const file = fileOf(id)
      await mkdir(dirname(file), { recursive: true })
      const temp = `${dirname(file)}${sep}${TEMP}${randomBytes(8).toString('hex')}`
      const handle = await open(temp, 'wx')
      try {
        try {
          for await (const chunk of chunks) {
            // Awaiting each write keeps at most one chunk in flight: memory does not grow with the object.
            for (let at = 0; at < chunk.byteLength; ) at += (await handle.write(chunk, at, chunk.byteLength - at)).bytesWritten
          }
          if (options.sync) await handle.sync()
        } finally {
          await handle.close()
        }
        await rename(temp, file)
      } catch (e) {
        await unlink(temp).catch(() => undefined)
        // The source's own error (a rejected archive) passes through unchanged.
        throw e
      }
    },

    async read(id) {
      const file = fileOf(id)
      let size: number
      try {
        const found = await stat(file)
        if (!found.isFile()) return undefined
        size = found.size
      } catch (e) {
        if (isMissing(e)) return undefined
        throw backendError('file-blobs', e)
      }
      // Opened on the first chunk asked for, not here: a caller that never reads (a HEAD, a
      // client gone before the body) holds no descriptor, and a generator never started needs
      // no `return` to release one. Once open, a concurrent delete (gc) no longer cuts it short.
      let started = false
      return {
        async *[Symbol.asyncIterator]() {
          if (started) throw new Error('a blob stream can only be consumed once')
          started = true
          let handle: Awaited<ReturnType<typeof open>>
          try {
            handle = await open(file, 'r')
          } catch (e) {
            throw backendError('file-blobs', e)
          }
          try {
            // Objects never change once written: buffers sized to what is left, and no read past
            // the end. A 256 KiB buffer (and a second one to see EOF) per 1 KB chart made serve's
            // RSS climb by ~40 MiB more while its first pulls filled the blob cache.
            let left = size
            while (left > 0) {
              const want = Math.min(readChunk, left)
              const buffer = new Uint8Array(want)
              const { bytesRead } = await handle.read(buffer, 0, want, null)
              if (bytesRead === 0) return
              left -= bytesRead
              yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead)
            }
          } finally {
            await handle.close()
          }
        },
      }
    },

    async delete(id) {
      try {
        await unlink(fileOf(id))
      } catch (e) {
        if (!isMissing(e)) throw backendError('file-blobs', e)
      }
    },

    async *ids() {
      const found: string[] = []
      const walk = async (dir: string, prefix: string): Promise<void> => {
        let entries: import('node:fs').Dirent[]
        try {
          entries = await readdir(dir, { withFileTypes: true })
        } catch (e) {
          if (isMissing(e)) return
          throw e
        }
        for (const entry of entries) {
          if (entry.name.startsWith(TEMP)) continue
          const id = prefix + decodeURIComponent(entry.name)
          if (entry.isDirectory()) await walk(join(dir, entry.name), `${id}/`)
          else if (entry.isFile()) found.push(id)
        }
      }
      await walk(root, '')
      yield* found.sort(compareKeys)
    },
  }
}
