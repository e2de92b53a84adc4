/**
 * Latency samples and their summary: ops/s over the measured wall time, p50/p99, and the cost
 * per tenth of the run (how flat the cost stays as the run goes on), by wall time (mean and
 * median per op) and by CPU time, with the garbage collector's main-thread pauses per tenth.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks'

/** Samples of one side (registry or raw) of one measurement, possibly collected over several blocks. */
export interface Samples {
  /** Per-op latency in nanoseconds, in the order the ops started. */
  readonly latencies: number[]
  /** Sum of the wall time of every block of this side, in nanoseconds. */
  wallNs: number
  /** CPU time (user + system, every thread of the process: LevelDB's included) spent in this side's blocks, in microseconds. */
  cpuUs: number
  /** Wall time of each block, in order (blocks of the sides alternate, so block k of each side ran close in time). */
  readonly blockNs: number[]
  /** Ops of each block run by {@link interleave} (empty for samples gathered otherwise). */
  readonly blockOps: number[]
  /** CPU time of this process during each of those blocks, in microseconds. */
  readonly blockCpuUs: number[]
  /** Main-thread garbage-collection pauses during each of those blocks, in nanoseconds. */
  readonly blockGcNs: number[]
  /** First error, after which this side stops running. */
  error: string | undefined
}

export function newSamples(): Samples {
  return { latencies: [], wallNs: 0, cpuUs: 0, blockNs: [], blockOps: [], blockCpuUs: [], blockGcNs: [], error: undefined }
}

/** Summary of a {@link Samples}. Times in milliseconds. */
export interface Summary {
  readonly ops: number
  readonly seconds: number
  readonly opsPerSec: number
  readonly meanMs: number
  /**
   * CPU time of this process per op, in microseconds: far less sensitive than wall time to other
   * processes competing for the cores (a server backend's own CPU is not in it).
   */
  readonly cpuUsPerOp: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Mean cost per op in each tenth of the run, in order. */
  readonly tenthsMs: number[]
  /** Last tenth ÷ first tenth (1 = perfectly flat). */
  readonly flatness: number
  /** Median cost per op in each tenth (robust to stalls caused by other processes). */
  readonly tenthsMedianMs: number[]
  /** Last tenth ÷ first tenth, by medians. */
  readonly flatnessMedian: number
  /**
   * CPU time of this process per op in each tenth, in microseconds (by blocks: needs ≥ 10 blocks).
   * Unlike wall time it leaves out the time other processes held the cores; it includes the
   * garbage collector's helper threads (and LevelDB's). A server's own CPU is not in it.
   */
  readonly tenthsCpuUs: number[]
  /** Last tenth ÷ first tenth, by CPU time. */
  readonly flatnessCpu: number
  /** Main-thread garbage-collection pause time per op in each tenth, in milliseconds (by blocks). */
  readonly tenthsGcMs: number[]
  readonly error?: string
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

export function summarize(samples: Samples): Summary {
  const n = samples.latencies.length
  const sorted = Float64Array.from(samples.latencies).sort()
  const tenthsMs: number[] = []
  const tenthsMedianMs: number[] = []
  if (n >= 10) {
    for (let t = 0; t < 10; t++) {
      const from = Math.floor((t * n) / 10)
      const to = Math.floor(((t + 1) * n) / 10)
      const tenth = Float64Array.from(samples.latencies.slice(from, to)).sort()
      let sum = 0
      for (const l of tenth) sum += l
      tenthsMs.push(sum / tenth.length / 1e6)
      tenthsMedianMs.push(quantile(tenth, 0.5) / 1e6)
    }
  }
  // By blocks: block k goes to the tenth of its first op.
  const tenthsCpuUs: number[] = []
  const tenthsGcMs: number[] = []
  const blocks = samples.blockOps.length
  if (blocks >= 10 && samples.blockOps.reduce((a, b) => a + b, 0) === n && samples.blockCpuUs.length === blocks) {
    const cpu = new Array<number>(10).fill(0)
    const gc = new Array<number>(10).fill(0)
    const ops = new Array<number>(10).fill(0)
    for (let k = 0, first = 0; k < blocks; first += samples.blockOps[k]!, k++) {
      const t = Math.min(9, Math.floor((first * 10) / n))
      cpu[t]! += samples.blockCpuUs[k]!
      gc[t]! += samples.blockGcNs[k] ?? 0
      ops[t]! += samples.blockOps[k]!
    }
    for (let t = 0; t < 10; t++) {
      tenthsCpuUs.push(cpu[t]! / ops[t]!)
      tenthsGcMs.push(gc[t]! / ops[t]! / 1e6)
    }
  }
  const seconds = samples.wallNs / 1e9
  let total = 0
  for (const l of samples.latencies) total += l
  return {
    ops: n,
    seconds,
    opsPerSec: seconds > 0 ? n / seconds : Number.NaN,
    meanMs: n ? total / n / 1e6 : Number.NaN,
    cpuUsPerOp: n ? samples.cpuUs / n : Number.NaN,
    p50Ms: quantile(sorted, 0.5) / 1e6,
    p99Ms: quantile(sorted, 0.99) / 1e6,
    tenthsMs,
    flatness: tenthsMs.length === 10 ? tenthsMs[9]! / tenthsMs[0]! : Number.NaN,
    tenthsMedianMs,
    flatnessMedian: tenthsMedianMs.length === 10 ? tenthsMedianMs[9]! / tenthsMedianMs[0]! : Number.NaN,
    tenthsCpuUs,
    flatnessCpu: tenthsCpuUs.length === 10 ? tenthsCpuUs[9]! / tenthsCpuUs[0]! : Number.NaN,
    tenthsGcMs,
    ...(samples.error === undefined ? {} : { error: samples.error }),
  }
}

/** One side of an interleaved measurement. */
export interface Side {
  readonly samples: Samples
  /** Runs op number `i` (what `i` means is up to the caller: a package index, a random pick …). */
  readonly op: (i: number) => Promise<unknown>
}

export interface InterleaveOptions {
  /** The op arguments, in order; every side runs all of them. */
  readonly indices: readonly number[]
  /** Ops per block; sides alternate block by block so machine noise hits both alike. */
  readonly block: number
  /** Concurrent clients (async loops sharing the side's client). */
  readonly concurrency?: number
  /** Runs before each block, untimed (to prepare inputs). */
  readonly beforeBlock?: ((indices: readonly number[]) => void | Promise<void>) | undefined
}

function describe(e: unknown): string {
  return e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e)
}

/** Start and end (performance.now() ms) of each block run, with the samples it belongs to, for GC attribution. */
interface BlockSpan {
  readonly samples: Samples
  readonly index: number
  readonly start: number
  readonly end: number
}

async function runBlock(side: Side, indices: readonly number[], concurrency: number, spans: BlockSpan[]): Promise<void> {
  const { samples } = side
  if (samples.error !== undefined) return
  const latencies = new Array<number>(indices.length)
  let next = 0
  const cpu = process.cpuUsage()
  const startedMs = performance.now()
  const started = process.hrtime.bigint()
  const worker = async () => {
    while (next < indices.length && samples.error === undefined) {
      const k = next++
      const t0 = process.hrtime.bigint()
      try {
        await side.op(indices[k]!)
      } catch (e) {
        samples.error ??= describe(e)
        return
      }
      latencies[k] = Number(process.hrtime.bigint() - t0)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, indices.length) }, worker))
  if (samples.error !== undefined) return
  const wall = Number(process.hrtime.bigint() - started)
  const used = process.cpuUsage(cpu)
  samples.wallNs += wall
  samples.cpuUs += used.user + used.system
  samples.blockNs.push(wall)
  spans.push({ samples, index: samples.blockOps.length, start: startedMs, end: performance.now() })
  samples.blockOps.push(indices.length)
  samples.blockCpuUs.push(used.user + used.system)
  samples.blockGcNs.push(0)
  for (const l of latencies) samples.latencies.push(l)
}

/** Adds the overlap of every GC pause with every block to that block's `blockGcNs`. */
function attributeGc(spans: readonly BlockSpan[], pauses: readonly { startTime: number; duration: number }[]): void {
  const sorted = [...pauses].sort((a, b) => a.startTime - b.startTime)
  let g = 0
  for (const span of spans) {
    while (g < sorted.length && sorted[g]!.startTime + sorted[g]!.duration <= span.start) g++
    for (let k = g; k < sorted.length && sorted[k]!.startTime < span.end; k++) {
      const p = sorted[k]!
      const overlap = Math.min(span.end, p.startTime + p.duration) - Math.max(span.start, p.startTime)
      if (overlap > 0) span.samples.blockGcNs[span.index]! += overlap * 1e6
    }
  }
}

/** Runs every side over `indices` in alternating blocks (the first side to go swaps each block). */
export async function interleave(sides: readonly Side[], options: InterleaveOptions): Promise<void> {
  const { indices, block } = options
  const concurrency = options.concurrency ?? 1
  // GC pauses come as 'gc' performance entries, delivered later but timestamped.
  const pauses: { startTime: number; duration: number }[] = []
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ startTime: e.startTime, duration: e.duration })
  })
  observer.observe({ entryTypes: ['gc'] })
  const spans: BlockSpan[] = []
  try {
    for (let start = 0, b = 0; start < indices.length; start += block, b++) {
      const slice = indices.slice(start, start + block)
      await options.beforeBlock?.(slice)
      const order = b % 2 === 0 ? sides : [...sides].reverse()
      for (const side of order) await runBlock(side, slice, concurrency, spans)
    }
    await new Promise((resolve) => setImmediate(resolve))
    for (const e of observer.takeRecords()) pauses.push({ startTime: e.startTime, duration: e.duration })
  } finally {
    observer.disconnect()
  }
  attributeGc(spans, pauses)
}

/**
 * Throughput of `a` ÷ throughput of `b`, as the median over block pairs of b's block time ÷ a's
 * (both ran the same ops, one right after the other): a burst of load from another process
 * spoils a pair or two, not the ratio. Falls back to the overall ratio when blocks do not pair.
 */
export function pairedRatio(a: Samples, b: Samples): number {
  const n = Math.min(a.blockNs.length, b.blockNs.length)
  if (n === 0 || a.error !== undefined || b.error !== undefined) return Number.NaN
  const ratios = Array.from({ length: n }, (_, k) => b.blockNs[k]! / a.blockNs[k]!).sort((x, y) => x - y)
  return n % 2 ? ratios[(n - 1) / 2]! : (ratios[n / 2 - 1]! + ratios[n / 2]!) / 2
}
