/**
 * Digest + validate throughput: the archive module's analyzeBlob (gzip hash, gunzip, tar hash,
 * tar parse with limits) beside a bare zlib.createGunzip() + sha256 pipeline (with zlib's output
 * chunk at 16, 64 and 256 KiB), same 64 KiB input chunks, in rounds whose order varies; ratios
 * are taken within each round against the bare variant fastest overall, and their median reported.
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
  /** Rounds; each runs every side once, in mirrored pairs of rotated orders. */
  readonly runs: number
  /** Median MiB/s of gzip input. */
  readonly analyzeMiBps: number
  /** The bare pipeline with zlib's default 16 KiB output chunks. */
  readonly bareMiBps: number
  /** The same bare pipeline with 64 KiB output chunks. */
  readonly bare64MiBps: number
  /** The same bare pipeline with 256 KiB output chunks (what analyzeBlob uses). */
  readonly bare256MiBps: number
  /**
   * Median over rounds of analyze ÷ the bare variant fastest by median (wall time), paired within
   * each round: a burst of load from other processes spoils a round, not the ratio.
   */
  readonly ratio: number
  /** The same with CPU time (all threads: zlib inflates on the thread pool), steadier on a loaded machine. */
  readonly cpuRatio: number
  /** Median CPU ms per run (all threads), analyze / the leanest bare variant. */
  readonly analyzeCpuMs: number
  readonly bareCpuMs: number
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
const med = (xs: number[]) => (xs.length ? median(xs) : Number.NaN)

type Side = 'bare' | 'bare64' | 'bare256' | 'analyze'
const BARE: readonly Side[] = ['bare', 'bare64', 'bare256']

export async function digestSection(sizes: readonly { label: string; bytes: number; runs: number }[], log: (line: string) => void): Promise<DigestRow[]> {
  const archive = await optionalImport<ArchiveModule>('appr-core/archive')
  const rows: DigestRow[] = []
  for (const { label, bytes, runs } of sizes) {
    // Hex text compresses about 2:1, so twice the tar bytes gives about `bytes` of gzip.
    const tarBytes = bytes * 2
    const chunks = rechunk(await collect(streamedBlob(tarBytes)), 64 * 1024)
    const gz = chunks.reduce((n, c) => n + c.byteLength, 0)
    const limits = { maxCompressedBytes: gz * 2, maxUncompressedBytes: tarBytes * 2, maxEntryBytes: tarBytes * 2 }
    let error: string | undefined = typeof archive === 'string' ? archive : undefined
    const expected = await bare(chunks)
    const sideRun: Record<Side, () => Promise<string>> = {
      bare: () => bare(chunks),
      bare64: () => bare(chunks, 64 * 1024),
      bare256: () => bare(chunks, 256 * 1024),
      analyze: async () => {
        if (typeof archive === 'string') throw new Error(archive)
        const { chunks: checked, facts } = archive.analyzeBlob(replay(chunks), limits)
        for await (const _ of checked) {
          // drained: the registry hands these to the blob store
        }
        return (await facts).digest
      },
    }
    const sides: Side[] = error === undefined ? [...BARE, 'analyze'] : [...BARE]
    const wall = { bare: [] as number[], bare64: [] as number[], bare256: [] as number[], analyze: [] as number[] }
    const cpu = { bare: [] as number[], bare64: [] as number[], bare256: [] as number[], analyze: [] as number[] }
    rounds: for (let run = 0; run < runs; run++) {
      // Rounds in mirrored pairs (a drift of the machine's load hits both sides of a pair alike),
      // each pair rotated, so every side runs in every position and after different sides.
      const turn = Math.floor(run / 2) % sides.length
      const rotated = [...sides.slice(turn), ...sides.slice(0, turn)]
      const order = run % 2 === 0 ? rotated : rotated.reverse()
      const ms = {} as Record<Side, number>
      const cpuMs = {} as Record<Side, number>
      for (const side of order) {
        const c0 = process.cpuUsage()
        const t0 = performance.now()
        try {
          const digest = await sideRun[side]()
          if (digest !== expected) throw new Error(`${side}: digest ${digest} differs from the bare pipeline's ${expected}`)
        } catch (e) {
          error = e instanceof Error ? e.message : String(e)
          break rounds
        }
        ms[side] = performance.now() - t0
        const c = process.cpuUsage(c0)
        cpuMs[side] = (c.user + c.system) / 1000
        wall[side].push(ms[side])
        cpu[side].push(cpuMs[side])
      }
    }
    // Against the bare variant fastest over all rounds (by median), one sample against one per
    // round: the fastest of three noisy samples in each round would flatter the bare side.
    const fastest = (xs: Record<Side, number[]>) => BARE.reduce((a, b) => (med(xs[b]) < med(xs[a]) ? b : a))
    const paired = (xs: Record<Side, number[]>) => {
      const bare = xs[fastest(xs)]
      return xs.analyze.map((a, i) => bare[i]! / a)
    }
    const ratios = error === undefined ? paired(wall) : []
    const cpuRatios = error === undefined ? paired(cpu) : []
    const mibps = (ms: number[]) => (ms.length ? gz / 2 ** 20 / (median(ms) / 1000) : Number.NaN)
    const row: DigestRow = {
      label,
      bytes: gz,
      tarBytes,
      runs,
      analyzeMiBps: mibps(wall.analyze),
      bareMiBps: mibps(wall.bare),
      bare64MiBps: mibps(wall.bare64),
      bare256MiBps: mibps(wall.bare256),
      ratio: med(ratios),
      cpuRatio: med(cpuRatios),
      analyzeCpuMs: med(cpu.analyze),
      bareCpuMs: med(cpu[fastest(cpu)]),
      ...(error === undefined ? {} : { error }),
    }
    rows.push(row)
    log(
      `digest ${label}: analyzeBlob ${row.analyzeMiBps.toFixed(0)} MiB/s, bare ${row.bareMiBps.toFixed(0)} MiB/s ` +
        `(64 KiB chunks ${row.bare64MiBps.toFixed(0)}, 256 KiB ${row.bare256MiBps.toFixed(0)}); ratio ${row.ratio.toFixed(3)} ` +
        `to ${fastest(wall)} [${ratios.map((r) => r.toFixed(2)).join(' ')}], CPU ratio ${row.cpuRatio.toFixed(3)} to ${fastest(cpu)}${error ? ` (${error})` : ''}`,
    )
  }
  return rows
}
