/**
 * The registry over HTTP: `appr-core serve` (compiled, as users run it) beside a bare
 * `node:http` server doing the minimum for the same operation on the same kind of store
 * (bench/http/bare.ts), both driven by one load generator in its own process with keep-alive
 * clients. The servers take turns in blocks (the side that goes first swaps every block), so
 * load from other processes hits both alike.
 *
 * Per backend: push filling to the first size with one client and to the last size with the
 * most clients (the issue's reference rows), push at each size with the other client count, then
 * at each size show, pull, a list page (one namespace of 100 packages) and channel add with each
 * client count; at the last size a long read phase of pulls on `serve` alone, with its RSS and
 * post-GC heap sampled along the way.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { memoryStore } from '../../adapters/memory/index.js'
import { Registry } from '../../src/registry/registry.js'
import type { BareStore } from '../http/bare.js'
import { type HttpOp, packageOf } from '../http/load.js'
import { type LoadGenerator, type ServerProcess, startBare, startLoad, startServe } from '../http/processes.js'
import { optionalImport } from '../lib/backends.js'
import { countingStore } from '../lib/counting.js'
import { newSamples, pairedRatio, type Samples, type Summary, summarize } from '../lib/stats.js'
import { chartBlob } from '../lib/tarball.js'
import { picks, range } from './ops.js'

const root = new URL('../..', import.meta.url).pathname

export interface HttpOptions {
  readonly backends: readonly string[]
  /** Size checkpoints, ascending (the first is filled with one client, later ones with the most). */
  readonly sizes: readonly number[]
  /** Requests per side for each read phase (list: a fifth of it). */
  readonly opsPerPhase: number
  /** Requests per block. */
  readonly block: number
  /** Client counts, ascending. */
  readonly clients: readonly number[]
  /** Pulls of the long read phase (0: none). */
  readonly longPulls: number
  /** Backends that run the long read phase. */
  readonly longOn: readonly string[]
  readonly dir?: string | undefined
  readonly log: (line: string) => void
}

/** One operation in one setting: serve beside bare. */
export interface HttpRow {
  readonly backend: string
  readonly size: number
  readonly op: HttpOp
  /** `fill`: pushes that took the registry from the previous checkpoint to `size`. */
  readonly phase: 'fill' | 'at-size'
  readonly clients: number
  /** `cpuUsPerOp` is the server process's CPU per request (all its threads). */
  readonly serve: Summary
  readonly bare: Summary
  /** serve ÷ bare throughput: the median over adjacent block pairs. */
  readonly ratio: number
  readonly ratioOverall: number
}

/** `serve`'s memory over the long read phase. */
export interface HttpMemory {
  readonly backend: string
  readonly size: number
  readonly pulls: number
  readonly clients: number
  readonly opsPerSec: number
  /** Pulls done, RSS and post-GC heap (bytes) at each sample. */
  readonly samples: { readonly pulls: number; readonly rss: number; readonly heapUsed: number; readonly external: number }[]
  /** Mean post-GC heap of the last quarter of the samples ÷ the first quarter. */
  readonly heapLastOverFirstQuarter: number
  /** The kernel's RSS high-water mark of `serve` and of the bare server at the end. */
  readonly servePeakRss: number
  readonly barePeakRss: number
  readonly error?: string
}

export interface HttpResult {
  readonly rows: HttpRow[]
  readonly memory: HttpMemory[]
  readonly skipped: { name: string; skipped: string }[]
}

interface ServersModule {
  startRedis(): Promise<{ url: string; stop(): Promise<void> } | undefined>
  startEtcd(): Promise<{ endpoints: string[]; stop(): Promise<void> } | undefined>
}

/** The store specs of both servers on one backend, and how to clean up after them. */
interface Stores {
  readonly serve: string
  readonly bare: BareStore
  close(): Promise<void>
}

async function stores(name: string, dir: string | undefined): Promise<Stores | string> {
  if (name === 'memory') return { serve: 'memory', bare: { kind: 'memory' }, close: async () => {} }
  if (name === 'level') {
    const a = mkdtempSync(join(dir ?? tmpdir(), 'appr-bench-http-serve-'))
    const b = mkdtempSync(join(dir ?? tmpdir(), 'appr-bench-http-bare-'))
    return {
      serve: `level:${a}`,
      bare: { kind: 'level', path: join(b, 'kv'), blobs: join(b, 'blobs') },
      close: async () => {
        for (const d of [a, b]) rmSync(d, { recursive: true, force: true })
      },
    }
  }
  const servers = await optionalImport<ServersModule>('../../test/helpers/servers.js')
  if (typeof servers === 'string') return servers
  // Each side gets its own server: same binary and settings, no shared key space.
  if (name === 'redis') {
    const [a, b] = await Promise.all([servers.startRedis(), servers.startRedis()])
    if (!a || !b) return 'redis-server is not available'
    return { serve: a.url, bare: { kind: 'redis', url: b.url }, close: async () => void (await Promise.allSettled([a.stop(), b.stop()])) }
  }
  if (name === 'etcd') {
    const [a, b] = await Promise.all([servers.startEtcd(), servers.startEtcd()])
    if (!a || !b) return 'etcd is not available'
    return {
      serve: `etcd://${a.endpoints.map((e) => e.replace(/^https?:\/\//, '')).join(',')}`,
      bare: { kind: 'etcd', endpoints: b.endpoints },
      close: async () => void (await Promise.allSettled([a.stop(), b.stop()])),
    }
  }
  return `unknown backend ${name} (memory, level, redis, etcd)`
}

/** Keys the registry's push of a new package writes (the bare push writes as many). */
async function keysPerPush(): Promise<number> {
  const counted = countingStore(memoryStore())
  const registry = new Registry({ store: counted.store })
  for (let i = 0; i < 20; i++) await registry.push({ package: packageOf(i), release: '1.0.0', format: 'helm', blob: chartBlob(i) })
  await registry.close()
  return Math.max(3, Math.round(counted.counts.keysWritten / 20))
}

interface Side {
  readonly server: ServerProcess
  readonly samples: Samples
}

/** Runs one block on one side: connections opened first, then the requests, with the server's CPU around them. */
async function runBlock(load: LoadGenerator, side: Side, op: HttpOp, indices: readonly number[], clients: number, channel: string | undefined): Promise<void> {
  const { samples, server } = side
  if (samples.error !== undefined) return
  const job = { port: server.port, op, indices, clients: Math.min(clients, indices.length), ...(channel === undefined ? {} : { channel }) }
  await load.run({ ...job, connectOnly: true })
  const before = await server.probe()
  const result = await load.run(job)
  const after = await server.probe()
  if (result.error !== undefined) {
    samples.error = result.error
    return
  }
  samples.wallNs += result.wallNs
  samples.cpuUs += after.cpuUs - before.cpuUs
  samples.blockNs.push(result.wallNs)
  samples.blockOps.push(indices.length)
  samples.blockCpuUs.push(after.cpuUs - before.cpuUs)
  samples.blockGcNs.push(0)
  for (const l of result.latencies) samples.latencies.push(l)
}

/** Runs the whole HTTP matrix on every backend. */
export async function httpSection(options: HttpOptions): Promise<HttpResult> {
  const { log } = options
  log('http: building dist/ (serve runs compiled, as installed)')
  await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root })
  const keys = await keysPerPush()
  const result: HttpResult = { rows: [], memory: [], skipped: [] }
  const most = Math.max(...options.clients)
  const least = Math.min(...options.clients)
  for (const name of options.backends) {
    const opened = await stores(name, options.dir)
    if (typeof opened === 'string') {
      log(`http ${name}: skipped — ${opened}`)
      result.skipped.push({ name, skipped: opened })
      continue
    }
    const load = startLoad()
    let serve: ServerProcess | undefined
    let bare: ServerProcess | undefined
    try {
      serve = await startServe(opened.serve)
      bare = await startBare({ store: opened.bare, keysPerPush: keys })
      const servers = { serve, bare }
      const phase = async (op: HttpOp, size: number, clients: number, indices: readonly number[], phaseName: 'fill' | 'at-size', channel?: string) => {
        const sides = { serve: { server: servers.serve, samples: newSamples() }, bare: { server: servers.bare, samples: newSamples() } }
        for (let start = 0, b = 0; start < indices.length; start += options.block, b++) {
          const slice = indices.slice(start, start + options.block)
          const order = b % 2 === 0 ? [sides.serve, sides.bare] : [sides.bare, sides.serve]
          for (const side of order) await runBlock(load, side, op, slice, clients, channel)
        }
        const s = summarize(sides.serve.samples)
        const w = summarize(sides.bare.samples)
        const row: HttpRow = {
          backend: name,
          size,
          op,
          phase: phaseName,
          clients,
          serve: s,
          bare: w,
          ratio: pairedRatio(sides.serve.samples, sides.bare.samples),
          ratioOverall: s.opsPerSec / w.opsPerSec,
        }
        result.rows.push(row)
        log(
          `http ${name} ${op} @${size} ×${clients}: serve ${s.opsPerSec.toFixed(0)}/s (${s.cpuUsPerOp.toFixed(0)} µs CPU)${s.error ? ` (${s.error})` : ''}, bare ${w.opsPerSec.toFixed(0)}/s (${w.cpuUsPerOp.toFixed(0)} µs)${w.error ? ` (${w.error})` : ''}, ratio ${row.ratio.toFixed(2)}`,
        )
        return row
      }

      let next = 0
      for (const [k, size] of options.sizes.entries()) {
        const fillClients = k === 0 ? least : most
        await phase('push', size, fillClients, range(next, size), 'fill')
        next = Math.max(next, size)
        for (const clients of options.clients.filter((c) => c !== fillClients)) {
          const pushes = Math.min(options.opsPerPhase, Math.ceil(size / 5))
          await phase('push', size, clients, range(next, next + pushes), 'at-size')
          next += pushes
        }
        for (const clients of options.clients) {
          const seed = size * 7 + clients
          const reads = picks(seed, options.opsPerPhase, next)
          await phase('show', size, clients, reads, 'at-size')
          await phase('pull', size, clients, reads, 'at-size')
          await phase('list', size, clients, picks(seed + 1, Math.ceil(options.opsPerPhase / 5), Math.ceil(next / 100)), 'at-size')
          const adds = [...new Set(picks(seed + 2, Math.min(options.opsPerPhase, next), next))]
          await phase('channel-add', size, clients, adds, 'at-size', `stable-${size}-${clients}`)
        }
      }
      if (options.longPulls > 0 && options.longOn.includes(name)) {
        result.memory.push(await longReads(load, serve, bare, name, next, options.longPulls, most, log))
      }
    } catch (e) {
      log(`http ${name}: failed — ${e instanceof Error ? e.stack : String(e)}`)
      result.skipped.push({ name, skipped: `failed: ${e instanceof Error ? e.message : String(e)}` })
    } finally {
      load.stop()
      await serve?.stop()
      await bare?.stop()
      await opened.close()
    }
  }
  return result
}

/**
 * Pulls of random packages on `serve` alone, after one pull of every package (so every cache that
 * can fill has filled), sampling RSS and the post-GC heap twenty times along the way.
 */
async function longReads(
  load: LoadGenerator,
  serve: ServerProcess,
  bare: ServerProcess,
  backend: string,
  packages: number,
  pulls: number,
  clients: number,
  log: (line: string) => void,
): Promise<HttpMemory> {
  const samples: HttpMemory['samples'][number][] = []
  let error: string | undefined
  let wallNs = 0
  const warm = await load.run({ port: serve.port, op: 'pull', indices: range(0, packages), clients })
  error = warm.error
  const step = Math.ceil(pulls / 20)
  const sample = async (done: number) => {
    const p = await serve.probe(true)
    samples.push({ pulls: done, rss: p.rss, heapUsed: p.heapUsed, external: p.external })
  }
  await sample(0)
  for (let done = 0; done < pulls && error === undefined; ) {
    const n = Math.min(step, pulls - done)
    const r = await load.run({ port: serve.port, op: 'pull', indices: picks(done + 1, n, packages), clients })
    error = r.error
    wallNs += r.wallNs
    done += n
    await sample(done)
  }
  const quarter = (q: number) => {
    const measured = samples.slice(1)
    const part = measured.slice(Math.floor((q * measured.length) / 4), Math.floor(((q + 1) * measured.length) / 4))
    return part.reduce((a, s) => a + s.heapUsed, 0) / part.length
  }
  const memory: HttpMemory = {
    backend,
    size: packages,
    pulls,
    clients,
    opsPerSec: pulls / (wallNs / 1e9),
    samples,
    heapLastOverFirstQuarter: quarter(3) / quarter(0),
    servePeakRss: serve.peakRss(),
    barePeakRss: bare.peakRss(),
    ...(error === undefined ? {} : { error }),
  }
  const mib = (n: number) => (n / 2 ** 20).toFixed(1)
  log(
    `http ${backend} long read: ${pulls} pulls ×${clients} at ${memory.opsPerSec.toFixed(0)}/s; post-GC heap ${samples.map((s) => mib(s.heapUsed)).join(' → ')} MiB (last ÷ first quarter ${memory.heapLastOverFirstQuarter.toFixed(2)}); serve peak RSS ${mib(memory.servePeakRss)} MiB, bare ${mib(memory.barePeakRss)} MiB${error ? ` (${error})` : ''}`,
  )
  return memory
}
