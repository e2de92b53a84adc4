/**
 * Digest + validate throughput: the archive module's analyzeBlob (gzip hash, gunzip, tar hash,
 * tar parse with limits) beside a bare zlib.createGunzip() + sha256 pipeline, same chunks,
 * alternating runs.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { optionalImport } from '../lib/backends.js'
import { collect, streamedBlob } from '../lib/tarball.js'

export interface DigestRow {
  readonly label: string
  /** gzip bytes of the blob. */
  readonly bytes: number
  readonly tarBytes: number
  readonly runs: number
  /** Median MiB/s of gzip input. */
  readonly analyzeMiBps: number
  readonly bareMiBps: number
  /** The same bare pipeline with zlib's output chunk at 64 KiB (as analyzeBlob uses) instead of 16 KiB. */
  readonly bare64MiBps: number
  /** analyze ÷ the faster bare variant. */
  readonly ratio: number
  readonly error?: string
}

interface ArchiveModule {
  analyzeBlob(
    source: AsyncIterable<Uint8Array>,
    limits?: Record<string, number>,
  ): { chunks: AsyncIterable<Uint8Array>; facts: Promise<{ digest: string; size: number }> }
}

/** Re-cuts chunks to `size` bytes, as a file or socket would deliver them. */
function rechunk(chunks: Uint8Array[], size: number): Uint8Array[] {
  const all = Buffer.concat(chunks)
  const out: Uint8Array[] = []
  for (let at = 0; at < all.length; at += size) out.push(all.subarray(at, at + size))
  return out
}

async function* replay(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks
}

async function bare(chunks: readonly Uint8Array[], chunkSize?: number): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(Readable.from(chunks), createGunzip(chunkSize === undefined ? {} : { chunkSize }), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) hash.update(chunk)
  })
  return hash.digest('hex')
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export async function digestSection(sizes: readonly { label: string; bytes: number; runs: number }[], log: (line: string) => void): Promise<DigestRow[]> {
  const archive = await optionalImport<ArchiveModule>('appr-core/archive')
  const rows: DigestRow[] = []
  for (const { label, bytes, runs } of sizes) {
    // Hex text compresses about 2:1, so twice the tar bytes gives about `bytes` of gzip.
    const tarBytes = bytes * 2
    const chunks = rechunk(await collect(streamedBlob(tarBytes)), 64 * 1024)
    const gz = chunks.reduce((n, c) => n + c.byteLength, 0)
    const limits = { maxCompressedBytes: gz * 2, maxUncompressedBytes: tarBytes * 2, maxEntryBytes: tarBytes * 2 }
    const times = { analyze: [] as number[], bare: [] as number[], bare64: [] as number[] }
    let error: string | undefined = typeof archive === 'string' ? archive : undefined
    let expected = ''
    for (let run = 0; run < runs; run++) {
      const t0 = performance.now()
      expected = await bare(chunks)
      times.bare.push(performance.now() - t0)
      const t2 = performance.now()
      await bare(chunks, 64 * 1024)
      times.bare64.push(performance.now() - t2)
      if (typeof archive === 'string') continue
      try {
        const t1 = performance.now()
        const { chunks: checked, facts } = archive.analyzeBlob(replay(chunks), limits)
        for await (const _ of checked) {
          // drained: the registry hands these to the blob store
        }
        const { digest } = await facts
        times.analyze.push(performance.now() - t1)
        if (digest !== expected) throw new Error(`digest ${digest} differs from the bare pipeline's ${expected}`)
      } catch (e) {
        error = e instanceof Error ? e.message : String(e)
        break
      }
    }
    const mibps = (ms: number[]) => (ms.length ? gz / 2 ** 20 / (median(ms) / 1000) : Number.NaN)
    const row: DigestRow = {
      label,
      bytes: gz,
      tarBytes,
      runs,
      analyzeMiBps: mibps(times.analyze),
      bareMiBps: mibps(times.bare),
      bare64MiBps: mibps(times.bare64),
      ratio: mibps(times.analyze) / Math.max(mibps(times.bare), mibps(times.bare64)),
      ...(error === undefined ? {} : { error }),
    }
    rows.push(row)
    log(`digest ${label}: analyzeBlob ${row.analyzeMiBps.toFixed(0)} MiB/s, bare ${row.bareMiBps.toFixed(0)} MiB/s (64 KiB chunks ${row.bare64MiBps.toFixed(0)})${error ? ` (${error})` : ''}`)
  }
  return rows
}
