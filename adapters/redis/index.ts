/**
 * The Redis adapter: a {@link KvStore} on Redis (standalone, Sentinel or Cluster) through ioredis.
 *
 * - A commit is one Lua script that evaluates every check before its first write, so it is
 *   atomic and linearizable (Redis never interleaves a script with other commands).
 * - Keys are listed in UTF-8 byte order through a sorted set whose scores are all 0
 *   (ZRANGEBYLEX compares members with memcmp).
 * - Versions come from one counter per store (INCR inside the commit script), so a version is
 *   never reused for a key, also after delete and re-create.
 * - Every Redis key carries the hash tag `{<prefix>}`: on a Redis Cluster the whole store lives
 *   in one slot, which is what makes a multi-key commit atomic there.
 * - A commit whose reply is lost (connection dropped, timeout, ioredis resending it after a
 *   reconnect) never applies twice and never reports a false conflict: each commit writes a
 *   marker `{<prefix>}:txn:<id>` (with a TTL) in the same script, a resend finds the marker and
 *   reports success, and a commit that failed with a connection error is resolved by a fence
 *   script that either finds the marker (applied) or claims it (so it can never apply later).
 * - Change hints (`subscribe`): the commit script publishes the keys it puts on `{<prefix>}:chg`;
 *   the store subscribes there on a second connection, opened at the first `subscribe`.
 *
 * See docs/backends.md for the key layout, durability settings and failure behaviour.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto'
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { ApprError } from '../../src/errors/index.js'
import type { KvCapabilities, KvCommit, KvCommitResult, KvEntry, KvListOptions, KvStore } from '../../src/storage/kv.js'
import { importDriver } from '../../src/storage/driver.js'
import { assertCommit, assertKey, backendError, closedError, compareKeys, copyBytes } from '../../src/storage/util.js'
import { hintListeners } from '../_shared/hints.js'
import { fencedError, settleCommit, sleep } from '../_shared/settle.js'
import { COMMIT, FENCE, LIST } from './scripts.js'

// ioredis is an optional peer dependency: without it, importing this module says to install it.
const { Redis: RedisClient } = await importDriver<typeof import('ioredis')>('ioredis', 'redis')

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /** Connection URL (`redis://[:password@]host:port/db`, `rediss://…`) for a client the store creates and owns. Default `redis://127.0.0.1:6379`. */
  readonly url?: string
  /** An ioredis client (Redis or Cluster) to use instead; the store never quits it. */
  readonly client?: Redis | Cluster
  /** Namespace of every Redis key (`{<prefix>}:…`, the braces being the Cluster hash tag). Default `appr`. */
  readonly prefix?: string
  /** Extra ioredis options for the client the store creates (they override the store's defaults). */
  readonly redisOptions?: RedisOptions
  /** How long idempotency markers live, in seconds (default 300). Must exceed any resend delay. */
  readonly markerTtlSeconds?: number
  /** How long to keep trying to resolve a commit whose reply was lost before giving up (default 15 000 ms). */
  readonly resolveTimeoutMs?: number
  /** Page size of `list` when the caller gives no limit (default 1000). */
  readonly pageSize?: number
}

/**
 * Defaults for a client the store creates: no connection until the first command, and a bounded
 * wait when the server is down (each command fails after two reconnect attempts, roughly 0.3 s
 * to a few seconds) instead of queueing forever; ioredis keeps reconnecting in the background.
 */
const clientDefaults: RedisOptions = {
  lazyConnect: true,
  maxRetriesPerRequest: 2,
  connectTimeout: 3000,
  commandTimeout: 15_000,
  enableOfflineQueue: true,
  retryStrategy: (times) => Math.min(100 * times, 1000),
}

type Client = Redis | Cluster

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex')
const scripts = {
  commit: { lua: COMMIT, sha: sha1(COMMIT) },
  fence: { lua: FENCE, sha: sha1(FENCE) },
  list: { lua: LIST, sha: sha1(LIST) },
} as const
type Script = (typeof scripts)[keyof typeof scripts]

/** Runs a script by SHA, loading it with EVAL when the server does not know it (NOSCRIPT). */
async function run(client: Client, script: Script, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
  try {
    return await client.callBuffer('evalsha', script.sha, keys.length, ...keys, ...args)
  } catch (e) {
    if (!(e instanceof Error) || !e.message.includes('NOSCRIPT')) throw e
    return await client.callBuffer('eval', script.lua, keys.length, ...keys, ...args)
  }
}

/** An error Redis itself answered (the command ran and failed), as opposed to a transport failure. */
const isReplyError = (e: unknown): boolean => e instanceof Error && e.name === 'ReplyError'

const text = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('utf8') : String(b))

/** Keys per HMGET of a getMany (larger reads send several inside one MULTI). */
const HMGET_SLICE = 4096

/** An entry from its stored `<version>:<value>` bytes (the value copied: callers never alias ioredis's buffers). */
function versioned(key: string, stored: Buffer): KvEntry {
  const colon = stored.indexOf(0x3a)
  if (colon <= 0) throw new ApprError('internal-error', 'a redis value lacks its version (written by another layout?)', { details: { key } })
  return { key, value: copyBytes(stored.subarray(colon + 1)), version: stored.toString('latin1', 0, colon) }
}

/**
 * Creates a {@link KvStore} on Redis. Nothing connects until the first call.
 * @example
 * ```ts
 * const registry = new Registry({ store: redisStore({ url: 'redis://127.0.0.1:6379', prefix: 'appr' }) })
 * ```
 */
export function redisStore(options: RedisStoreOptions = {}): KvStore {
  const prefix = options.prefix ?? 'appr'
  if (prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new ApprError('invalid-parameters', 'the redis prefix must be non-empty and contain no braces', { details: { prefix } })
  }
  const markerTtl = Math.max(1, Math.floor(options.markerTtlSeconds ?? 300))
  const resolveTimeoutMs = options.resolveTimeoutMs ?? 15_000
  const pageSize = options.pageSize ?? 1000
  const owned = options.client === undefined
  // Created lazily on the first call, so constructing a store (or importing this module) never connects.
  let client: Client | undefined = options.client
  let closed = false
  const capabilities: KvCapabilities = { persistent: true, multiProcess: true, changeHints: true, maxValueBytes: 512 * 1024 * 1024 - 1 }

  const tag = `{${prefix}}`
  const idx = `${tag}:idx`
  const val = `${tag}:kv`
  const ver = `${tag}:ver`
  const seq = `${tag}:seq`
  const markerKey = (id: string) => `${tag}:txn:${id}`
  const hintChannel = `${tag}:chg`
  const hints = hintListeners()
  // The subscriber connection (a client in subscribe mode can send nothing else), opened by the first subscribe.
  let subscriber: Promise<Client> | undefined

  const connection = (): Client => {
    if (closed) throw closedError('redis')
    client ??= new RedisClient(options.url ?? 'redis://127.0.0.1:6379', { ...clientDefaults, ...options.redisOptions } as RedisOptions & { replyMapping?: 'legacy' })
    // An 'error' listener keeps ioredis from printing unhandled error events while reconnecting;
    // failures reach callers through the rejected commands.
    if (owned && client.listenerCount('error') === 0) client.on('error', () => {})
    return client
  }

  const subscribed = (): Promise<Client> => {
    subscriber ??= (async () => {
      const c = connection()
      // Redis and Cluster both duplicate with their own options (their signatures differ only in optional overrides).
      const sub = (c as { duplicate(): Client }).duplicate()
      sub.on('error', () => {})
      sub.on('message', (channel: string, message: string) => {
        if (channel === hintChannel) hints.notify(message.split('\n'))
      })
      try {
        await sub.subscribe(hintChannel)
      } catch (e) {
        sub.disconnect()
        throw e
      }
      return sub
    })().catch((e: unknown) => {
      subscriber = undefined
      throw closed ? closedError('redis') : backendError('redis', e)
    })
    return subscriber
  }

  const read = async <T>(fn: (c: Client) => Promise<T>): Promise<T> => {
    const c = connection()
    try {
      return await fn(c)
    } catch (e) {
      if (closed) throw closedError('redis')
      throw backendError('redis', e)
    }
  }

  const getMany = async (keys: readonly string[]): Promise<(KvEntry | undefined)[]> => {
    for (const key of keys) assertKey(key, capabilities)
    if (keys.length === 0) {
      connection()
      return []
    }
    // One HMGET is one snapshot; a huge read is sliced into HMGETs inside one MULTI (still one snapshot).
    const values = await read(async (c) => {
      if (keys.length <= HMGET_SLICE) return c.hmgetBuffer(val, ...keys)
      const multi = c.multi()
      for (let i = 0; i < keys.length; i += HMGET_SLICE) multi.hmgetBuffer(val, ...keys.slice(i, i + HMGET_SLICE))
      const replies = await multi.exec()
      if (!replies) throw new Error('redis MULTI aborted')
      return replies.flatMap(([error, reply]) => {
        if (error) throw error
        return reply as (Buffer | null)[]
      })
    })
    return keys.map((key, i) => {
      const stored = values[i]
      return stored ? versioned(key, stored) : undefined
    })
  }

  /**
   * Settles a commit whose outcome is unknown: the fence script reports whether its marker says
   * "applied", and otherwise claims the marker so the commit can never apply afterwards.
   */
  const resolve = (id: string, cause: unknown): Promise<KvCommitResult> =>
    settleCommit(
      {
        adapter: 'redis',
        server: 'the server',
        timeoutMs: resolveTimeoutMs,
        isClosed: () => closed,
        fence: async () => text(await run(connection(), scripts.fence, [markerKey(id)], [String(markerTtl)])) === '1',
        isFinal: isReplyError,
      },
      cause,
    )

  return {
    name: 'redis',
    capabilities,
    async get(key) {
      const [entry] = await getMany([key])
      return entry
    },
    getMany,
    async list({ prefix: keyPrefix, after, limit }: KvListOptions) {
      if (keyPrefix !== '') assertKey(keyPrefix, capabilities)
      const max = limit ?? pageSize
      if (!(max >= 1)) {
        connection()
        return []
      }
      const lower = after !== undefined && compareKeys(after, keyPrefix) >= 0 ? `(${after}` : `[${keyPrefix}`
      const [keys, values] = (await read((c) => run(c, scripts.list, [idx, val], [keyPrefix, lower, String(Math.floor(max))]))) as [Buffer[], (Buffer | null)[]]
      const out: KvEntry[] = []
      keys.forEach((k, i) => {
        const stored = values[i]
        if (stored) out.push(versioned(text(k), stored))
      })
      return out
    },
    async commit(commit: KvCommit): Promise<KvCommitResult> {
      const c = connection()
      assertCommit(commit, capabilities)
      const checks = commit.checks ?? []
      const puts = commit.puts ?? []
      const deletes = commit.deletes ?? []
      const writes = puts.length + deletes.length > 0
      const id = randomUUID()
      const args: (string | Buffer)[] = [writes ? String(markerTtl) : '0', String(checks.length)]
      for (const { key, version } of checks) args.push(key, version === null ? '-' : `=${version}`)
      args.push(String(puts.length))
      for (const { key, value } of puts) args.push(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength))
      args.push(String(deletes.length), ...deletes)
      let reply: unknown
      try {
        reply = await run(c, scripts.commit, [idx, val, ver, seq, markerKey(id), hintChannel], args)
      } catch (e) {
        if (closed) throw closedError('redis')
        // Redis answered with an error: the script ran and stopped before writing (every check
        // and every failure mode precedes the first write), so nothing was applied.
        if (isReplyError(e)) throw backendError('redis', e)
        // Transport failure: the script may or may not have run. Settle it.
        if (!writes) throw backendError('redis', e)
        return resolve(id, e)
      }
      const [status, ...rest] = reply as [number, ...Buffer[]]
      if (status === 1 || status === 3) return { ok: true }
      if (status === 0) return { ok: false, conflicts: rest.map(text) }
      throw fencedError('redis')
    },
    async subscribe(keyPrefix, listener) {
      assertKey(keyPrefix, capabilities)
      await subscribed()
      return hints.subscription(keyPrefix, listener, () => closed)
    },
    async close() {
      if (closed) return
      closed = true
      // Ours even when the client is the caller's: the store duplicated it.
      if (subscriber) await subscriber.then((sub) => sub.disconnect()).catch(() => undefined)
      if (!owned || !client) return
      const c = client
      if (c.status === 'ready') {
        await Promise.race([c.quit().catch(() => undefined), sleep(1000)])
      }
      c.disconnect()
    },
  }
}

