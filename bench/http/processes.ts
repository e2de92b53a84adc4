/**
 * The processes of the HTTP bench: `appr-core serve` as users run it (the compiled `dist/`
 * build, logging one line per request to /dev/null), the bare server (bench/http/bare.ts), and
 * the load generator (bench/http/load.ts). Both servers are preloaded with
 * test/helpers/memory-probe.mjs, so the bench can read their CPU time and post-GC heap over IPC.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../test/helpers/servers.js'
import type { BareJob } from './bare.js'
import type { LoadJob, LoadResult } from './load.js'

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const root = here('../..')
const probe = here('../../test/helpers/memory-probe.mjs')
const tsx = ['--conditions=source', '--import', 'tsx']

/** What a server process says about itself (bytes, µs). */
export interface ProbeResult {
  readonly cpuUs: number
  readonly rss: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
}

/** A server process under measurement. */
export interface ServerProcess {
  readonly port: number
  probe(gc?: boolean): Promise<ProbeResult>
  /** The kernel's high-water mark of this process's RSS (VmHWM), bytes. */
  peakRss(): number
  stop(): Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/version' }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200))
    })
    req.on('error', () => resolve(false))
    req.end()
  })
}

function wrap(child: ChildProcess, port: number, stderr: () => string): ServerProcess {
  let id = 0
  return {
    port,
    probe(gc = false) {
      const my = ++id
      return new Promise((resolve, reject) => {
        const onMessage = (m: { type?: string; id?: number } & ProbeResult) => {
          if (m.type !== 'probe' || m.id !== my) return
          child.off('message', onMessage)
          child.off('exit', onExit)
          resolve(m)
        }
        const onExit = () => reject(new Error(`server exited: ${stderr()}`))
        child.on('message', onMessage)
        child.once('exit', onExit)
        child.send({ type: 'probe', id: my, gc })
      })
    },
    peakRss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      const kb = /VmHWM:\s+(\d+)/.exec(status)?.[1]
      return kb === undefined ? Number.NaN : Number(kb) * 1024
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Starts `appr-core serve --store <spec>` from dist/ (build it first) and waits until it answers. */
export async function startServe(spec: string): Promise<ServerProcess> {
  const port = await freePort()
  const child = fork(here('../../dist/src/cli/main.js'), ['serve', '--store', spec, '--host', '127.0.0.1', '--port', String(port)], {
    cwd: root,
    execArgv: ['--expose-gc', '--import', probe],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const server = wrap(child, port, () => stderr)
  for (let waited = 0; !(await answers(port)); waited += 50) {
    if (child.exitCode !== null || waited > 30_000) {
      await server.stop()
      throw new Error(`appr-core serve --store ${spec} did not start: ${stderr}`)
    }
    await sleep(50)
  }
  return server
}

/** Starts the bare server on `job.store` and waits until it listens. */
export async function startBare(job: BareJob): Promise<ServerProcess> {
  const child = fork(here('./bare.ts'), [JSON.stringify(job)], {
    cwd: root,
    execArgv: ['--expose-gc', ...tsx, '--import', probe],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const port = await new Promise<number>((resolve, reject) => {
    const onMessage = (m: { type?: string; port?: number }) => {
      if (m.type !== 'listening') return
      child.off('message', onMessage)
      resolve(m.port!)
    }
    child.on('message', onMessage)
    child.once('exit', () => reject(new Error(`bare server exited: ${stderr}`)))
  })
  return wrap(child, port, () => stderr)
}

/** The load generator process. */
export interface LoadGenerator {
  run(job: Omit<LoadJob, 'type' | 'id'>): Promise<LoadResult>
  stop(): void
}

export function startLoad(): LoadGenerator {
  const child = fork(here('./load.ts'), [], { cwd: root, execArgv: tsx, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let id = 0
  return {
    run(job) {
      const my = ++id
      return new Promise((resolve, reject) => {
        const onMessage = (m: LoadResult) => {
          if (m.type !== 'done' || m.id !== my) return
          child.off('message', onMessage)
          child.off('exit', onExit)
          resolve(m)
        }
        const onExit = () => reject(new Error('load generator exited'))
        child.on('message', onMessage)
        child.once('exit', onExit)
        child.send({ ...job, type: 'run', id: my } satisfies LoadJob)
      })
    },
    stop() {
      if (child.exitCode === null) child.kill()
    },
  }
}
