/**
 * One client process of the multi-process phase (redis and etcd): connects its own store or raw
 * client to the server the parent started, prepares its inputs, reports `ready`, runs its ops
 * with a few concurrent loops on `go`, and sends back every latency. Started by
 * bench/lib/processes.ts with fork(); never run by hand.
 */
import { Registry } from '../src/registry/registry.js'
import type { KvStore } from '../src/storage/kv.js'
import { type RawDriver, rawOps } from './lib/raw.js'
import { chartBlob } from './lib/tarball.js'

export interface WorkerJob {
  readonly kind: 'redis' | 'etcd'
  readonly endpoints: readonly string[]
  readonly side: 'registry' | 'raw'
  readonly op: 'push' | 'pull'
  readonly indices: readonly number[]
  readonly clients: number
  /** Keys the raw push writes (the registry's measured count). */
  readonly keysPerPush: number
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly latencies: number[]; readonly cpuUs: number; readonly error?: string }

const send = (m: WorkerMessage) => process.send!(m)

async function connect(job: WorkerJob): Promise<{ store?: KvStore; raw?: RawDriver }> {
  if (job.side === 'registry') {
    if (job.kind === 'redis') {
      const { redisStore } = await import('../adapters/redis/index.js')
      return { store: redisStore({ url: job.endpoints[0]! }) }
    }
    const { etcdStore } = await import('../adapters/etcd/index.js')
    return { store: etcdStore({ hosts: job.endpoints }) }
  }
  if (job.kind === 'redis') return { raw: (await import('./lib/raw-redis.js')).redisRaw(job.endpoints[0]!) }
  return { raw: (await import('./lib/raw-etcd.js')).etcdRaw([...job.endpoints]) }
}

process.once('message', async (job: WorkerJob) => {
  const { store, raw } = await connect(job)
  const registry = store && new Registry({ store })
  const ops = raw && rawOps(raw, () => job.keysPerPush)
  const blobs = new Map(job.op === 'push' ? job.indices.map((i) => [i, chartBlob(i)] as const) : [])
  const name = (i: number) => `bench/pkg-${i}`
  const run = async (i: number): Promise<void> => {
    if (registry) {
      if (job.op === 'push') await registry.push({ package: name(i), release: '1.0.0', format: 'helm', blob: blobs.get(i)! })
      else for await (const _ of (await registry.pull(name(i), { release: 'default', format: 'helm' })).stream);
    } else if (job.op === 'push') await ops!.push(i, blobs.get(i)!)
    else await ops!.pull(i)
  }
  // Warm the connection (and the code) outside the measurement.
  await (registry ? registry.list({ limit: 1 }).catch(() => undefined) : raw!.get('warm'))
  send({ type: 'ready' })
  process.once('message', async () => {
    const latencies: number[] = []
    let error: string | undefined
    let next = 0
    const cpu = process.cpuUsage()
    const loop = async () => {
      while (next < job.indices.length && error === undefined) {
        const i = job.indices[next++]!
        const t0 = process.hrtime.bigint()
        try {
          await run(i)
        } catch (e) {
          error = e instanceof Error ? e.message : String(e)
          return
        }
        latencies.push(Number(process.hrtime.bigint() - t0))
      }
    }
    await Promise.all(Array.from({ length: job.clients }, loop))
    const used = process.cpuUsage(cpu)
    send({ type: 'done', latencies, cpuUs: used.user + used.system, ...(error === undefined ? {} : { error }) })
    await (registry ? registry.close() : raw!.close())
    process.disconnect()
  })
})
