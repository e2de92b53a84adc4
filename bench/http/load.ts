/**
 * The load generator of the HTTP bench, in its own process so its CPU is not the server's:
 * keep-alive `node:http` clients (one Agent per server and client count, as many sockets as
 * clients), each client sending its next request as soon as the previous answer is read.
 * Forked by bench/sections/http.ts; answers every {@link LoadJob} with a {@link LoadResult}.
 */
import { Agent, request } from 'node:http'
import { chartBlob } from '../lib/tarball.js'

/** The appr operations the HTTP bench drives. */
export type HttpOp = 'push' | 'pull' | 'show' | 'list' | 'channel-add'

export interface LoadJob {
  readonly type: 'run'
  readonly id: number
  readonly port: number
  readonly op: HttpOp
  /** Package indices (list: namespace indices), in order. */
  readonly indices: readonly number[]
  readonly clients: number
  /** Only open the clients' connections (so the server's CPU for that stays out of the measured block). */
  readonly connectOnly?: boolean
  /** Channel name for channel-add. */
  readonly channel?: string
}

export interface LoadResult {
  readonly type: 'done'
  readonly id: number
  /** Per-request latency in ns, in the order the requests started. */
  readonly latencies: number[]
  readonly wallNs: number
  /** This process's CPU time (the client's, not the server's), µs. */
  readonly cpuUs: number
  readonly bytes: number
  readonly error?: string
}

/** Package `i`: a hundred packages per namespace, so a namespace listing is one page of 100. */
export const packageOf = (i: number) => `bench-${Math.floor(i / 100)}/pkg-${i}`

const agents = new Map<string, Agent>()
function agentFor(port: number, clients: number): Agent {
  const key = `${port}/${clients}`
  let agent = agents.get(key)
  if (agent === undefined) {
    agent = new Agent({ keepAlive: true, maxSockets: clients })
    agents.set(key, agent)
  }
  return agent
}

// Each push body is built once and sent to both servers (same bytes), then dropped.
const bodies = new Map<number, { body: Buffer; uses: number }>()
function pushBody(i: number): Buffer {
  let entry = bodies.get(i)
  if (entry === undefined) {
    const blob = Buffer.from(chartBlob(i)).toString('base64')
    entry = { body: Buffer.from(JSON.stringify({ blob, release: '1.0.0', media_type: 'helm' })), uses: 0 }
    bodies.set(i, entry)
  }
  if (++entry.uses === 2) bodies.delete(i)
  return entry.body
}

interface Target {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly body?: Buffer
}

function target(job: LoadJob, i: number, body: Buffer | undefined): Target {
  const pkg = `/api/v1/packages/${packageOf(i)}`
  switch (job.op) {
    case 'push':
      return { method: 'POST', path: pkg, body: body! }
    case 'pull':
      return { method: 'GET', path: `${pkg}/default/helm/pull` }
    case 'show':
      return { method: 'GET', path: `${pkg}/default/helm` }
    case 'list':
      return { method: 'GET', path: `/api/v1/packages?namespace=bench-${i}` }
    case 'channel-add':
      return { method: 'POST', path: `${pkg}/channels/${job.channel ?? 'stable'}/1.0.0` }
  }
}

/** One request; resolves with the body size. A reused socket the server closed meanwhile is retried once. */
function send(agent: Agent, port: number, t: Target, retry = true): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = t.body ? { 'content-type': 'application/json', 'content-length': t.body.byteLength } : {}
    const req = request({ host: '127.0.0.1', port, method: t.method, path: t.path, agent, headers }, (res) => {
      let n = 0
      res.on('data', (chunk: Buffer) => {
        n += chunk.byteLength
      })
      res.on('end', () => {
        if (res.statusCode === 200) resolve(n)
        else reject(new Error(`${t.method} ${t.path}: HTTP ${res.statusCode}`))
      })
      res.on('error', reject)
    })
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (retry && req.reusedSocket && error.code === 'ECONNRESET') send(agent, port, t, false).then(resolve, reject)
      else reject(error)
    })
    req.end(t.body)
  })
}

async function run(job: LoadJob): Promise<LoadResult> {
  const agent = agentFor(job.port, job.clients)
  if (job.connectOnly) {
    await Promise.all(Array.from({ length: job.clients }, () => send(agent, job.port, { method: 'GET', path: '/version' })))
    return { type: 'done', id: job.id, latencies: [], wallNs: 0, cpuUs: 0, bytes: 0 }
  }
  const targets = job.indices.map((i) => target(job, i, job.op === 'push' ? pushBody(i) : undefined))
  const latencies = new Array<number>(targets.length)
  let next = 0
  let bytes = 0
  let error: string | undefined
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  const client = async () => {
    while (next < targets.length && error === undefined) {
      const k = next++
      const t0 = process.hrtime.bigint()
      try {
        bytes += await send(agent, job.port, targets[k]!)
      } catch (e) {
        error ??= e instanceof Error ? e.message : String(e)
        return
      }
      latencies[k] = Number(process.hrtime.bigint() - t0)
    }
  }
  await Promise.all(Array.from({ length: job.clients }, client))
  const wallNs = Number(process.hrtime.bigint() - started)
  const used = process.cpuUsage(cpu)
  return { type: 'done', id: job.id, latencies: error === undefined ? latencies : [], wallNs, cpuUs: used.user + used.system, bytes, ...(error === undefined ? {} : { error }) }
}

process.on('message', (job: LoadJob) => {
  run(job).then(
    (result) => process.send!(result),
    (e: unknown) => process.send!({ type: 'done', id: job.id, latencies: [], wallNs: 0, cpuUs: 0, bytes: 0, error: String(e) } satisfies LoadResult),
  )
})
