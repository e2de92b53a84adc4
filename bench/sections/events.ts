/**
 * The change feed's cost: push throughput of a registry with events on beside one with events
 * off (same backend, each on its own fresh store, alternating blocks of the same pushes), and how
 * fast the feed is read back: once while placing what the pushes left in the outbox (the first
 * reader's work), once more when everything is placed (every later reader).
 */
import { loadavg } from 'node:os'
import { Registry } from '../../src/registry/registry.js'
import type { Backend } from '../lib/backends.js'
import { type Counts, countingStore, perOp } from '../lib/counting.js'
import { interleave, newSamples, pairedRatio, type Summary, summarize } from '../lib/stats.js'
import { chartBlob } from '../lib/tarball.js'

export interface EventRow {
  readonly backend: string
  /** Concurrent pushing clients. */
  readonly clients: number
  readonly on: Summary
  readonly off: Summary
  /** Push throughput with events on ÷ off, the median over adjacent block pairs. */
  readonly ratio: number
  /** Storage work per push with events on, and off. */
  readonly storageOn: Counts
  readonly storageOff: Counts
  /** The 1-minute load average when the row started and when it ended (the machine is shared). */
  readonly load: readonly [number, number]
}

export interface FeedReadRow {
  readonly backend: string
  readonly events: number
  /** Events/s reading the whole feed from the start while placing the outbox (pages of 1,000). */
  readonly placingPerSec: number
  /** Events/s reading it again, all placed. */
  readonly readPerSec: number
}

export interface EventsOptions {
  /** Pushes per client count. */
  readonly pushes: number
  readonly block: number
  readonly clients: readonly number[]
  readonly log: (line: string) => void
}

export async function eventsSection(backend: Backend, options: EventsOptions): Promise<{ push: EventRow[]; read: FeedReadRow }> {
  const on = countingStore(await backend.store())
  const off = countingStore(await backend.store())
  const withEvents = new Registry({ store: on.store, events: true })
  const without = new Registry({ store: off.store })
  const blobs = new Map<number, Uint8Array>()
  const prepare = (indices: readonly number[]) => {
    blobs.clear()
    for (const i of indices) blobs.set(i, chartBlob(i))
  }
  const push = (registry: Registry) => (i: number) => registry.push({ package: `bench/ev-${i}`, release: '1.0.0', format: 'helm', blob: blobs.get(i)! })
  const rows: EventRow[] = []
  let next = 0
  for (const clients of options.clients) {
    const samples = { on: newSamples(), off: newSamples() }
    const before = { on: { ...on.counts }, off: { ...off.counts } }
    const loadBefore = loadavg()[0]!
    const indices = Array.from({ length: options.pushes }, (_, k) => next + k)
    next += options.pushes
    await interleave(
      [
        { samples: samples.on, op: push(withEvents) },
        { samples: samples.off, op: push(without) },
      ],
      { indices, block: options.block, concurrency: clients, beforeBlock: prepare },
    )
    const row: EventRow = {
      backend: backend.name,
      clients,
      on: summarize(samples.on),
      off: summarize(samples.off),
      ratio: pairedRatio(samples.on, samples.off),
      storageOn: perOp(on.counts, before.on, samples.on.latencies.length),
      storageOff: perOp(off.counts, before.off, samples.off.latencies.length),
      load: [loadBefore, loadavg()[0]!],
    }
    rows.push(row)
    options.log(`${backend.name} push ×${clients}: events on ${row.on.opsPerSec.toFixed(0)}/s, off ${row.off.opsPerSec.toFixed(0)}/s, on÷off ${row.ratio.toFixed(2)}, CPU µs/push ${row.on.cpuUsPerOp.toFixed(0)} / ${row.off.cpuUsPerOp.toFixed(0)}, load ${row.load.map((l) => l.toFixed(1)).join('→')}`)
  }

  const readAll = async () => {
    const started = performance.now()
    let count = 0
    let after = '0'
    for (;;) {
      const page = await withEvents.events.read({ after, limit: 1000 })
      if (page.events.length === 0) break
      count += page.events.length
      after = page.cursor
    }
    return { count, perSec: count / ((performance.now() - started) / 1000) }
  }
  const placing = await readAll()
  const again = await readAll()
  if (placing.count !== next || again.count !== next) throw new Error(`the feed holds ${placing.count} / ${again.count} events for ${next} pushes`)
  const read: FeedReadRow = { backend: backend.name, events: next, placingPerSec: placing.perSec, readPerSec: again.perSec }
  options.log(`${backend.name} feed: ${next} events read at ${placing.perSec.toFixed(0)}/s while placing, ${again.perSec.toFixed(0)}/s placed`)
  await withEvents.close()
  await without.close()
  return { push: rows, read }
}
