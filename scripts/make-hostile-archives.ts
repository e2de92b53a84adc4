/**
 * Generates a corpus of hostile package archives, each of which `validateBlob` (and so every push
 * and restore) must reject with a typed error, in bounded time and memory.
 *
 *   node --import tsx scripts/make-hostile-archives.ts [DIR]
 *
 * writes them into DIR (default: a new temporary directory) and prints one line per file with
 * the expected error code and reason. The tests import {@link makeHostileArchives} directly.
 */
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { createGzip, gzipSync } from 'node:zlib'

/** Tar type flags by name. */
const TYPEFLAG = { file: '0', link: '1', symlink: '2', 'character-device': '3', 'block-device': '4', directory: '5', fifo: '6' } as const

/** One raw tar header as the tests want it, including lies (a size with no data behind it). */
export interface RawHeader {
  name: string
  type?: keyof typeof TYPEFLAG
  size?: number
  linkname?: string
  mode?: number
}

function field(block: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text)
  if (bytes.length > length) throw new Error(`tar field too long: ${text}`)
  block.set(bytes, offset)
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`
}

/** A 512-byte ustar header block. Names up to 100 bytes. */
export function tarHeader(h: RawHeader): Uint8Array {
  const block = new Uint8Array(512)
  field(block, 0, 100, h.name)
  field(block, 100, 8, octal(h.mode ?? 0o644, 8))
  field(block, 108, 8, octal(0, 8))
  field(block, 116, 8, octal(0, 8))
  field(block, 124, 12, octal(h.size ?? 0, 12))
  field(block, 136, 12, octal(0, 12))
  field(block, 148, 8, '        ')
  field(block, 156, 1, TYPEFLAG[h.type ?? 'file'])
  field(block, 157, 100, h.linkname ?? '')
  field(block, 257, 8, 'ustar\u000000')
  let sum = 0
  for (const b of block) sum += b
  field(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `)
  return block
}

/** A header followed by its data, padded to a 512-byte boundary. */
export function tarEntry(h: RawHeader, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const padded = Math.ceil(data.length / 512) * 512
  const out = new Uint8Array(512 + padded)
  out.set(tarHeader({ ...h, size: h.size ?? data.length }), 0)
  out.set(data, 512)
  return out
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = new Uint8Array(1024)

/** A gzipped tar of the given entries (each a raw header with optional text content). */
export function tarGz(entries: readonly (RawHeader & { data?: string })[]): Uint8Array {
  const parts = entries.map(({ data, ...h }) => tarEntry(h, new TextEncoder().encode(data ?? '')))
  return gzipSync(Buffer.concat([...parts, TAR_END]))
}

/** One file of the corpus and how it must be rejected. */
export interface HostileArchive {
  /** Short name, also the file name without `.tar.gz`. */
  readonly name: string
  readonly file: string
  readonly code: 'invalid-usage' | 'payload-too-large'
  readonly reason: string
  /** What it is, for the report. */
  readonly description: string
}

async function writeGzipStream(file: string, parts: () => Iterable<Uint8Array>): Promise<void> {
  await pipeline(Readable.from(parts()), createGzip({ level: 9 }), createWriteStream(file))
}

/** Writes the corpus into `dir` and describes each file. The largest file is about 1 MB. */
export async function makeHostileArchives(dir: string): Promise<HostileArchive[]> {
  await mkdir(dir, { recursive: true })
  const out: HostileArchive[] = []
  const add = (name: string, code: HostileArchive['code'], reason: string, description: string) => {
    const entry = { name, file: join(dir, `${name}.tar.gz`), code, reason, description }
    out.push(entry)
    return entry.file
  }

  // 200 MiB of zeros in one entry (under the 256 MiB entry limit): ~200 KB of gzip, ratio ~1000.
  const bombBytes = 200 * 1024 * 1024
  await writeGzipStream(add('gzip-bomb', 'invalid-usage', 'ratio-exceeded', 'one 200 MiB entry of zeros'), function* () {
    yield tarHeader({ name: 'zeros.bin', size: bombBytes })
    const zeros = new Uint8Array(1024 * 1024)
    for (let i = 0; i < bombBytes / zeros.length; i++) yield zeros
    yield TAR_END
  })

  await writeGzipStream(add('many-entries', 'invalid-usage', 'too-many-entries', '100,000 empty files'), function* () {
    for (let i = 0; i < 100_000; i++) yield tarHeader({ name: `f/${i}` })
    yield TAR_END
  })

  await writeFile(add('dotdot', 'invalid-usage', 'path-traversal', 'an entry ../../etc/passwd'), tarGz([{ name: 'chart/Chart.yaml', data: 'name: x\n' }, { name: '../../etc/passwd', data: 'root::0:0::/:/bin/sh\n' }]))
  await writeFile(add('absolute', 'invalid-usage', 'absolute-path', 'an entry /etc/passwd'), tarGz([{ name: '/etc/passwd', data: 'root::0:0::/:/bin/sh\n' }]))
  await writeFile(add('symlink-root', 'invalid-usage', 'link-outside', 'a symlink to /'), tarGz([{ name: 'chart/root', type: 'symlink', linkname: '/' }]))

  const good = tarGz([{ name: 'chart/Chart.yaml', data: 'name: x\nversion: 1.0.0\n'.repeat(200) }])
  await writeFile(add('truncated', 'invalid-usage', 'truncated', 'a gzip stream cut in half'), good.subarray(0, Math.floor(good.length / 2)))
  await writeFile(add('not-tar', 'invalid-usage', 'not-tar', 'a valid gzip of text'), gzipSync(Buffer.from('this is not a tar archive\n'.repeat(100))))
  await writeFile(add('not-gzip', 'invalid-usage', 'not-gzip', 'plain text'), Buffer.from('this is not gzip\n'))
  await writeFile(add('huge-entry', 'invalid-usage', 'entry-too-large', 'a header declaring a 2 GiB entry'), gzipSync(tarHeader({ name: 'big.bin', size: 2 * 1024 ** 3 })))
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'appr-hostile-')))
  const corpus = await makeHostileArchives(dir)
  for (const a of corpus) console.log(`${a.file}\t${a.code}\t${a.reason}\t${a.description}`)
}
