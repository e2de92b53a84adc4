/**
 * Registry operations beside their raw baselines, on one backend, as the registry fills up:
 * push (the fill itself, one client), then at each size checkpoint pull, show, a list page and
 * channel add, and at one checkpoint push and pull with 1/4/16 concurrent clients.
 */
import { Registry } from '../../src/registry/registry.js'
import type { Backend } from '../lib/backends.js'
import { type Counts, countingStore, perOp, zeroCounts } from '../lib/counting.js'
import { runProcesses } from '../lib/processes.js'
import { rawOps } from '../lib/raw.js'
import { interleave, newSamples, pairedRatio, type Samples, type Summary, summarize } from '../lib/stats.js'
import { chartBlob } from '../lib/tarball.js'

/** `pull-cold`: pull through a second Registry on the same store with its caches off (no blob bytes, no manifests kept in memory). */
export type OpName = 'push' | 'pull' | 'pull-cold' | 'show' | 'list' | 'channel-add'

/** One line of results: the registry and the raw baseline for one operation in one setting. */
export interface OpRow {
  readonly backend: string
  /** Packages in the registry when measured (for push: the fill went from 0 to this). */
  readonly size: number
  readonly op: OpName
  /** `fill`: the push row of the registry filling from 0 to `size` (the reference's measure); `at-size`: ops at that size. */
  readonly phase: 'fill' | 'at-size'
  /** Concurrent clients in all (for the multi-process rows: processes × clients each). */
  readonly clients: number
  /** Client processes (1 unless the multi-process phase). */
  readonly processes: number
  readonly registry: Summary
  readonly raw: Summary
  /** registry ÷ raw throughput: the median over adjacent block pairs (robust to bursts of load). */
  readonly ratio: number
  /** registry ops/s ÷ raw ops/s over the whole phase. */
  readonly ratioOverall: number
  /** Storage work per registry op (round trips and keys), counted at the adapter. */
  readonly storagePerOp: Counts
}

export interface OpsOptions {
  /** Size checkpoints, ascending. */
  readonly sizes: readonly number[]
  /** Ops per side for each read phase. */
  readonly opsPerPhase: number
  /** Ops per block when interleaving registry and raw. */
  readonly block: number
  /** Client counts of the concurrency phase. */
  readonly clients: readonly number[]
  /** Checkpoint at which the concurrency phase runs (the closest size). */
  readonly concurrencyAt: number
  /** New packages pushed per client count in the concurrency phase. */
  readonly concurrencyPushes: number
  /** Page size of the list op. */
  readonly listLimit: number
  /** Client processes of the multi-process phase (server backends only; 0 = none). */
  readonly processes: number
  /** Concurrent clients in each of those processes. */
  readonly clientsPerProcess: number
  /** Progress lines. */
  readonly log: (line: string) => void
}

export const packageName = (i: number) => `bench/pkg-${i}`

/** Deterministic pseudo-random indices (mulberry32), so runs pick the same packages. */
export function picks(seed: number, count: number, below: number): number[] {
  let a = seed >>> 0
  return Array.from({ length: count }, () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) % below) | 0
  })
}

export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k)

/** Runs the whole operation matrix on one backend. */
export async function opsSection(backend: Backend, options: OpsOptions): Promise<OpRow[]> {
  const counted = countingStore(await backend.store())
  const registry = new Registry({ store: counted.store })
  const cold = new Registry({ store: counted.store, ownsStore: false, cacheEntries: 0, blobCacheBytes: 0 })
  const raw = await backend.raw()
  const rows: OpRow[] = []
  const blobs = new Map<number, Uint8Array>()
  const prepare = (indices: readonly number[]) => {
    blobs.clear()
    for (const i of indices) blobs.set(i, chartBlob(i))
  }

  // The raw push writes as many keys as the registry's push does (measured on its first block).
  let registryPushes = 0
  let keysPerPush: number | undefined
  const pushCounts = { ...counted.counts }
  const ops = rawOps(raw, () => {
    keysPerPush ??= registryPushes > 0 ? Math.max(1, Math.round((counted.counts.keysWritten - pushCounts.keysWritten) / registryPushes)) : 3
    return keysPerPush
  })

  const registryPush = async (i: number) => {
    await registry.push({ package: packageName(i), release: '1.0.0', format: 'helm', blob: blobs.get(i)! })
    registryPushes++
  }
  const registryPull = async (i: number, through = registry) => {
    const pulled = await through.pull(packageName(i), { release: 'default', format: 'helm' })
    let n = 0
    for await (const chunk of pulled.stream) n += chunk.byteLength
    if (n !== pulled.size) throw new Error(`pulled ${n} bytes, expected ${pulled.size}`)
  }

  /** Runs one measured phase and records its row. */
  const phase = async (
    op: OpName,
    size: number,
    clients: number,
    indices: readonly number[],
    registryOp: (i: number) => Promise<unknown>,
    rawOp: (i: number) => Promise<unknown>,
    accumulated?: { registry: Samples; raw: Samples },
  ) => {
    const samples = accumulated ?? { registry: newSamples(), raw: newSamples() }
    const before = { ...counted.counts }
    const opsBefore = samples.registry.latencies.length
    await interleave(
      [
        { samples: samples.registry, op: registryOp },
        { samples: samples.raw, op: rawOp },
      ],
      { indices, block: options.block, concurrency: clients, beforeBlock: op === 'push' ? prepare : undefined },
    )
    const r = summarize(samples.registry)
    const w = summarize(samples.raw)
    const row: OpRow = {
      backend: backend.name,
      size,
      op,
      phase: accumulated ? 'fill' : 'at-size',
      clients,
      processes: 1,
      registry: r,
      raw: w,
      ratio: pairedRatio(samples.registry, samples.raw),
      ratioOverall: r.opsPerSec / w.opsPerSec,
      storagePerOp: perOp(counted.counts, before, samples.registry.latencies.length - opsBefore),
    }
    rows.push(row)
    options.log(
      `${backend.name} ${op} @${size} ×${clients}: registry ${r.opsPerSec.toFixed(0)}/s${r.error ? ` (${r.error})` : ''}, raw ${w.opsPerSec.toFixed(0)}/s${w.error ? ` (${w.error})` : ''}`,
    )
    return row
  }

  const fill = { registry: newSamples(), raw: newSamples() }
  let count = 0
  let next = 0 // next package index to push
  for (const size of options.sizes) {
    // The fill: one client, packages pushed one after another, registry and raw alternating.
    await phase('push', size, 1, range(next, next + (size - count)), registryPush, (i) => ops.push(i, blobs.get(i)!), fill)
    next += size - count
    count = size
    const seed = size * 7
    const reads = picks(seed, options.opsPerPhase, next)
    await phase('show', size, 1, reads, (i) => registry.show(packageName(i), { release: 'default', format: 'helm' }), (i) => ops.show(i))
    await phase('pull', size, 1, reads, registryPull, (i) => ops.pull(i))
    await phase('pull-cold', size, 1, reads, (i) => registryPull(i, cold), (i) => ops.pull(i))
    await phase('list', size, 1, picks(seed + 1, Math.ceil(options.opsPerPhase / 10), next), (i) => registry.list({ after: packageName(i), limit: options.listLimit }), (i) =>
      ops.list(i, options.listLimit),
    )
    // Every add creates a new channel on a distinct package.
    const channel = `stable-${size}`
    const adds = [...new Set(picks(seed + 2, Math.min(options.opsPerPhase, next), next))]
    await phase('channel-add', size, 1, adds, (i) => registry.channels.add(packageName(i), channel, '1.0.0'), (i) => ops.channelAdd(i, channel))

    if (size === options.concurrencyAt) {
      // One client is the rows above; this phase adds concurrent clients.
      for (const clients of options.clients.filter((c) => c > 1)) {
        const pushes = range(next, next + options.concurrencyPushes)
        await phase('push', size, clients, pushes, registryPush, (i) => ops.push(i, blobs.get(i)!))
        next += options.concurrencyPushes
        count += options.concurrencyPushes
        await phase('pull', size, clients, picks(seed + 10 + clients, options.opsPerPhase, next), (i) => registryPull(i), (i) => ops.pull(i))
      }
      const remote = backend.remote
      if (remote && options.processes > 0) {
        const p = options.processes
        for (const op of ['push', 'pull'] as const) {
          const indices = op === 'push' ? range(next, next + options.concurrencyPushes) : picks(seed + 99, options.opsPerPhase, next)
          if (op === 'push') {
            next += indices.length
            count += indices.length
          }
          const samples = { registry: newSamples(), raw: newSamples() }
          const jobs = (side: 'registry' | 'raw', part: readonly number[]) =>
            Array.from({ length: p }, (_, k) => ({
              kind: remote.kind,
              endpoints: side === 'registry' ? remote.registry : remote.raw,
              side,
              op,
              indices: part.filter((_, j) => j % p === k),
              clients: options.clientsPerProcess,
              keysPerPush: keysPerPush ?? 3,
            }))
          // Halves in the order registry, raw, raw, registry, so drift hits both sides alike.
          const half = Math.floor(indices.length / 2)
          const [a, b] = [indices.slice(0, half), indices.slice(half)]
          await runProcesses(jobs('registry', a), samples.registry)
          await runProcesses(jobs('raw', a), samples.raw)
          await runProcesses(jobs('raw', b), samples.raw)
          await runProcesses(jobs('registry', b), samples.registry)
          const r = summarize(samples.registry)
          const w = summarize(samples.raw)
          rows.push({
            backend: backend.name,
            size,
            op,
            phase: 'at-size',
            clients: p * options.clientsPerProcess,
            processes: p,
            registry: r,
            raw: w,
            ratio: pairedRatio(samples.registry, samples.raw),
            ratioOverall: r.opsPerSec / w.opsPerSec,
            storagePerOp: perOp(zeroCounts(), zeroCounts(), 0),
          })
          options.log(`${backend.name} ${op} @${size} ${p} processes ×${options.clientsPerProcess}: registry ${r.opsPerSec.toFixed(0)}/s${r.error ? ` (${r.error})` : ''}, raw ${w.opsPerSec.toFixed(0)}/s${w.error ? ` (${w.error})` : ''}`)
        }
      }
    }
  }
  await registry.close()
  await raw.close()
  return rows
}
