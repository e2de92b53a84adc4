/**
 * A child process making random registry changes with events on, for the multi-process feed
 * test. Argument: JSON `{ adapter, url?, hosts?, prefix, seed, waves, startAt }`. Prints one JSON
 * line `{ acknowledged, failed }`: what each acknowledged change must have recorded.
 */

import type { KvStore } from 'appr-core'
import { Registry } from 'appr-core'
import { apply, expected, opSource, prng, recordedBeforeRefusal, refusedAsAllowed } from './events-ops.js'

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
const ops = opSource(prng(config.seed), `p${config.seed}`)
const acknowledged: string[] = []
let failed = 0
await new Promise((r) => setTimeout(r, Math.max(0, config.startAt - Date.now())))
for (let n = 0; n < config.waves; n++) {
  const wave = ops.wave(6)
  const results = await Promise.allSettled(wave.map((op) => apply(registry, op)))
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') acknowledged.push(...expected(wave[i]!, result.value))
    else if (refusedAsAllowed(wave[i]!, result.reason)) {
      acknowledged.push(...recordedBeforeRefusal(wave[i]!))
      failed++
    }
    else throw result.reason
  })
}
await registry.close()
console.log(JSON.stringify({ acknowledged, failed }))
