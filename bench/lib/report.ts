/**
 * Turning results into tables (terminal and Markdown), target verdicts, machine facts and the
 * JSON file under bench/results/.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import type { DigestRow } from '../sections/digest.js'
import type { EventRow, FeedReadRow } from '../sections/events.js'
import type { HttpResult, HttpRow } from '../sections/http.js'
import type { OciRow } from '../sections/oci.js'
import type { OpRow } from '../sections/ops.js'
import type { RssResult } from '../sections/rss.js'
import type { ReferenceStore } from './backends.js'

/** The Python appr 0.7.4 figures of issue #7 (push/s, pull/s by registry size, one client). */
export const REFERENCE: Record<ReferenceStore, { push: Record<number, number>; pull: Record<number, number> }> = {
  filesystem: { push: { 1000: 199, 5000: 214, 10000: 136 }, pull: { 1000: 8200, 5000: 8400, 10000: 7600 } },
  redis: { push: { 1000: 547, 5000: 215, 10000: 128 }, pull: { 1000: 2450, 5000: 2270, 10000: 2450 } },
  etcd: { push: { 1000: 94, 5000: 37 }, pull: { 1000: 810, 5000: 810 } },
}

export interface Results {
  readonly machine: Record<string, unknown>
  readonly options: Record<string, unknown>
  readonly startedAt: string
  readonly finishedAt: string
  readonly skipped: { name: string; skipped: string }[]
  readonly ops: OpRow[]
  readonly digest: DigestRow[]
  readonly rss: RssResult[]
  /** Absent in results written before the change feed existed. */
  readonly events?: { readonly push: EventRow[]; readonly read: FeedReadRow[] }
  readonly targets: Verdict[]
  readonly http?: HttpResult
  /** Present when the oci section ran. */
  readonly oci?: OciRow[]
}

/**
 * The Python appr 0.7.4 server over HTTP (gunicorn, 4 workers) from issue #13, requests/s on a
 * quiet 2-core machine with one keep-alive load generator: push filling to 1k with one client and
 * to 5k with 16; pull with 1 and 16 clients, show and channel add with 16.
 */
export const HTTP_REFERENCE: Record<ReferenceStore, { push1k1: number; push5k16: number; pull1: number; pull16: number; show16: number; channel16: number }> = {
  filesystem: { push1k1: 194, push5k16: 96, pull1: 838, pull16: 2047, show16: 2053, channel16: 1144 },
  redis: { push1k1: 204, push5k16: 97, pull1: 515, pull16: 1464, show16: 1592, channel16: 1228 },
  etcd: { push1k1: 71, push5k16: 28, pull1: 350, pull16: 589, show16: 792, channel16: 350 },
}

const HTTP_STORE: Record<string, ReferenceStore> = { level: 'filesystem', redis: 'redis', etcd: 'etcd' }

export interface Verdict {
  readonly target: string
  readonly scope: string
  readonly value: string
  readonly pass: boolean | undefined
  readonly note?: string
}

function version(pkg: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(new URL(`../../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return undefined
  }
}

function command(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0]
  } catch {
    return undefined
  }
}

export function machineFacts(): Record<string, unknown> {
  const cpus = os.cpus()
  return {
    host: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model,
    cores: cpus.length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    loadAverageAtStart: os.loadavg().map((l) => +l.toFixed(2)),
    level: version('level'),
    classicLevel: version('classic-level'),
    ioredis: version('ioredis'),
    etcd3: version('etcd3'),
    redisServer: command('redis-server', ['--version']),
    etcd: command('etcd', ['--version']),
    commit: command('git', ['rev-parse', '--short', 'HEAD']),
  }
}

// Results read back from JSON carry null where a run had NaN.
const bad = (n: number | null | undefined): n is null | undefined => typeof n !== 'number' || Number.isNaN(n)
const fmt = (n: number | null | undefined, digits = 0) =>
  bad(n) ? '–' : n >= 100 || digits === 0 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits)
const ms = (n: number | null) => (bad(n) ? '–' : n < 1 ? n.toFixed(3) : n < 10 ? n.toFixed(2) : n.toFixed(1))
/** `n.toFixed(digits)`, or `–`. */
const fx = (n: number | null | undefined, digits = 2) => (bad(n) ? '–' : n.toFixed(digits))
/** A row's registry throughput, as `1,234/s`. */
const rate = (r: OpRow) => `${fmt(r.registry.opsPerSec)}/s`
/** The row with the highest registry throughput. */
const fastest = (rows: readonly OpRow[]): OpRow | undefined =>
  rows.reduce<OpRow | undefined>((b, r) => (b && b.registry.opsPerSec >= r.registry.opsPerSec ? b : r), undefined)
const mib = (n: number | undefined) => (n === undefined ? '–' : (n / 2 ** 20).toFixed(0))

/** Rows of the operations table (header first). */
export function opsTable(rows: readonly OpRow[]): string[][] {
  const out = [['backend', 'pkgs', 'op', 'clients', 'registry/s', 'p50 ms', 'p99 ms', 'raw/s', 'raw p50', 'raw p99', 'reg÷raw', 'CPU µs/op reg / raw', 'flat mean / CPU', 'reads+commits/op']]
  for (const r of rows) {
    const err = r.registry.error ? `registry: ${r.registry.error.slice(0, 60)}` : ''
    out.push([
      r.backend,
      fmt(r.size),
      r.phase === 'fill' ? `${r.op} (fill)` : r.op,
      r.processes > 1 ? `${r.processes}p×${r.clients / r.processes}` : String(r.clients),
      err ? '✗' : fmt(r.registry.opsPerSec),
      err ? '' : ms(r.registry.p50Ms),
      err ? '' : ms(r.registry.p99Ms),
      r.raw.error ? `✗ ${r.raw.error.slice(0, 40)}` : fmt(r.raw.opsPerSec),
      ms(r.raw.p50Ms),
      ms(r.raw.p99Ms),
      err ? err : fx(r.ratio),
      err ? '' : `${fmt(r.registry.cpuUsPerOp)} / ${fmt(r.raw.cpuUsPerOp)}`,
      err || bad(r.registry.flatness) ? '' : bad(r.registry.flatnessCpu) ? fx(r.registry.flatness) : `${fx(r.registry.flatness)} / ${fx(r.registry.flatnessCpu)}`,
      err ? '' : `${fmt(r.storagePerOp.reads, 1)}+${fmt(r.storagePerOp.commits, 1)}`,
    ])
  }
  return out
}

/** Rows of the HTTP table: serve beside the bare server (CPU is each server process's own). */
export function httpTable(rows: readonly HttpRow[]): string[][] {
  const out = [['backend', 'pkgs', 'op', 'clients', 'serve/s', 'p50 ms', 'p99 ms', 'bare/s', 'bare p50', 'bare p99', 'serve÷bare', 'server CPU µs/req serve / bare']]
  for (const r of rows) {
    const err = r.serve.error ?? r.bare.error
    out.push([
      r.backend,
      fmt(r.size),
      r.phase === 'fill' ? `${r.op} (fill)` : r.op,
      String(r.clients),
      r.serve.error ? `✗ ${r.serve.error.slice(0, 50)}` : fmt(r.serve.opsPerSec),
      ms(r.serve.p50Ms),
      ms(r.serve.p99Ms),
      r.bare.error ? `✗ ${r.bare.error.slice(0, 50)}` : fmt(r.bare.opsPerSec),
      ms(r.bare.p50Ms),
      ms(r.bare.p99Ms),
      err ? '' : fx(r.ratio),
      `${fmt(r.serve.cpuUsPerOp)} / ${fmt(r.bare.cpuUsPerOp)}`,
    ])
  }
  return out
}

/** `serve`'s memory over the long read phase. */
export function httpMemoryTable(result: HttpResult | undefined): string[][] {
  const out = [['backend', 'pkgs', 'pulls', 'clients', 'pulls/s', 'post-GC heap MiB (first → last sample)', 'last ÷ first quarter', 'peak RSS MiB serve / bare']]
  for (const m of result?.memory ?? []) {
    const heaps = m.samples.map((s) => s.heapUsed)
    out.push([
      m.backend,
      fmt(m.size),
      fmt(m.pulls),
      String(m.clients),
      fmt(m.opsPerSec),
      heaps.length ? `${mib(heaps[0])} → ${mib(heaps.at(-1))} (max ${mib(Math.max(...heaps))})` : '–',
      fx(m.heapLastOverFirstQuarter),
      `${mib(m.servePeakRss)} / ${mib(m.barePeakRss)}`,
    ])
  }
  return out
}

/** Every target of issue #13 against what this run measured. */
export function httpVerdicts(result: HttpResult | undefined): Verdict[] {
  if (result === undefined) return []
  const out: Verdict[] = []
  const ok = (r: HttpRow) => r.serve.error === undefined && r.bare.error === undefined && r.serve.ops > 0
  const rows = result.rows.filter(ok)
  for (const backend of [...new Set(rows.map((r) => r.backend))]) {
    const mine = rows.filter((r) => r.backend === backend)
    for (const [op, min] of [
      ['show', 0.6],
      ['pull', 0.6],
      ['list', 0.6],
      ['push', 0.5],
    ] as const) {
      const of = mine.filter((r) => r.op === op)
      if (!of.length) continue
      const worst = of.reduce((w, r) => (r.ratio < w.ratio ? r : w))
      // Server CPU per request is what the machine's other load disturbs least: shown beside.
      const byCpu = of.map((r) => fx(r.bare.cpuUsPerOp / r.serve.cpuUsPerOp)).join(', ')
      out.push({
        target: `${op}: serve ÷ bare ≥ ${min}`,
        scope: `${backend}, worst row`,
        value: `${fx(worst.ratio)} (${fmt(worst.size)} pkgs, ${worst.clients} clients); all: ${of.map((r) => fx(r.ratio)).join(', ')}; by server CPU (bare ÷ serve µs/req): ${byCpu}`,
        pass: worst.ratio >= min,
      })
    }
    const store = HTTP_STORE[backend]
    if (store === undefined) continue
    const ref = HTTP_REFERENCE[store]
    const scope = `${backend} vs ${store}`
    const last = Math.max(...mine.map((r) => r.size))
    /** `min` undefined: shown beside the reference, not a target. */
    const versus = (target: string, row: HttpRow | undefined, reference: number, min?: number) => {
      if (row === undefined) return
      const x = row.serve.opsPerSec / reference
      out.push({ target, scope: `${scope}, ${fmt(row.size)} pkgs`, value: `${fmt(row.serve.opsPerSec)}/s = ${x.toFixed(1)}× ${fmt(reference)}/s`, pass: min === undefined ? undefined : x >= min })
    }
    const push = (clients: number, phase: HttpRow['phase'], size: number) => mine.find((r) => r.op === 'push' && r.clients === clients && r.phase === phase && r.size === size)
    const first = Math.min(...mine.map((r) => r.size))
    versus('push ≥ 5× reference, 1 client (fill to 1k)', push(1, 'fill', first), ref.push1k1, 5)
    versus('push ≥ 10× reference, 16 clients (fill to 5k)', push(16, 'fill', last), ref.push5k16, 10)
    const at = (op: HttpRow['op'], clients: number) => mine.find((r) => r.op === op && r.clients === clients && r.phase === 'at-size' && r.size === last)
    versus('pull ≥ 5× reference, 16 clients', at('pull', 16), ref.pull16, 5)
    versus('show ≥ 5× reference, 16 clients', at('show', 16), ref.show16, 5)
    versus('pull vs reference, 1 client (no target)', at('pull', 1), ref.pull1)
    versus('channel add vs reference, 16 clients (no target)', at('channel-add', 16), ref.channel16)
  }
  for (const m of result.memory) {
    out.push({
      target: 'post-GC heap flat: last ÷ first quarter ≤ 1.1',
      scope: `${m.backend}, ${fmt(m.pulls)} pulls`,
      value: m.error ?? fx(m.heapLastOverFirstQuarter),
      pass: m.error ? undefined : m.heapLastOverFirstQuarter <= 1.1,
      ...(m.pulls < 200_000 ? { note: 'target is over ≥ 200k pulls' } : {}),
    })
    out.push({
      target: 'serve RSS < 200 MiB',
      scope: `${m.backend}, ${fmt(m.size)} pkgs, peak over the run`,
      value: `${mib(m.servePeakRss)} MiB`,
      pass: m.servePeakRss < 200 * 2 ** 20,
    })
  }
  return out
}

export function digestTable(rows: readonly DigestRow[]): string[][] {
  const out = [['blob (gzip)', 'tar', 'runs', 'analyzeBlob MiB/s', 'bare gunzip+sha256 MiB/s', 'bare, 64 KiB chunks', 'bare, 256 KiB chunks', 'ratio to fastest bare', 'CPU ratio (ms analyze / bare)']]
  for (const r of rows) {
    // Rows of results written before the 256 KiB variant and the CPU ratio have neither (shown as –).
    const cpu = `${fx(r.cpuRatio)} (${fmt(r.analyzeCpuMs)} / ${fmt(r.bareCpuMs)})`
    out.push([
      `${r.label} (${mib(r.bytes)} MiB)`,
      `${mib(r.tarBytes)} MiB`,
      String(r.runs),
      r.error ? `✗ ${r.error.slice(0, 60)}` : fmt(r.analyzeMiBps),
      fmt(r.bareMiBps),
      fmt(r.bare64MiBps),
      fmt(r.bare256MiBps),
      r.error ? '' : fx(r.ratio),
      r.error ? '' : cpu,
    ])
  }
  return out
}

export function rssTable(rows: readonly RssResult[]): string[][] {
  const out = [['level, one blob', 'gzip MiB', 'peak RSS MiB', 'peak anon RSS MiB', 'baseline MiB', 'push s', 'pull s']]
  for (const r of rows) {
    out.push(
      r.error
        ? [r.mode, '', `✗ ${r.error.slice(0, 80)}`, '', '', '', '']
        : [r.mode, mib(r.bytes), mib(r.peak), mib(r.anonPeak), mib(r.baseline), ((r.pushMs ?? 0) / 1000).toFixed(1), ((r.pullMs ?? 0) / 1000).toFixed(1)],
    )
  }
  return out
}

export function verdictTable(rows: readonly Verdict[]): string[][] {
  return [['target', 'scope', 'measured', 'verdict'], ...rows.map((v) => [v.target, v.scope, v.value + (v.note ? ` (${v.note})` : ''), v.pass === undefined ? 'n/a' : v.pass ? 'met' : 'MISSED'])]
}

/** Plain aligned text for the terminal. */
export function renderText(table: string[][]): string {
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length)))
  return table.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n')
}

export function renderMarkdown(table: string[][]): string {
  const [head, ...body] = table
  const line = (row: string[]) => `| ${row.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`
  return [line(head!), `|${head!.map(() => '---').join('|')}|`, ...body.map(line)].join('\n')
}

/** Every target of issue #7 against what this run measured. */
export function verdicts(ops: readonly OpRow[], digest: readonly DigestRow[], rss: readonly RssResult[], references: Map<string, ReferenceStore | undefined>): Verdict[] {
  const out: Verdict[] = []
  const ok = (r: OpRow) => r.registry.error === undefined && r.registry.ops > 0
  const backends = [...new Set(ops.map((r) => r.backend))]
  for (const backend of backends) {
    const mine = ops.filter((r) => r.backend === backend)
    const fills = mine.filter((r) => r.phase === 'fill')
    const fill = fills.filter(ok).at(-1)
    if (fill) {
      const note = fill.size < 100_000 ? 'target is at 100k: run with --full' : undefined
      // Judged on CPU time per op (what other processes do to the wall clock is not the op's
      // cost) and on the median wall time (which sees a server's time too, and is robust to
      // stalls); results without per-block CPU fall back to the mean wall time.
      const { registry: r, raw: w } = fill
      const byCpu = !bad(r.flatnessCpu)
      out.push({
        target: 'flat: last tenth ≤ 1.25 × first tenth (push fill)',
        scope: `${backend}, 0→${fmt(fill.size)}`,
        value: `CPU ${fx(r.flatnessCpu)}, medians ${fx(r.flatnessMedian)}, means ${fx(r.flatness)}; raw: CPU ${fx(w.flatnessCpu)}, medians ${fx(w.flatnessMedian)}, means ${fx(w.flatness)}`,
        pass: byCpu ? r.flatnessCpu <= 1.25 && r.flatnessMedian <= 1.25 : r.flatness <= 1.25,
        ...(note ? { note } : {}),
      })
    } else if (fills.length) {
      out.push({ target: 'flat: last tenth ≤ 1.25 × first tenth (push fill)', scope: backend, value: fills[0]!.registry.error ?? 'no data', pass: undefined })
    }
    const ref = references.get(backend)
    if (ref) {
      const at5k = mine.filter((r) => r.size === 5000 && ok(r))
      const refPush = REFERENCE[ref].push[5000]!
      const refPull = REFERENCE[ref].pull[5000]!
      const scope = `${backend} vs ${ref} @5k`
      const pushes = at5k.filter((r) => r.op === 'push' && r.processes === 1)
      const pulls = at5k.filter((r) => r.op === 'pull' && r.processes === 1)
      // Push and pull alike: the best with up to 16 clients in one process, the one-client figure beside it.
      const best = fastest(pushes)
      if (best) {
        const x = best.registry.opsPerSec / refPush
        out.push({ target: 'push ≥ 30× reference, ≤16 clients', scope, value: `${rate(best)} with ${best.clients} = ${x.toFixed(1)}× ${refPush}/s`, pass: x >= 30 })
      }
      const one = pushes.find((r) => r.phase === 'fill')
      if (one) {
        const x = one.registry.opsPerSec / refPush
        out.push({ target: 'push ≥ 10× reference, 1 client', scope: `${backend} vs ${ref}, fill 0→5k`, value: `${rate(one)} = ${x.toFixed(1)}× ${refPush}/s`, pass: x >= 10 })
      }
      const bestPull = fastest(pulls)
      const onePull = pulls.find((r) => r.clients === 1)
      if (bestPull) {
        const x = bestPull.registry.opsPerSec / refPull
        const single = onePull ? `; 1 client ${rate(onePull)} = ${(onePull.registry.opsPerSec / refPull).toFixed(1)}×` : ''
        out.push({ target: 'pull ≥ 3× reference, ≤16 clients', scope, value: `${rate(bestPull)} with ${bestPull.clients} = ${x.toFixed(1)}× ${refPull}/s${single}`, pass: x >= 3 })
      }
      const coldPull = at5k.find((r) => r.op === 'pull-cold' && r.clients === 1)
      if (coldPull) {
        const x = coldPull.registry.opsPerSec / refPull
        out.push({ target: 'pull ≥ 3× reference (caches off, 1 client)', scope, value: `${rate(coldPull)} = ${x.toFixed(1)}× ${refPull}/s`, pass: x >= 3 })
      }
    }
    for (const [op, min] of [
      ['pull', 0.5],
      ['pull-cold', 0.5],
      ['show', 0.5],
      ['push', 0.33],
    ] as const) {
      const rows = mine.filter((r) => r.op === op && r.clients === 1 && r.phase === (op === 'push' ? 'fill' : 'at-size') && ok(r))
      if (!rows.length) continue
      const worst = rows.reduce((w, r) => (r.ratio < w.ratio ? r : w))
      out.push({ target: `${op}: registry ÷ raw ≥ ${min}`, scope: `${backend}, worst size`, value: `${fx(worst.ratio)} @${fmt(worst.size)}`, pass: worst.ratio >= min })
    }
  }
  for (const d of digest) {
    out.push({ target: 'digest+validate ≥ 0.9 × bare pipeline', scope: d.label, value: d.error ?? fx(d.ratio), pass: d.error ? undefined : d.ratio >= 0.9 })
  }
  for (const reg of rss.filter((r) => r.mode !== 'raw')) {
    out.push({
      target: 'peak RSS < 128 MiB, push+pull one big blob (level)',
      scope: `${reg.mode === 'registry' ? 'blobs in LevelDB' : 'fileBlobStore'}, ${mib(reg.bytes)} MiB gzip`,
      value: reg.error ?? `${mib(reg.peak)} MiB (anon ${mib(reg.anonPeak)} MiB)`,
      pass: reg.error ? undefined : (reg.peak ?? Infinity) < 128 * 2 ** 20,
      ...((reg.bytes ?? 0) < 2 ** 30 ? { note: 'target is for 1 GiB: run with --gib' } : {}),
    })
  }
  return out
}

export function eventsTable(rows: readonly EventRow[]): string[][] {
  const out = [['backend', 'clients', 'push/s events on', 'push/s off', 'on÷off (target ≥ 0.80)', 'p50 ms on / off', 'CPU µs/push on / off', 'reads+commits/push on / off', 'keys written/push on / off', 'load 1m']]
  for (const r of rows) {
    const err = r.on.error ?? r.off.error
    out.push([
      r.backend,
      String(r.clients),
      err ? `✗ ${err.slice(0, 60)}` : fmt(r.on.opsPerSec),
      err ? '' : fmt(r.off.opsPerSec),
      err ? '' : `${fx(r.ratio)} ${r.ratio >= 0.8 ? 'met' : 'MISSED'}`,
      `${ms(r.on.p50Ms)} / ${ms(r.off.p50Ms)}`,
      `${fmt(r.on.cpuUsPerOp)} / ${fmt(r.off.cpuUsPerOp)}`,
      `${fmt(r.storageOn.reads, 1)}+${fmt(r.storageOn.commits, 1)} / ${fmt(r.storageOff.reads, 1)}+${fmt(r.storageOff.commits, 1)}`,
      `${fmt(r.storageOn.keysWritten, 1)} / ${fmt(r.storageOff.keysWritten, 1)}`,
      r.load ? `${r.load[0].toFixed(1)}→${r.load[1].toFixed(1)}` : '',
    ])
  }
  return out
}

export function feedReadTable(rows: readonly FeedReadRow[]): string[][] {
  return [['backend', 'events', 'read/s while placing', 'read/s placed'], ...rows.map((r) => [r.backend, fmt(r.events), fmt(r.placingPerSec), fmt(r.readPerSec)])]
}

export function ociTable(rows: readonly OciRow[]): string[][] {
  return [
    ['backend', 'op', 'chart', 'releases', 'ops each side', 'appr API ops/s', '/v2/ ops/s', 'requests appr / /v2/', '/v2/ ÷ appr'],
    ...rows.map((r) => [r.backend, r.op, `${r.kib} KiB`, fmt(r.releases), fmt(r.ops), fmt(r.apprPerSec), fmt(r.ociPerSec), `${r.requests.appr} / ${+r.requests.oci.toFixed(1)}`, fx(r.ratio)]),
  ]
}

/** The tables of one run, titled (a table with only its header row has no data). */
export function resultTables(results: Results): [string, string[][]][] {
  return [
    ['Registry beside raw backend', opsTable(results.ops)],
    ['Digest + validate throughput', digestTable(results.digest)],
    ['Peak RSS, one large blob pushed then pulled', rssTable(results.rss)],
    ['Change feed: push with events on ÷ off', eventsTable(results.events?.push ?? [])],
    ['Change feed: reading it (pages of 1,000)', feedReadTable(results.events?.read ?? [])],
    ['Targets (issue #7)', verdictTable(results.targets)],
    ['HTTP: appr-core serve beside a bare node:http server', httpTable(results.http?.rows ?? [])],
    ['HTTP: serve over the long read phase', httpMemoryTable(results.http)],
    ['HTTP targets (issue #13)', verdictTable(httpVerdicts(results.http))],
    ['OCI: pushes and pulls through the appr API and /v2/ (same server, same store)', ociTable(results.oci ?? [])],
  ]
}

/** Replaces the results section of docs/performance.md with the tables of `runs`. */
export function writeDoc(doc: string, runs: readonly Results[]): void {
  const start = '<!-- bench:results:start -->'
  const end = '<!-- bench:results:end -->'
  const text = readFileSync(doc, 'utf8')
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from < 0 || to < from) throw new Error(`${doc} lacks the ${start} … ${end} markers`)
  const sections = runs.map((run) => {
    const m = run.machine as Record<string, unknown>
    const facts = `Run of ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.cpu} ×${m.cores} (${m.memoryGiB} GiB), ${m.platform}, node ${m.node}, commit ${m.commit}; load average ${(m.loadAverageAtStart as number[]).join(' ')} at start, ${(m.loadAverageAtEnd as number[]).join(' ')} at end. Options: \`${JSON.stringify(run.options)}\`.`
    const body = resultTables(run)
      .filter(([, t]) => t.length > 1)
      .map(([title, t]) => `#### ${title}\n\n${renderMarkdown(t)}`)
      .join('\n\n')
    const skipped = run.skipped.length ? `\n\nNot run: ${run.skipped.map((s) => `${s.name} (${s.skipped})`).join('; ')}.` : ''
    return `${facts}\n\n${body}${skipped}`
  })
  writeFileSync(doc, `${text.slice(0, from + start.length)}\n${sections.join('\n\n---\n\n')}\n${text.slice(to)}`)
}
