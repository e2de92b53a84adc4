/**
 * A child process making random registry changes with events on, for the multi-process feed
 * test. Argument: JSON `{ adapter, url?, hosts?, prefix, seed, waves, startAt }`. Prints one JSON
 * line `{ acknowledged, failed }`: what each acknowledged change must have recorded.
 */

import type { KvStore } from 'appr-core'
import { isApprError, Registry } from 'appr-core'
import { apply, expected, prng, randomOp } from './events-ops.js'

interface WorkerConfig {
  adapter: 'redis' | 'etcd'
  url?: string
  hosts?: string[]
  prefix: string
  seed: number
  waves: number
  startAt: number
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig
const store: KvStore =
  config.adapter === 'redis'
    ? (await import('appr-core/adapters/redis')).redisStore({ url: config.url!, prefix: config.prefix })
    : (await import('appr-core/adapters/etcd')).etcdStore({ hosts: config.hosts!, prefix: config.prefix })
const registry = new Registry({ store, events: true })
const rand = prng(config.seed)
const acknowledged: string[] = []
let failed = 0
await new Promise((r) => setTimeout(r, Math.max(0, config.startAt - Date.now())))
for (let wave = 0; wave < config.waves; wave++) {
  const ops = Array.from({ length: 6 }, () => randomOp(rand))
  const results = await Promise.allSettled(ops.map((op) => apply(registry, op)))
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') acknowledged.push(expected(ops[i]!, result.value))
    else if (isApprError(result.reason) && result.reason.code !== 'resource-in-use' && result.reason.code !== 'internal-error') failed++
    else throw result.reason
  })
}
await registry.close()
console.log(JSON.stringify({ acknowledged, failed }))
