/**
 * appr-core benchmarks: every registry operation beside the raw backend doing the minimum
 * work that operation needs, in the same run. Never part of `npm test`.
 *
 *   npm run bench                          memory, level (+ redis, etcd when available): 1k, 5k, 10k
 *   npm run bench -- --full                also 100k packages (BENCH_FULL=1)
 *   npm run bench -- --gib                 peak RSS with a 1 GiB blob instead of 200 MiB (BENCH_GIB=1)
 *   npm run bench -- --quick               a smoke run (1k packages, few ops, small blobs)
 *   npm run bench -- --backends level --sections ops --sizes 1000,5000 --ops 1000
 *   npm run bench -- --write-doc           also refresh the tables in docs/performance.md
 *   npm run bench -- --sections http       appr-core serve beside a bare node:http server (not in the default sections)
 *   npm run bench -- --sections http --quick --backends memory,level   its smoke run
 *   npm run bench -- --sections oci        pushes and pulls through the appr API and /v2/ on one store (not in the default sections)
 *
 * Options (flag or environment): --backends (BENCH_BACKENDS), --sizes (BENCH_SIZES), --ops
 * (BENCH_OPS), --clients (BENCH_CLIENTS), --sections ops,digest,rss,events (BENCH_SECTIONS),
 * --big-mib (BENCH_BIG_MIB), --dir for temp data (BENCH_DIR), --out for the JSON file. The http
 * section reads --sizes and --clients too (default 1000,5000 and 1,16), plus --long-pulls
 * (BENCH_LONG_PULLS: pulls of its long read phase, default 200000) and --long-on
 * (BENCH_LONG_ON: backends that run it, default level).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type Backend, loadBackend, type ReferenceStore } from './lib/backends.js'
import { machineFacts, type Results, renderText, resultTables, verdicts, writeDoc } from './lib/report.js'
import { type DigestRow, digestSection } from './sections/digest.js'
import { type EventRow, eventsSection, type FeedReadRow } from './sections/events.js'
import { type HttpResult, httpSection } from './sections/http.js'
import { type OciRow, ociSection } from './sections/oci.js'
import { type OpRow, opsSection } from './sections/ops.js'
import { type RssResult, rssSection } from './sections/rss.js'

const { values: flags } = parseArgs({
  options: {
    backends: { type: 'string' },
    sizes: { type: 'string' },
    ops: { type: 'string' },
    clients: { type: 'string' },
    sections: { type: 'string' },
    'big-mib': { type: 'string' },
    'long-pulls': { type: 'string' },
    'long-on': { type: 'string' },
    dir: { type: 'string' },
    out: { type: 'string' },
    full: { type: 'boolean' },
    gib: { type: 'boolean' },
    quick: { type: 'boolean' },
    'write-doc': { type: 'boolean' },
  },
})

const env = process.env
const list = (s: string | undefined, fallback: string) => (s ?? fallback).split(',').map((x) => x.trim()).filter(Boolean)
const numbers = (s: string | undefined, fallback: string) => list(s, fallback).map(Number)
const quick = flags.quick ?? env.BENCH_QUICK === '1'
const full = flags.full ?? env.BENCH_FULL === '1'

const options = {
  backends: list(flags.backends ?? env.BENCH_BACKENDS, 'memory,level,redis,etcd'),
  sizes: numbers(flags.sizes ?? env.BENCH_SIZES, quick ? '1000' : full ? '1000,5000,10000,100000' : '1000,5000,10000'),
  ops: Number(flags.ops ?? env.BENCH_OPS ?? (quick ? 300 : 2000)),
  clients: numbers(flags.clients ?? env.BENCH_CLIENTS, '1,4,16'),
  sections: list(flags.sections ?? env.BENCH_SECTIONS, 'ops,digest,rss,events'),
  bigMiB: Number(flags['big-mib'] ?? env.BENCH_BIG_MIB ?? (flags.gib || env.BENCH_GIB === '1' ? 1024 : quick ? 20 : 200)),
  dir: flags.dir ?? env.BENCH_DIR,
}
const concurrencyAt = options.sizes.includes(5000) ? 5000 : options.sizes[0]!

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
const startedAt = new Date().toISOString()
const machine = machineFacts()
log(`${machine.cpu} ×${machine.cores}, ${machine.memoryGiB} GiB, node ${machine.node}, load ${(machine.loadAverageAtStart as number[]).join(' ')}`)

const opRows: OpRow[] = []
const digestRows: DigestRow[] = []
const rssRows: RssResult[] = []
const eventRows: EventRow[] = []
const feedRows: FeedReadRow[] = []
const skipped: { name: string; skipped: string }[] = []
const references = new Map<string, ReferenceStore | undefined>()

if (options.sections.includes('ops')) {
  // Warm the JIT on a throwaway memory registry so the first tenth of the first real run is not compile time.
  const warm = (await loadBackend('memory')) as Backend
  await opsSection(warm, { sizes: [300], opsPerPhase: 200, block: 100, clients: [], concurrencyAt: -1, concurrencyPushes: 0, listLimit: 100, processes: 0, clientsPerProcess: 0, log: () => {} })
  for (const name of options.backends) {
    const backend = await loadBackend(name, { dir: options.dir })
    if ('skipped' in backend) {
      log(`${name}: skipped — ${backend.skipped}`)
      skipped.push(backend)
      continue
    }
    references.set(backend.name, backend.reference)
    try {
      opRows.push(
        ...(await opsSection(backend, {
          sizes: options.sizes,
          opsPerPhase: options.ops,
          block: quick ? 50 : 100,
          clients: options.clients,
          concurrencyAt,
          concurrencyPushes: quick ? 200 : 1000,
          listLimit: 100,
          processes: 4,
          clientsPerProcess: 4,
          log,
        })),
      )
    } catch (e) {
      log(`${name}: failed — ${e instanceof Error ? e.stack : String(e)}`)
      skipped.push({ name, skipped: `failed: ${e instanceof Error ? e.message : String(e)}` })
    } finally {
      await backend.close()
    }
  }
}

let http: HttpResult | undefined
if (options.sections.includes('http')) {
  const sizes = flags.sizes ?? env.BENCH_SIZES
  http = await httpSection({
    backends: options.backends,
    sizes: sizes === undefined ? (quick ? [300] : [1000, 5000]) : options.sizes,
    opsPerPhase: Number(flags.ops ?? env.BENCH_OPS ?? (quick ? 200 : 2000)),
    block: quick ? 50 : 200,
    clients: numbers(flags.clients ?? env.BENCH_CLIENTS, '1,16'),
    longPulls: Number(flags['long-pulls'] ?? env.BENCH_LONG_PULLS ?? (quick ? 4000 : 200_000)),
    longOn: list(flags['long-on'] ?? env.BENCH_LONG_ON, 'level'),
    dir: options.dir,
    log,
  })
  skipped.push(...http.skipped)
}

const ociRows: OciRow[] = []
if (options.sections.includes('oci')) {
  for (const name of options.backends) {
    const backend = await loadBackend(name, { dir: options.dir })
    if ('skipped' in backend) continue
    try {
      ociRows.push(...(await ociSection(backend, { kibs: [16, 1024], releases: quick ? 20 : 100, pulls: quick ? 200 : 2000, block: quick ? 20 : 100, log })))
    } catch (e) {
      log(`${name} oci: failed — ${e instanceof Error ? e.stack : String(e)}`)
      skipped.push({ name: `${name} oci`, skipped: `failed: ${e instanceof Error ? e.message : String(e)}` })
    } finally {
      await backend.close()
    }
  }
}

if (options.sections.includes('digest')) {
  const MiB = 2 ** 20
  digestRows.push(
    ...(await digestSection(
      [
        { label: '1 MiB', bytes: MiB, runs: quick ? 10 : 40 },
        // Rounds of four sides: 9 at 100 MiB take about a minute, enough for a steady median.
        { label: quick ? '20 MiB' : '100 MiB', bytes: (quick ? 20 : 100) * MiB, runs: quick ? 3 : 9 },
      ],
      log,
    )),
  )
}

if (options.sections.includes('events')) {
  for (const name of options.backends) {
    const backend = await loadBackend(name, { dir: options.dir })
    if ('skipped' in backend) continue
    try {
      const { push, read } = await eventsSection(backend, { pushes: quick ? 400 : 2000, block: quick ? 50 : 100, clients: [1, 8], log })
      eventRows.push(...push)
      feedRows.push(read)
    } catch (e) {
      log(`${name} events: failed — ${e instanceof Error ? e.stack : String(e)}`)
    } finally {
      await backend.close()
    }
  }
}

if (options.sections.includes('rss')) {
  // Hex text gzips about 2:1: a tar of twice the size gives a blob of about bigMiB.
  rssRows.push(...(await rssSection(options.bigMiB * 2 * 2 ** 20, options.dir, log)))
}

const results: Results = {
  machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => +l.toFixed(2)) },
  options: { ...options, concurrencyAt, full, quick },
  startedAt,
  finishedAt: new Date().toISOString(),
  skipped,
  ops: opRows,
  digest: digestRows,
  rss: rssRows,
  events: { push: eventRows, read: feedRows },
  targets: verdicts(opRows, digestRows, rssRows, references),
  ...(http === undefined ? {} : { http }),
  ...(ociRows.length === 0 ? {} : { oci: ociRows }),
}

for (const [title, table] of resultTables(results)) {
  if (table.length > 1) process.stdout.write(`\n${title}\n${renderText(table)}\n`)
}
for (const s of skipped) process.stdout.write(`skipped ${s.name}: ${s.skipped}\n`)

const root = new URL('..', import.meta.url).pathname
const resultsDir = join(root, 'bench/results')
mkdirSync(resultsDir, { recursive: true })
const file = flags.out ?? join(resultsDir, `${startedAt.slice(0, 19).replaceAll(':', '-')}.json`)
const json = `${JSON.stringify(results, null, 2)}\n`
writeFileSync(file, json)
writeFileSync(join(resultsDir, 'latest.json'), json)
log(`results written to ${file} and bench/results/latest.json`)

if (flags['write-doc']) {
  writeDoc(join(root, 'docs/performance.md'), [results])
  log('docs/performance.md updated')
}
