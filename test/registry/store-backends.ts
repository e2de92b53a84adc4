// The stores a registry test runs on: memory and level always, Redis and etcd when their servers
// can be started (throwaway ones, see test/helpers/servers.ts), each opened fresh per use.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { KvStore } from 'appr-core'
import { etcdStore } from 'appr-core/adapters/etcd'
import { levelStore } from 'appr-core/adapters/level'
import { memoryStore } from 'appr-core/adapters/memory'
import { redisStore } from 'appr-core/adapters/redis'
import { startEtcd, startRedis } from '../helpers/servers.js'

export interface StoreBackend {
  readonly name: 'memory' | 'level' | 'redis' | 'etcd'
  /** A fresh, empty store, and what removes it. */
  open(): Promise<{ store: KvStore; cleanup(): Promise<void> }>
}

/** The backends for `suite` (named in SKIPPED SUITE lines); `stop` ends the servers started. */
export async function storeBackends(suite: string): Promise<{ backends: StoreBackend[]; stop(): Promise<void> }> {
  let unique = 0
  const tag = suite.replace(/[^a-z0-9]+/gi, '-')
  const backends: StoreBackend[] = [
    { name: 'memory', open: async () => ({ store: memoryStore(), cleanup: async () => undefined }) },
    {
      name: 'level',
      async open() {
        const dir = mkdtempSync(join(tmpdir(), `appr-${tag}-`))
        return { store: levelStore({ path: join(dir, 'db') }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
      },
    },
  ]
  const redis = await startRedis({ suite: `${suite} on redis` })
  if (redis) backends.push({ name: 'redis', open: async () => ({ store: redisStore({ url: redis.url, prefix: `${tag}${process.pid}-${++unique}` }), cleanup: async () => undefined }) })
  const etcd = await startEtcd({ suite: `${suite} on etcd` })
  if (etcd) backends.push({ name: 'etcd', open: async () => ({ store: etcdStore({ hosts: etcd.endpoints, prefix: `${tag}${process.pid}-${++unique}/` }), cleanup: async () => undefined }) })
  return {
    backends,
    async stop() {
      await redis?.stop()
      await etcd?.stop()
    },
  }
}
