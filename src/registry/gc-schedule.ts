/**
 * gc in the background: every interval, the process that takes the store's gc lease runs gc, so
 * several processes sharing one store (Redis, etcd) run it one at a time and, together, about
 * once per interval. The lease is one key (`gc/lease`: owner, expiry, when the last gc ended)
 * changed only through checked commits, renewed while gc runs; a process that dies holding it
 * frees it when it expires.
 * @module
 */
import { z } from 'zod'
import type { KvEntry, KvStore } from '../storage/kv.js'
import { sleep } from './events/feed.js'
import type { Registry } from './registry.js'
import type { GcResult } from './types.js'

const LEASE_KEY = 'gc/lease'
const LeaseSchema = z.object({ owner: z.string(), until: z.number(), last: z.number() })
type Lease = z.infer<typeof LeaseSchema>

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function readLease(entry: KvEntry | undefined): Lease | undefined {
  if (entry === undefined) return undefined
  try {
    const parsed = LeaseSchema.safeParse(JSON.parse(decoder.decode(entry.value)))
    return parsed.success ? parsed.data : undefined
  } catch {
    // An unreadable lease is treated as free: the checked commit still makes one process win it.
    return undefined
  }
}

/** What one {@link gcIfDue} call did. */
export type GcAttempt =
  | { readonly ran: true; readonly result: GcResult }
  | { readonly ran: false; readonly reason: 'busy' | 'not-due' }

/** Options of {@link gcIfDue} and {@link scheduleGc}. */
export interface GcLeaseOptions {
  /** This process's name in the lease (default: a random id per call of {@link scheduleGc}). */
  readonly owner?: string
  /** Least time between the end of one gc and the start of the next, across processes. */
  readonly intervalMs: number
  /** How long the lease lasts without renewal (default 60 s); renewed every third of it while gc runs. */
  readonly leaseMs?: number
  /** What runs under the lease (default `registry.gc()`). */
  readonly gc?: () => Promise<GcResult>
}

/**
 * Runs gc once if it is due (the last gc by any process ended at least `intervalMs` ago) and no
 * other process holds the lease; otherwise answers why not.
 */
export async function gcIfDue(registry: Registry, options: GcLeaseOptions): Promise<GcAttempt> {
  const store: KvStore = registry.options.store
  const owner = options.owner ?? crypto.randomUUID()
  const leaseMs = Math.max(1000, options.leaseMs ?? 60_000)
  const entry = await store.get(LEASE_KEY)
  const lease = readLease(entry)
  const now = Date.now()
  if (lease && lease.owner !== '' && lease.until > now) return { ran: false, reason: 'busy' }
  if (lease && now - lease.last < options.intervalMs) return { ran: false, reason: 'not-due' }
  const last = lease?.last ?? 0
  const put = (value: Lease) => ({ key: LEASE_KEY, value: encoder.encode(JSON.stringify(value)) })
  const taken = await store.commit({ checks: [{ key: LEASE_KEY, version: entry?.version ?? null }], puts: [put({ owner, until: now + leaseMs, last })] })
  if (!taken.ok) return { ran: false, reason: 'busy' }

  // Renew while gc runs, so a long gc is not taken over; renewing stops once another owner shows up.
  const stop = new AbortController()
  const renewing = (async () => {
    while (!stop.signal.aborted) {
      await sleep(leaseMs / 3, stop.signal)
      if (stop.signal.aborted) return
      const current = await store.get(LEASE_KEY).catch(() => undefined)
      if (readLease(current)?.owner !== owner) return
      await store.commit({ checks: [{ key: LEASE_KEY, version: current!.version }], puts: [put({ owner, until: Date.now() + leaseMs, last })] }).catch(() => undefined)
    }
  })()
  try {
    const result = await (options.gc ?? (() => registry.gc()))()
    return { ran: true, result }
  } finally {
    stop.abort()
    await renewing
    // Give the lease back with the time this gc ended, unless it expired and another owner took it.
    const current = await store.get(LEASE_KEY).catch(() => undefined)
    if (readLease(current)?.owner === owner) {
      await store.commit({ checks: [{ key: LEASE_KEY, version: current!.version }], puts: [put({ owner: '', until: 0, last: Date.now() })] }).catch(() => undefined)
    }
  }
}

/** A running gc schedule. */
export interface GcSchedule {
  /** Stops scheduling; a gc in progress finishes first. */
  stop(): Promise<void>
}

/**
 * Tries {@link gcIfDue} every `intervalMs` (at most every 5 s more often than that, so a process
 * notices soon when another one's gc made the next due) until stopped. `onAttempt` sees every
 * attempt, `onError` every failure (a store down: the schedule keeps going).
 */
export function scheduleGc(registry: Registry, options: GcLeaseOptions & { readonly onAttempt?: (attempt: GcAttempt) => void; readonly onError?: (error: unknown) => void }): GcSchedule {
  const owner = options.owner ?? crypto.randomUUID()
  const stopping = new AbortController()
  const pause = Math.max(10, Math.min(options.intervalMs, 5000))
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        options.onAttempt?.(await gcIfDue(registry, { ...options, owner }))
      } catch (error) {
        options.onError?.(error)
      }
      await sleep(pause, stopping.signal)
    }
  })()
  return {
    async stop() {
      stopping.abort()
      await loop
    },
  }
}
