/**
 * The etcd adapter: a {@link KvStore} on etcd v3 through the etcd3 client.
 *
 * - A commit is one Txn: compare every checked key's mod revision (absent = version 0), then
 *   put/delete. etcd evaluates the compares and applies the writes as one revision.
 * - Versions are mod revisions as decimal strings (int64, never converted to a JS number).
 * - Keys live under `<prefix>k/`, so a prefix range returns them in byte order; pages continue
 *   strictly after the last key (`<last>\0`).
 * - Limits: etcd refuses a Txn with more than 128 (`--max-txn-ops`) compares or writes and a
 *   request over 1.5 MiB (`--max-request-bytes`). One slot is used by the idempotency marker, so
 *   a commit may have 127 operations; values are capped at 1 MiB − 4 KiB and a whole commit at
 *   the request limit minus headroom. All checked before anything is sent.
 * - A commit whose reply is lost (the client retried after a timeout or a leader change) never
 *   applies twice and never reports a false conflict: each writing Txn also requires that its
 *   marker key `<prefix>t/<id>` is absent and creates it (attached to a lease, so markers expire);
 *   a retry that fails its compares reads the marker in the failure branch and reports success.
 *   When the call itself fails, a fence Txn settles it: it finds the marker (applied) or creates
 *   it as "aborted" so the lost request can never apply later.
 *
 * - Change hints (`subscribe`): an etcd watch on the prefix (writers do nothing extra); one
 *   watch per subscription.
 *
 * The etcd3 client sits behind {@link EtcdKv} (range, txn, leaseGrant, watch), which a caller may
 * replace. See docs/backends.md.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry } from 'cockatiel'
import type { Etcd3, ICompare, IRangeRequest, IRangeResponse, IRequestOp, ITxnRequest, ITxnResponse } from 'etcd3'
import { ApprError } from '../../src/errors/index.js'
import type { KvCapabilities, KvCommit, KvCommitResult, KvEntry, KvListOptions, KvStore } from '../../src/storage/kv.js'
import { importDriver } from '../../src/storage/driver.js'
import { assertCommit, assertKey, backendError, closedError, compareKeys, copyBytes } from '../../src/storage/util.js'
import { fencedError, message, settleCommit } from '../_shared/settle.js'

// etcd3 is an optional peer dependency: without it, importing this module says to install it.
const { Etcd3: EtcdClient, isRecoverableError } = await importDriver<typeof import('etcd3')>('etcd3', 'etcd')

/** The few etcd calls the adapter makes; implement it to run the adapter on another client. */
export interface EtcdKv {
  range(request: IRangeRequest): Promise<IRangeResponse>
  txn(request: ITxnRequest): Promise<ITxnResponse>
  /** Grants a lease of `ttlSeconds` and returns its id (decimal string). */
  leaseGrant(ttlSeconds: number): Promise<string>
  /**
   * Optional (without it the store declares no `changeHints`): calls `onPut` after each put of a
   * key starting with `prefix`; resolves once the watch is established, with its cancellation.
   */
  watch?(prefix: Buffer, onPut: () => void): Promise<() => Promise<void>>
  close(): void
}

/** Options of {@link etcdStore}. */
export interface EtcdStoreOptions {
  /** Client URLs (`http://127.0.0.1:2379`, …) for a client the store creates and owns. Default `http://127.0.0.1:2379`. */
  readonly hosts?: string | readonly string[]
  /** An etcd3 client to use instead; the store never closes it. */
  readonly client?: Etcd3
  /** A replacement transport (see {@link EtcdKv}); the store never closes it. */
  readonly kv?: EtcdKv
  /** Root of every etcd key of the store. Default `appr/`. */
  readonly prefix?: string
  /** The server's `--max-txn-ops` (default 128). */
  readonly maxTxnOps?: number
  /** The server's `--max-request-bytes` (default 1.5 MiB). */
  readonly maxRequestBytes?: number
  /** Per-call deadline of the client the store creates (default 5000 ms). */
  readonly callTimeoutMs?: number
  /** Lifetime of idempotency markers in seconds (default 600; each lives between half and all of it). */
  readonly markerTtlSeconds?: number
  /** How long to keep trying to settle a commit whose call failed (default 15 000 ms). */
  readonly resolveTimeoutMs?: number
  /** Page size of `list` when the caller gives no limit (default 1000). */
  readonly pageSize?: number
}

/** Wraps an etcd3 client as {@link EtcdKv}. */
export function etcd3Kv(client: Etcd3, owned: boolean): EtcdKv {
  return {
    range: (request) => client.kv.range(request),
    txn: (request) => client.kv.txn(request),
    leaseGrant: async (ttl) => (await client.leaseClient.leaseGrant({ TTL: ttl })).ID,
    watch: async (prefix, onPut) => {
      const watcher = await client.watch().prefix(prefix).create()
      // The client reconnects a watch by itself; its errors would otherwise be thrown as unhandled 'error' events.
      watcher.on('error', () => {})
      watcher.on('put', () => onPut())
      return () => watcher.cancel().catch(() => undefined)
    },
    close: () => {
      if (owned) client.close()
    },
  }
}

/**
 * An etcd3 client that fails fast and recovers fast: per-call deadline, three tries across
 * hosts with a short backoff, and a per-host circuit breaker that half-opens after 0.5 s
 * (etcd3's default waits 5 s, which would keep a restarted single member unusable).
 */
function createClient(hosts: string | readonly string[], callTimeoutMs: number): Etcd3 {
  return new EtcdClient({
    hosts: typeof hosts === 'string' ? hosts : [...hosts],
    dialTimeout: 3000,
    // Pages of large values can exceed gRPC's 4 MiB default; the caller bounds them with `limit`.
    grpcOptions: { 'grpc.max_receive_message_length': -1 },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 3, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) }),
    },
  })
}

const APPLIED = 'applied'
const ABORTED = 'aborted'
/** A valid mod revision: a positive decimal int64. Anything else can never match a stored key. */
const isRevision = (v: string) => /^[1-9][0-9]{0,18}$/.test(v)

/** Read calls a store keeps in flight at once; more concurrent reads are batched into the next call. */
const MAX_READ_CALLS = 2

/** The smallest key greater than every key starting with `prefix` (etcd's prefix range end). */
function rangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1
      return end.subarray(0, i + 1)
    }
  }
  return Buffer.from([0])
}

/**
 * Creates a {@link KvStore} on etcd. Nothing connects until the first call.
 * @example
 * ```ts
 * const registry = new Registry({ store: etcdStore({ hosts: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'] }) })
 * ```
 */
export function etcdStore(options: EtcdStoreOptions = {}): KvStore {
  const prefix = options.prefix ?? 'appr/'
  if (prefix.length === 0 || !prefix.isWellFormed()) throw new ApprError('invalid-parameters', 'the etcd prefix must be a non-empty string', { details: { prefix } })
  const maxTxnOps = options.maxTxnOps ?? 128
  const maxRequestBytes = options.maxRequestBytes ?? 1.5 * 1024 * 1024
  const maxValueBytes = Math.min(1024 * 1024 - 4096, maxRequestBytes - 64 * 1024)
  // What one commit may carry in keys and values: the request limit minus room for the
  // marker, compares and protobuf framing.
  const maxCommitBytes = maxRequestBytes - 32 * 1024
  const markerTtl = Math.max(10, Math.floor(options.markerTtlSeconds ?? 600))
  const resolveTimeoutMs = options.resolveTimeoutMs ?? 15_000
  const pageSize = options.pageSize ?? 1000
  const changeHints = options.kv === undefined || options.kv.watch !== undefined
  const capabilities: KvCapabilities = { persistent: true, multiProcess: true, changeHints, maxOpsPerCommit: maxTxnOps - 1, maxValueBytes }

  const dataPrefix = Buffer.from(`${prefix}k/`)
  const markerPrefix = `${prefix}t/`
  const full = (key: string) => Buffer.concat([dataPrefix, Buffer.from(key, 'utf8')])
  const markerKey = (id: string) => Buffer.from(markerPrefix + id)

  let transport: EtcdKv | undefined = options.kv ?? (options.client ? etcd3Kv(options.client, false) : undefined)
  let closed = false
  const watches = new Set<() => Promise<void>>()
  const kv = (): EtcdKv => {
    if (closed) throw closedError('etcd')
    transport ??= etcd3Kv(createClient(options.hosts ?? 'http://127.0.0.1:2379', options.callTimeoutMs ?? 5000), true)
    return transport
  }
  const call = async <T>(fn: (kv: EtcdKv) => Promise<T>): Promise<T> => {
    const t = kv()
    try {
      return await fn(t)
    } catch (e) {
      if (closed) throw closedError('etcd')
      throw backendError('etcd', e)
    }
  }

  // One lease at a time carries the markers; a new one is granted when less than half of the
  // TTL is left, so every marker outlives any retry by minutes.
  let lease: { id: string; renewAt: number } | undefined
  let granting: Promise<string> | undefined
  const leaseId = async (t: EtcdKv): Promise<string> => {
    if (lease && Date.now() < lease.renewAt) return lease.id
    granting ??= t
      .leaseGrant(markerTtl)
      .then((id) => {
        lease = { id, renewAt: Date.now() + (markerTtl * 1000) / 2 }
        return id
      })
      .finally(() => {
        granting = undefined
      })
    return granting
  }
  const isLeaseGone = (e: unknown) => message(e).includes('lease not found')

  const entry = (kvs: IRangeResponse['kvs'][number]): KvEntry => ({
    key: kvs.key.subarray(dataPrefix.length).toString('utf8'),
    value: copyBytes(kvs.value),
    version: kvs.mod_revision,
  })

  /** Reads at most maxTxnOps keys in one call: one range, or ranges inside one Txn (one revision). */
  const readOnce = async (keys: readonly string[]): Promise<(KvEntry | undefined)[]> => {
    if (keys.length === 1) {
      const res = await call((t) => t.range({ key: full(keys[0]!) }))
      const found = res.kvs[0]
      return [found && entry(found)]
    }
    const res = await call((t) => t.txn({ success: keys.map((key) => ({ request_range: { key: full(key) } })) }))
    return res.responses.map((r) => {
      const found = r.response_range.kvs[0]
      return found && entry(found)
    })
  }

  // Concurrent reads share round trips: while MAX_READ_CALLS read calls are in flight, further
  // reads wait and then go together, as ranges of one Txn (the way group commit batches writes).
  // A gRPC call costs the client far more CPU than a range inside it. A read that waited still
  // starts after it was issued, so it sees every commit acknowledged before it.
  let readsInFlight = 0
  const waiting: { keys: readonly string[]; resolve: (e: (KvEntry | undefined)[]) => void; reject: (e: unknown) => void }[] = []
  const startReads = () => {
    while (readsInFlight < MAX_READ_CALLS && waiting.length > 0) {
      const batch = [waiting.shift()!]
      let count = batch[0]!.keys.length
      while (waiting.length > 0 && count + waiting[0]!.keys.length <= maxTxnOps) {
        count += waiting[0]!.keys.length
        batch.push(waiting.shift()!)
      }
      readsInFlight++
      readOnce(batch.flatMap((w) => w.keys))
        .then(
          (entries) => {
            let at = 0
            for (const w of batch) {
              w.resolve(entries.slice(at, at + w.keys.length))
              at += w.keys.length
            }
          },
          (error: unknown) => {
            for (const w of batch) w.reject(error)
          },
        )
        .finally(() => {
          readsInFlight--
          startReads()
        })
    }
  }

  const getMany = async (keys: readonly string[]): Promise<(KvEntry | undefined)[]> => {
    for (const key of keys) assertKey(key, capabilities)
    kv()
    if (keys.length === 0) return []
    if (keys.length <= maxTxnOps) {
      return new Promise((resolve, reject) => {
        waiting.push({ keys, resolve, reject })
        startReads()
      })
    }
    // More keys than one Txn may range: one round trip per maxTxnOps keys (not one revision).
    const out: (KvEntry | undefined)[] = []
    for (let i = 0; i < keys.length; i += maxTxnOps) out.push(...(await readOnce(keys.slice(i, i + maxTxnOps))))
    return out
  }

  /** Settles a commit whose call failed: applied (marker says so) or fenced off for good. */
  const settle = (t: EtcdKv, marker: Buffer, cause: unknown): Promise<KvCommitResult> =>
    settleCommit(
      {
        adapter: 'etcd',
        server: 'etcd',
        timeoutMs: resolveTimeoutMs,
        isClosed: () => closed,
        fence: async () => {
          const lid = await leaseId(t)
          const res = await t.txn({
            compare: [{ key: marker, target: 'Version', result: 'Equal', version: 0 }],
            success: [{ request_put: { key: marker, value: Buffer.from(ABORTED), lease: lid } }],
            failure: [{ request_range: { key: marker } }],
          })
          const value = res.succeeded ? ABORTED : res.responses[0]?.response_range.kvs[0]?.value.toString()
          return value === APPLIED
        },
        onFailure: (e) => {
          if (isLeaseGone(e)) lease = undefined
        },
      },
      cause,
    )

  return {
    name: 'etcd',
    capabilities,
    async get(key) {
      const [found] = await getMany([key])
      return found
    },
    getMany,
    async list({ prefix: keyPrefix, after, limit }: KvListOptions) {
      if (keyPrefix !== '') assertKey(keyPrefix, capabilities)
      const t = kv()
      const max = Math.floor(limit ?? pageSize)
      if (!(max >= 1)) return []
      const base = full(keyPrefix)
      const end = rangeEnd(base)
      const start = after !== undefined && compareKeys(after, keyPrefix) >= 0 ? Buffer.concat([full(after), Buffer.from([0])]) : base
      if (Buffer.compare(start, end) >= 0) return []
      const res = await call(() => t.range({ key: start, range_end: end, limit: max }))
      return res.kvs.map(entry)
    },
    async commit(commit: KvCommit): Promise<KvCommitResult> {
      const t = kv()
      assertCommit(commit, capabilities)
      const checks = commit.checks ?? []
      const puts = commit.puts ?? []
      const deletes = commit.deletes ?? []
      let size = 0
      for (const { key, value } of puts) size += dataPrefix.length + Buffer.byteLength(key) + value.byteLength
      for (const key of deletes) size += dataPrefix.length + Buffer.byteLength(key)
      for (const { key } of checks) size += dataPrefix.length + Buffer.byteLength(key)
      if (size > maxCommitBytes) {
        throw new ApprError('invalid-parameters', `commit of ${size} bytes exceeds etcd's request limit (${maxCommitBytes} usable)`, {
          details: { limit: maxCommitBytes, bytes: size },
        })
      }
      const writes = puts.length + deletes.length > 0
      const marker = markerKey(randomUUID())
      const compare: ICompare[] = checks.map(({ key, version }) =>
        version === null
          ? { key: full(key), target: 'Version', result: 'Equal', version: 0 }
          : isRevision(version)
            ? { key: full(key), target: 'Mod', result: 'Equal', mod_revision: version }
            : // never true: no key has a negative create revision
              { key: full(key), target: 'Create', result: 'Less', create_revision: 0 },
      )
      const success: IRequestOp[] = [
        ...puts.map(({ key, value }) => ({ request_put: { key: full(key), value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) } })),
        ...deletes.map((key) => ({ request_delete_range: { key: full(key) } })),
      ]
      const failure: IRequestOp[] = checks.map(({ key }) => ({ request_range: { key: full(key), keys_only: true } }))
      if (writes) {
        compare.unshift({ key: marker, target: 'Version', result: 'Equal', version: 0 })
        failure.unshift({ request_range: { key: marker } })
      }
      let res: ITxnResponse
      try {
        for (let tries = 0; ; tries++) {
          try {
            if (writes) success[puts.length + deletes.length] = { request_put: { key: marker, value: Buffer.from(APPLIED), lease: await leaseId(t) } }
            res = await t.txn({ compare, success, failure })
            break
          } catch (e) {
            // A lease that expired (or vanished with a restored cluster) is refused before the
            // Txn is applied: take a new one and send again.
            if (!isLeaseGone(e) || tries > 0) throw e
            lease = undefined
          }
        }
      } catch (e) {
        if (closed) throw closedError('etcd')
        if (!writes) throw backendError('etcd', e)
        return settle(t, marker, e)
      }
      if (res.succeeded) return { ok: true }
      const ranges = res.responses.map((r) => r.response_range.kvs[0])
      if (writes) {
        const mark = ranges.shift()
        // The marker exists: an earlier send of this very Txn was applied (its reply was lost
        // and the client retried), or a settle fenced it off.
        if (mark) {
          if (mark.value.toString() === APPLIED) return { ok: true }
          throw fencedError('etcd')
        }
      }
      const conflicts = checks
        .filter(({ version }, i) => {
          const current = ranges[i]?.mod_revision ?? null
          return version === null ? current !== null : current !== version
        })
        .map(({ key }) => key)
      return { ok: false, conflicts }
    },
    async subscribe(keyPrefix, listener) {
      assertKey(keyPrefix, capabilities)
      const t = kv()
      if (!t.watch) throw new ApprError('invalid-parameters', 'this etcd transport cannot watch (capabilities.changeHints is false)')
      const cancel = await call(() =>
        t.watch!(full(keyPrefix), () => {
          if (!closed) listener()
        }),
      )
      let cancelled = false
      const end = async () => {
        if (cancelled) return
        cancelled = true
        watches.delete(end)
        await cancel()
      }
      watches.add(end)
      return end
    },
    async close() {
      if (closed) return
      closed = true
      await Promise.all([...watches].map((end) => end()))
      if (transport && !options.kv && !options.client) transport.close()
    },
  }
}
