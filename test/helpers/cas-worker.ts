/**
 * A child process that writes to a shared redis or etcd store, for multi-process tests and the
 * throughput bench. Argument: JSON `{ adapter, url?, hosts?, prefix, count, mode, id }`.
 * - mode `counter`: `count` compare-and-set increments of the one key `counter`.
 * - mode `independent`: `count` create-if-absent commits of keys `w/<id>/<n>` (no contention).
 * - mode `push`: `count` Registry.push calls of small distinct charts to package `bench/p<id>`.
 * Prints one JSON line `{ commits, conflicts, ms }`.
 */
import type { KvStore } from '../../src/storage/kv.js'

interface WorkerConfig {
  adapter: 'redis' | 'etcd'
  url?: string
  hosts?: string[]
  prefix: string
  count: number
  mode: 'counter' | 'independent' | 'push'
  id: number
  /** Wall-clock time (ms) at which to begin, so all processes really run at once. */
  startAt?: number
  /**
   * How many processes meet at a barrier in the store (key `ready`) before beginning: unlike
   * `startAt`, it holds however long a loaded machine takes to start each process.
   */
  barrier?: number
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig
const store: KvStore =
  config.adapter === 'redis'
    ? (await import('appr-core/adapters/redis')).redisStore({ url: config.url!, prefix: config.prefix })
    : (await import('appr-core/adapters/etcd')).etcdStore({ hosts: config.hosts!, prefix: config.prefix })

const bytes = (s: string) => new TextEncoder().encode(s)
let conflicts = 0
await store.get('warm-up')
// Push mode: charts are made before the clock starts, so only the registry is measured.
const registry = config.mode === 'push' ? new (await import('appr-core')).Registry({ store }) : undefined
const { tgz } = await import('../registry/helpers.js')
const charts = config.mode === 'push' ? await Promise.all(Array.from({ length: config.count }, (_, n) => tgz({ 'chart/Chart.yaml': `name: p${config.id}\nversion: 1.0.${n}\n` }))) : []
if (config.startAt) await new Promise((r) => setTimeout(r, Math.max(0, config.startAt! - Date.now())))
if (config.barrier) await meet(config.barrier)
const started = performance.now()
for (let n = 0; n < config.count; n++) {
  if (registry) {
    await registry.push({ package: `bench/p${config.id}`, release: `1.0.${n}`, format: 'helm', blob: charts[n]! })
  } else if (config.mode === 'counter') {
    for (;;) {
      const cur = await store.get('counter')
      const value = cur ? Number(new TextDecoder().decode(cur.value)) : 0
      const r = await store.commit({ checks: [{ key: 'counter', version: cur?.version ?? null }], puts: [{ key: 'counter', value: bytes(String(value + 1)) }] })
      if (r.ok) break
      conflicts++
    }
  } else {
    const key = `w/${config.id}/${String(n).padStart(7, '0')}`
    const r = await store.commit({ checks: [{ key, version: null }], puts: [{ key, value: bytes(key) }] })
    if (!r.ok) throw new Error(`unexpected conflict on ${key}`)
  }
}
const ms = performance.now() - started

/** Counts this process in at `ready`, then waits until `processes` have. */
async function meet(processes: number): Promise<void> {
  for (;;) {
    const cur = await store.get('ready')
    const value = cur ? Number(new TextDecoder().decode(cur.value)) : 0
    if ((await store.commit({ checks: [{ key: 'ready', version: cur?.version ?? null }], puts: [{ key: 'ready', value: bytes(String(value + 1)) }] })).ok) break
  }
  for (;;) {
    const cur = await store.get('ready')
    if (cur && Number(new TextDecoder().decode(cur.value)) >= processes) return
    await new Promise((r) => setTimeout(r, 5))
  }
}
await (registry ?? store).close()
console.log(JSON.stringify({ commits: config.count, conflicts, ms }))
