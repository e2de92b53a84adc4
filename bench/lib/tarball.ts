/**
 * Test blobs: small per-package chart tarballs (built synchronously, so thousands are cheap) and
 * large tarballs streamed on the fly (so the generator itself holds almost no memory).
 */
import { randomBytes } from 'node:crypto'
import { createGzip, gzipSync } from 'node:zlib'

const BLOCK = 512

/** A ustar header for a regular file (or a directory when `size` is undefined). */
function header(name: string, size: number | undefined): Uint8Array {
  const h = Buffer.alloc(BLOCK)
  h.write(name, 0, 100, 'utf8')
  const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, '0')}\0`
  h.write(octal(size === undefined ? 0o755 : 0o644, 8), 100)
  h.write(octal(0, 8), 108)
  h.write(octal(0, 8), 116)
  h.write(octal(size ?? 0, 12), 124)
  h.write(octal(1_700_000_000, 12), 136)
  h.write('        ', 148) // checksum placeholder: spaces while summing
  h.write(size === undefined ? '5' : '0', 156)
  h.write('ustar\0', 257)
  h.write('00', 263)
  let sum = 0
  for (const byte of h) sum += byte
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  return h
}

/** An uncompressed tar of `files` (name → content), with its top directory. */
export function tar(dir: string, files: Record<string, string | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [header(`${dir}/`, undefined)]
  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === 'string' ? Buffer.from(content) : content
    parts.push(header(`${dir}/${name}`, data.byteLength), data, new Uint8Array((BLOCK - (data.byteLength % BLOCK)) % BLOCK))
  }
  parts.push(new Uint8Array(BLOCK * 2))
  return Buffer.concat(parts)
}

/**
 * A ~1 KB gzipped Helm-chart-like tarball unique to package `i` (unique content, so no two
 * pushes share a blob and deduplication cannot flatter the registry).
 */
export function chartBlob(i: number): Uint8Array {
  const name = `pkg-${i}`
  const noise = randomBytes(480).toString('hex')
  return gzipSync(
    tar(name, {
      'Chart.yaml': `apiVersion: v1\nname: ${name}\nversion: 1.0.0\ndescription: benchmark chart ${i}\n`,
      'values.yaml': `replicaCount: 1\nimage:\n  repository: example/${name}\n  tag: "${i}"\nseed: ${noise}\n`,
      'templates/deployment.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-${name}\n`,
    }),
  )
}

/**
 * Hex text (compresses roughly 2:1, like real chart content, and gzip stays fast on it), served
 * as views of one 4 MiB pool at pseudo-random offsets: generating a large blob then allocates
 * almost nothing, so a peak-RSS measurement sees the registry's memory, not the generator's.
 * Pieces repeat only far apart (beyond deflate's 32 KiB window), so they compress like fresh text.
 */
const POOL = Buffer.from(randomBytes(2 * 1024 * 1024).toString('hex'))
let poolSeed = 0x9e3779b9
function hexChunk(bytes: number): Uint8Array {
  poolSeed = (Math.imul(poolSeed, 1664525) + 1013904223) >>> 0
  const at = poolSeed % (POOL.length - bytes)
  return POOL.subarray(at, at + bytes)
}

/**
 * A gzipped tar of about `tarBytes` uncompressed bytes, generated while it is consumed: entries
 * of at most 64 MiB, 256 KiB at a time. Memory held: one piece plus zlib's buffers.
 */
export async function* streamedBlob(tarBytes: number, level = 1): AsyncGenerator<Uint8Array> {
  const gzip = createGzip({ level })
  const entryMax = 64 * 1024 * 1024
  const piece = 256 * 1024
  const produce = async () => {
    const write = (chunk: Uint8Array) => (gzip.write(chunk) ? undefined : new Promise<void>((r) => gzip.once('drain', () => r())))
    await write(header('big/', undefined))
    let left = tarBytes
    for (let n = 0; left > 0; n++) {
      const size = Math.min(entryMax, left)
      await write(header(`big/part-${n}.txt`, size))
      for (let done = 0; done < size; done += piece) await write(hexChunk(Math.min(piece, size - done)))
      const pad = (BLOCK - (size % BLOCK)) % BLOCK
      if (pad) await write(new Uint8Array(pad))
      left -= size
    }
    await write(new Uint8Array(BLOCK * 2))
    gzip.end()
  }
  const producing = produce().catch((e: unknown) => gzip.destroy(e as Error))
  for await (const chunk of gzip) yield chunk as Uint8Array
  await producing
}

/** Collects an async iterable into chunks (for blobs held in memory on purpose). */
export async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const chunk of source) out.push(chunk)
  return out
}
