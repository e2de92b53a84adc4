/**
 * Reproducible packing of a chart directory into a gzipped tar.
 *
 * The same tree always gives the same appr digest: entries are sorted by the UTF-8 bytes of their
 * path; mtime is 0, uid/gid 0, uname/gname empty; modes are 0644 (0755 when any execute bit is
 * set) and 0777 for symlinks; directories get no entries of their own (empty ones are dropped, as
 * `helm package` does). The gzip header is fixed too (no file name, mtime 0, OS byte 255
 * "unknown"), so with the same zlib the gzip bytes, and so the OCI digest and size, match as well.
 * @module
 */
import { createReadStream } from 'node:fs'
import { lstat, readdir, readFile, readlink } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { createGzip } from 'node:zlib'
import ignore from 'ignore'
import { pack as tarPack } from 'tar-stream'
import invariant from 'tiny-invariant'
import { parse as parseYaml } from 'yaml'
import { ApprError } from '../errors/index.js'
import { resolveLimits } from './limits.js'
import { checkEntryHeader } from './paths.js'

/** Options of {@link packDirectory}. */
export interface PackOptions {
  /**
   * Put every entry under `<prefix>/`, as Helm packages have it. `true`: the `name` of the
   * directory's `Chart.yaml`, else the directory's own name. `false`: no prefix (appr/kpm
   * layout). Default: `true` for a directory with a `Chart.yaml` (Helm's loader expects the
   * chart's folder as the first path segment), `false` otherwise.
   */
  readonly prefix?: string | boolean
  /** More gitignore-style patterns, on top of the directory's `.helmignore` and `.apprignore`. */
  readonly ignore?: readonly string[]
  /** gzip level (default 9). The appr digest does not depend on it; the gzip bytes do. */
  readonly level?: number
}

/** One file to pack. */
interface PackEntry {
  /** Path inside the archive, `/`-separated. */
  readonly path: string
  readonly source: string
  readonly kind: 'file' | 'symlink'
  readonly size: number
  readonly executable: boolean
  readonly linkname?: string
}

const IGNORE_FILES = ['.helmignore', '.apprignore']

const byUtf8 = (a: PackEntry, b: PackEntry) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

/** The prefix `true` stands for: Chart.yaml's `name`, else the directory name. */
async function chartName(dir: string): Promise<string> {
  const text = await readText(join(dir, 'Chart.yaml'))
  if (text !== undefined) {
    const doc: unknown = parseYaml(text)
    const name = typeof doc === 'object' && doc !== null ? (doc as { name?: unknown }).name : undefined
    if (typeof name === 'string' && name !== '') return name
  }
  return basename(resolve(dir))
}

/** Lists what goes into the archive: every regular file and symlink not ignored, sorted. */
async function collect(dir: string, extraIgnores: readonly string[]): Promise<PackEntry[]> {
  const rules = ignore()
  for (const name of IGNORE_FILES) {
    const text = await readText(join(dir, name))
    if (text !== undefined) rules.add(text)
  }
  rules.add([...extraIgnores])
  const out: PackEntry[] = []
  const walk = async (rel: string): Promise<void> => {
    const names = await readdir(join(dir, rel))
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`
      const source = join(dir, path)
      const stat = await lstat(source)
      if (stat.isDirectory()) {
        if (!rules.ignores(`${path}/`)) await walk(path)
      } else if (rules.ignores(path)) {
        // ignored file or link
      } else if (stat.isFile()) {
        out.push({ path, source, kind: 'file', size: stat.size, executable: (stat.mode & 0o111) !== 0 })
      } else if (stat.isSymbolicLink()) {
        out.push({ path, source, kind: 'symlink', size: 0, executable: false, linkname: await readlink(source) })
      } else {
        throw new ApprError('invalid-usage', 'only files, directories and symlinks can be packed', { details: { entry: path, reason: 'device-file' } })
      }
    }
  }
  await walk('')
  return out.sort(byUtf8)
}

/**
 * Packs `dir` into a gzipped tar, streamed. Files are read one at a time, so memory does not
 * grow with the tree. Each entry passes the same path rules as validation (a symlink pointing
 * outside the tree is an error, not a hostile archive).
 *
 * @throws {@link ApprError} `invalid-usage` (with `details.reason`) for a path the rules reject,
 * or the file system's error.
 * @example
 * ```ts
 * // A chart: every entry under nginx/ (Chart.yaml's name), as `helm package` writes it.
 * await pipeline(Readable.from(packDirectory('./nginx')), createWriteStream('nginx.tgz'))
 * ```
 */
export async function* packDirectory(dir: string, options: PackOptions = {}): AsyncGenerator<Uint8Array> {
  const wanted = options.prefix ?? (await readText(join(dir, 'Chart.yaml'))) !== undefined
  const prefix = wanted === true ? await chartName(dir) : wanted === false ? undefined : wanted
  if (prefix !== undefined && (prefix === '' || /[/\\]/.test(prefix) || prefix === '.' || prefix === '..')) {
    throw new ApprError('invalid-usage', 'prefix must be a single path segment', { details: { prefix } })
  }
  const entries = await collect(dir, options.ignore ?? [])
  if (entries.length === 0) throw new ApprError('invalid-usage', 'nothing to pack', { details: { reason: 'empty' } })
  const limits = resolveLimits()
  const headers = entries.map((e) => {
    const header = {
      name: prefix === undefined ? e.path : `${prefix}/${e.path}`,
      type: e.kind,
      size: e.size,
      mode: e.kind === 'symlink' ? 0o777 : e.executable ? 0o755 : 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
      ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
    }
    const problem = checkEntryHeader({ ...header, linkname: e.linkname ?? null }, { ...limits, maxEntryBytes: Number.POSITIVE_INFINITY })
    if (problem) throw problem
    return header
  })

  const tar = tarPack()
  const gzip = createGzip({ level: options.level ?? 9 })
  tar.on('error', (e: unknown) => gzip.destroy(e as Error))
  tar.pipe(gzip)
  const feeding = (async () => {
    for (const [i, header] of headers.entries()) {
      const entry = entries[i]!
      await new Promise<void>((resolveEntry, reject) => {
        const sink = tar.entry(header, (e) => (e ? reject(e) : resolveEntry()))
        // "Size mismatch" when the file changed since it was listed.
        sink.on('error', reject)
        if (entry.kind === 'file') createReadStream(entry.source).on('error', reject).pipe(sink)
      })
    }
    tar.finalize()
  })()
  feeding.catch((e: unknown) => tar.destroy(e as Error))

  let first = true
  for await (const chunk of gzip as AsyncIterable<Buffer>) {
    if (first) {
      invariant(chunk.length >= 10, 'zlib emits the whole gzip header in its first chunk')
      // Byte 9 of the gzip header is the OS that wrote it; zlib fills in the build platform's.
      chunk[9] = 0xff
      first = false
    }
    yield chunk
  }
  await feeding
}
