// The Helm index at scale: N one-release charts in one namespace of a memory store, the handler
// called in-process (no sockets), timing GET /helm/<ns>/index.yaml when it is built the first
// time (every archive read), asked again with nothing changed (200 from the built index, plain
// and gzipped: the first gzip compresses it), asked with its ETag (304), and after one more push
// (one archive read). Medians of --runs. With --store redis, a throwaway redis-server (as the tests start one) holds the records instead;
// --per-package lists as a RegistryApi without listManifests does (each package's releases).
// Not part of npm test or npm run bench:
//   node --conditions=source --import tsx bench/tools/helm-index.ts [--charts 10000] [--runs 5] [--store memory|redis] [--per-package]
import { parseArgs } from 'node:util'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { redisStore } from 'appr-core/adapters/redis'
import { createHandler } from 'appr-core/http'
import { startRedis } from '../../test/helpers/servers.js'
import { tgz } from '../../test/registry/helpers.js'

const { values } = parseArgs({ options: { charts: { type: 'string', default: '10000' }, runs: { type: 'string', default: '5' }, store: { type: 'string', default: 'memory' }, 'per-package': { type: 'boolean', default: false } } })
const charts = Number(values.charts)
const runs = Number(values.runs)
const redis = values.store === 'redis' ? await startRedis({ suite: 'helm index bench' }) : undefined
if (values.store === 'redis' && redis === undefined) process.exit(1)
const registry = new Registry({ store: redis === undefined ? memoryStore() : redisStore({ url: redis.url }) })
const api = values['per-package']
  ? new Proxy(registry, {
      get: (target, key) => {
        if (key === 'listManifests') return undefined
        const value = Reflect.get(target, key)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  : registry
const handler = createHandler(api)
const url = 'http://bench.local/helm/bench/index.yaml'

const chart = (i: number, version: string) =>
  tgz({
    [`c${i}/Chart.yaml`]: `apiVersion: v2\nname: c${i}\nversion: ${version}\nappVersion: "1.0"\ndescription: chart ${i}\nkeywords: [bench]\n`,
    [`c${i}/values.yaml`]: 'replicas: 1\n',
    [`c${i}/templates/deploy.yaml`]: 'kind: Deployment\n',
  })

let started = performance.now()
for (let i = 0; i < charts; i++) await registry.push({ package: `bench/c${i}`, release: '1.0.0', format: 'helm', blob: await chart(i, '1.0.0') })
console.log(`pushed ${charts} charts in ${((performance.now() - started) / 1000).toFixed(1)} s`)

async function get(headers: Record<string, string> = {}): Promise<{ ms: number; status: number; bytes: number; etag: string }> {
  const at = performance.now()
  const response = await handler(new Request(url, { headers }))
  const body = await response.arrayBuffer()
  return { ms: performance.now() - at, status: response.status, bytes: body.byteLength, etag: response.headers.get('etag') ?? '' }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const show = (label: string, xs: number[], status: number, bytes: number) =>
  console.log(`${label.padEnd(28)} median ${median(xs).toFixed(0).padStart(6)} ms  (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})  ${status}, ${bytes} bytes`)

const first = await get()
show('first build', [first.ms], first.status, first.bytes)
const unchanged: number[] = []
const notModified: number[] = []
let last = first
let cond = first
for (let r = 0; r < runs; r++) {
  last = await get()
  unchanged.push(last.ms)
  cond = await get({ 'if-none-match': first.etag })
  notModified.push(cond.ms)
}
show('unchanged (200, built)', unchanged, last.status, last.bytes)
show('unchanged (304)', notModified, cond.status, cond.bytes)
const packed: number[] = []
let gz = first
for (let r = 0; r < runs; r++) {
  gz = await get({ 'accept-encoding': 'gzip' })
  packed.push(gz.ms)
}
show('unchanged, gzip (200)', packed, gz.status, gz.bytes)
const afterPush: number[] = []
for (let r = 0; r < runs; r++) {
  await registry.push({ package: `bench/c${r}`, release: `1.0.${r + 1}`, format: 'helm', blob: await chart(r, `1.0.${r + 1}`) })
  started = performance.now()
  last = await get()
  afterPush.push(performance.now() - started)
}
show('after one push (200)', afterPush, last.status, last.bytes)
await registry.close()
await redis?.stop()
