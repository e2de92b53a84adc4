/**
 * The backends a benchmark runs on. Each gives fresh, empty registry stores and a raw driver on
 * the same kind of backend through the same client library. Redis and etcd plug in through
 * optional imports: their adapters and the throwaway-server harness are used when present.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { memoryStore } from '../../adapters/memory/index.js'
import { levelStore } from '../../adapters/level/index.js'
import type { KvStore } from '../../src/storage/kv.js'
import { kvRaw, levelRaw, type RawDriver } from './raw.js'

/** The appr 0.7.4 store a backend is compared with in the reference table. */
export type ReferenceStore = 'filesystem' | 'redis' | 'etcd'

export interface Backend {
  readonly name: string
  readonly reference: ReferenceStore | undefined
  /** A new, empty store (its own key space) for a registry. */
  store(): Promise<KvStore>
  /** A new, empty raw driver on the same kind of backend. */
  raw(): Promise<RawDriver>
  /** Stops what this backend started and removes its files. */
  close(): Promise<void>
  /** For a server backend: where the last store() and raw() live, so client processes can join. */
  readonly remote?: Remote
}

/** Endpoints of a server backend's registry store and raw key space. */
export interface Remote {
  readonly kind: 'redis' | 'etcd'
  registry: string[]
  raw: string[]
}

/** A backend that could not be set up, and why. */
export interface Skipped {
  readonly name: string
  readonly skipped: string
}

/** Imports a module that may not exist yet on this branch (an adapter still being written). */
export async function optionalImport<T>(specifier: string): Promise<T | string> {
  try {
    return (await import(specifier)) as T
  } catch (e) {
    return `cannot import ${specifier}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`
  }
}

function tempDirs(label: string) {
  const dirs: string[] = []
  return {
    make(base: string | undefined) {
      const dir = mkdtempSync(join(base ?? tmpdir(), `appr-bench-${label}-`))
      dirs.push(dir)
      return dir
    },
    remove() {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    },
  }
}

function memoryBackend(): Backend {
  return {
    name: 'memory',
    reference: undefined,
    store: async () => memoryStore(),
    // The memory adapter is the backend: its raw baseline is the KvStore itself.
    raw: async () => kvRaw(memoryStore()),
    close: async () => {},
  }
}

function levelBackend(options: { dir?: string | undefined; sync?: boolean }): Backend {
  const dirs = tempDirs('level')
  const opened: { close(): Promise<void> }[] = []
  return {
    name: options.sync ? 'level-sync' : 'level',
    reference: 'filesystem',
    async store() {
      const store = levelStore({ path: dirs.make(options.dir), sync: options.sync ?? false })
      opened.push(store)
      return store
    },
    async raw() {
      const raw = levelRaw(dirs.make(options.dir))
      opened.push(raw)
      return raw
    },
    async close() {
      await Promise.allSettled(opened.map((s) => s.close()))
      dirs.remove()
    },
  }
}

interface ServersModule {
  startRedis(options?: object): Promise<{ url: string; stop(): Promise<void> } | undefined>
  startEtcd(options?: object): Promise<{ endpoints: string[]; stop(): Promise<void> } | undefined>
}

async function redisBackend(): Promise<Backend | Skipped> {
  const adapter = await optionalImport<{ redisStore(options: { url: string }): KvStore }>('appr-core/adapters/redis')
  if (typeof adapter === 'string') return { name: 'redis', skipped: adapter }
  const servers = await optionalImport<ServersModule>('../../test/helpers/servers.js')
  if (typeof servers === 'string') return { name: 'redis', skipped: servers }
  const { redisRaw } = await import('./raw-redis.js')
  const started: { stop(): Promise<void> }[] = []
  const opened: { close(): Promise<void> }[] = []
  const server = async () => {
    const s = await servers.startRedis()
    if (!s) throw new Error('redis-server is not available')
    started.push(s)
    return s
  }
  const remote: Remote = { kind: 'redis', registry: [], raw: [] }
  // Registry and raw each get their own server: same binary and settings, no shared key space.
  return {
    name: 'redis',
    reference: 'redis',
    remote,
    async store() {
      const { url } = await server()
      remote.registry = [url]
      const store = adapter.redisStore({ url })
      opened.push(store)
      return store
    },
    async raw() {
      const { url } = await server()
      remote.raw = [url]
      const raw = redisRaw(url)
      opened.push(raw)
      return raw
    },
    async close() {
      await Promise.allSettled(opened.map((s) => s.close()))
      await Promise.allSettled(started.map((s) => s.stop()))
    },
  }
}

async function etcdBackend(): Promise<Backend | Skipped> {
  const adapter = await optionalImport<{ etcdStore(options: { hosts: string[] | string }): KvStore }>('appr-core/adapters/etcd')
  if (typeof adapter === 'string') return { name: 'etcd', skipped: adapter }
  const servers = await optionalImport<ServersModule>('../../test/helpers/servers.js')
  if (typeof servers === 'string') return { name: 'etcd', skipped: servers }
  const { etcdRaw } = await import('./raw-etcd.js')
  const started: { stop(): Promise<void> }[] = []
  const opened: { close(): Promise<void> }[] = []
  const server = async () => {
    const s = await servers.startEtcd()
    if (!s) throw new Error('etcd is not available')
    started.push(s)
    return s
  }
  const remote: Remote = { kind: 'etcd', registry: [], raw: [] }
  return {
    name: 'etcd',
    reference: 'etcd',
    remote,
    async store() {
      const { endpoints } = await server()
      remote.registry = endpoints
      const store = adapter.etcdStore({ hosts: endpoints })
      opened.push(store)
      return store
    },
    async raw() {
      const { endpoints } = await server()
      remote.raw = endpoints
      const raw = etcdRaw(endpoints)
      opened.push(raw)
      return raw
    },
    async close() {
      await Promise.allSettled(opened.map((s) => s.close()))
      await Promise.allSettled(started.map((s) => s.stop()))
    },
  }
}

/** Sets up a backend by name, or says why it cannot run here. */
export async function loadBackend(name: string, options: { dir?: string | undefined } = {}): Promise<Backend | Skipped> {
  switch (name) {
    case 'memory':
      return memoryBackend()
    case 'level':
      return levelBackend(options)
    case 'level-sync':
      return levelBackend({ ...options, sync: true })
    case 'redis':
      return redisBackend()
    case 'etcd':
      return etcdBackend()
    default:
      return { name, skipped: `unknown backend ${name} (memory, level, level-sync, redis, etcd)` }
  }
}
