/**
 * Delivering the change feed to webhook endpoints: each configured endpoint gets every matching
 * event as a signed JSON POST, in feed order, at least once, with retries and exponential
 * back-off. Each endpoint's cursor lives in the registry's store, so delivery resumes after a
 * restart; a lease in the store lets exactly one process deliver when several share a store.
 * Delivery runs beside the caller's work and never inside it: a failing endpoint delays only its
 * own later events. See docs/events.md.
 * @module
 */

import { z } from 'zod'
import { ApprError, isApprError } from '../errors/index.js'
import { namespaceMatcher } from '../model/namespace-glob.js'
import { type OutboxWaker, outboxWaker, sleep } from '../registry/events/feed.js'
import type { RegistryEvent, RegistryEventType } from '../registry/events/types.js'
import type { Registry } from '../registry/registry.js'
import type { KvStore } from '../storage/kv.js'
import { deadline } from '../timing/deadline.js'
import { type DeadLetter, deadLetterKey, encode, parse } from './dead-letters.js'
import { SIGNATURE_HEADER, signWebhook } from './sign.js'

/** One webhook endpoint. */
export interface WebhookEndpoint {
  /** Names the endpoint's delivery cursor in the store: keep it stable (1-64 of `[A-Za-z0-9._-]`). */
  readonly id: string
  readonly url: string
  /** Key of the HMAC-SHA256 signature (`X-Appr-Signature-256`). */
  readonly secret: string
  /** Only these event types (default: all). */
  readonly types?: readonly RegistryEventType[]
  /** Only packages whose namespace matches one of these globs (`*` = any run of characters; default: all). */
  readonly namespaces?: readonly string[]
  /** Failed attempts after which an event is given up as a dead letter (default: `retry.maxAttempts` of the options). */
  readonly maxAttempts?: number
}

/** What happened to one delivery attempt (for logs). */
export interface DeliveryReport {
  readonly endpoint: string
  readonly delivery: string
  readonly seq: number
  readonly attempt: number
  /** HTTP status, when the endpoint answered. */
  readonly status?: number
  readonly ok: boolean
  readonly error?: string
  /** This failed attempt was the last: the event is now a dead letter. */
  readonly gaveUp?: true
}

/** Options of {@link startWebhooks}. */
export interface WebhookOptions {
  readonly endpoints: readonly WebhookEndpoint[]
  /** Abandon an attempt after this long (default 10 s). */
  readonly timeoutMs?: number
  /**
   * Back-off after a failed attempt: `initialMs` (default 1 s) doubling up to `maxMs` (default
   * 5 min), with jitter. After `maxAttempts` failed attempts (default 50, about 3.6 hours with the
   * default back-off) the event is given up: it becomes a dead letter ({@link listDeadLetters})
   * and the endpoint goes on with its next event. `Infinity` retries for ever.
   */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number; readonly maxAttempts?: number }
  /** How often an idle deliverer looks for new events (default 500 ms). */
  readonly pollMs?: number
  /** How long the delivering process's lease lasts without renewal (default 15 s): the longest pause before another process takes over. */
  readonly leaseMs?: number
  /** Called after every attempt, and with the error when the feed cannot be read. */
  readonly onReport?: (report: DeliveryReport) => void
  readonly onError?: (error: unknown) => void
  /** The fetch to deliver with (default the global one). */
  readonly fetch?: typeof fetch
}

/** A running deliverer. */
export interface WebhookDeliverer {
  /** Stops delivering (an attempt in flight is abandoned: it is delivered again later) and gives up the lease. */
  stop(): Promise<void>
}

const LEASE_KEY = 'whk/lease'
const cursorKey = (id: string) => `whk/cursor/${id}`
const ID = /^[A-Za-z0-9._-]{1,64}$/
const LeaseSchema = z.object({ owner: z.string(), until: z.number() })
const CursorSchema = z.object({ cursor: z.string() })

function validate(endpoints: readonly WebhookEndpoint[]): void {
  const ids = new Set<string>()
  for (const e of endpoints) {
    if (!ID.test(e.id) || ids.has(e.id)) throw new ApprError('invalid-parameters', 'every webhook needs a distinct id of 1-64 [A-Za-z0-9._-]', { details: { id: String(e.id) } })
    ids.add(e.id)
    let url: URL
    try {
      url = new URL(e.url)
    } catch {
      throw new ApprError('invalid-parameters', 'a webhook url is not a URL', { details: { id: e.id } })
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ApprError('invalid-parameters', 'a webhook url must be http or https', { details: { id: e.id } })
    if (typeof e.secret !== 'string' || e.secret.length === 0) throw new ApprError('invalid-parameters', 'a webhook needs a secret', { details: { id: e.id } })
    if (e.maxAttempts !== undefined && !(e.maxAttempts === Number.POSITIVE_INFINITY || (Number.isSafeInteger(e.maxAttempts) && e.maxAttempts >= 1))) {
      throw new ApprError('invalid-parameters', 'a webhook maxAttempts is a positive integer', { details: { id: e.id } })
    }
  }
}

/**
 * Starts delivering `registry`'s change feed (the registry must record events: `events: true`)
 * to `options.endpoints`, from the registry's store. A new endpoint starts from the feed's end;
 * a known one resumes after its stored cursor. Run it in as many processes as you like: one
 * holds the lease and delivers, the others wait to take over.
 *
 * Each delivery: `POST <url>`, body = the event as JSON, headers `Content-Type:
 * application/json`, `X-Appr-Event: <type>`, `X-Appr-Delivery: <endpoint id>:<seq>` (the same
 * on every retry: deduplicate by it), `X-Appr-Signature-256: sha256=<HMAC-SHA256(secret, body)>`.
 * A 2xx answer delivers it; anything else is retried with back-off before the endpoint's next
 * event (so an endpoint sees its events in feed order), up to `retry.maxAttempts`; then the
 * event is recorded as a dead letter ({@link listDeadLetters}) and the endpoint moves on.
 * @throws invalid-parameters for a bad endpoint
 */
export function startWebhooks(registry: Registry, options: WebhookOptions): WebhookDeliverer {
  validate(options.endpoints)
  const store: KvStore = registry.options.store
  const owner = crypto.randomUUID()
  const leaseMs = Math.max(100, options.leaseMs ?? 15_000)
  const pollMs = Math.max(1, options.pollMs ?? 500)
  const timeoutMs = Math.max(1, options.timeoutMs ?? 10_000)
  const initialMs = Math.max(1, options.retry?.initialMs ?? 1000)
  const maxMs = Math.max(initialMs, options.retry?.maxMs ?? 5 * 60_000)
  const maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 50)
  const send = options.fetch ?? fetch
  const stopping = new AbortController()
  const signal = stopping.signal
  const reportError = (error: unknown) => options.onError?.(error)

  let leaseVersion: string | undefined
  let leaseUntil = 0
  const leading = () => leaseVersion !== undefined && Date.now() < leaseUntil

  /** Takes or renews the lease when it is free, expired or ours. */
  async function holdLease(): Promise<void> {
    const entry = await store.get(LEASE_KEY)
    const lease = entry && parse(LeaseSchema, entry)
    if (entry && lease && lease.owner !== owner && lease.until > Date.now()) {
      leaseVersion = undefined
      return
    }
    const until = Date.now() + leaseMs
    const result = await store.commit({ checks: [{ key: LEASE_KEY, version: entry?.version ?? null }], puts: [{ key: LEASE_KEY, value: encode({ owner, until }) }] })
    if (!result.ok) {
      leaseVersion = undefined
      return
    }
    leaseUntil = until
    leaseVersion = (await store.get(LEASE_KEY))?.version
  }

  async function leaseLoop(): Promise<void> {
    while (!signal.aborted) {
      await holdLease().catch((error: unknown) => {
        leaseVersion = undefined
        reportError(error)
      })
      await sleep(leaseMs / 3, signal)
    }
  }

  /**
   * Posts `event` until a 2xx answer (true), `maxAttempts` failures (the last one's outcome, to
   * record as a dead letter), or stop or the lease lost (false).
   */
  async function deliver(endpoint: WebhookEndpoint, event: RegistryEvent): Promise<boolean | Pick<DeadLetter, 'attempts' | 'status' | 'error'>> {
    const body = JSON.stringify(event)
    const delivery = `${endpoint.id}:${event.seq}`
    const giveUpAt = Math.max(1, endpoint.maxAttempts ?? maxAttempts)
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'appr-core-webhooks',
      'x-appr-event': event.type,
      'x-appr-delivery': delivery,
      [SIGNATURE_HEADER]: signWebhook(endpoint.secret, body),
    }
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted || !leading()) return false
      let status: number | undefined
      let error: string | undefined
      const bound = deadline(signal, timeoutMs)
      try {
        const response = await send(endpoint.url, { method: 'POST', headers, body, signal: bound.signal, redirect: 'manual' })
        status = response.status
        await response.body?.cancel().catch(() => undefined)
      } catch (e) {
        error = e instanceof Error ? e.message : String(e)
      } finally {
        bound.clear()
      }
      const ok = status !== undefined && status >= 200 && status < 300
      const outcome = { ...(status !== undefined && { status }), ...(error !== undefined && { error }) }
      options.onReport?.({ endpoint: endpoint.id, delivery, seq: event.seq, attempt, ok, ...outcome, ...(!ok && attempt >= giveUpAt && { gaveUp: true as const }) })
      if (ok) return true
      if (attempt >= giveUpAt) return { attempts: attempt, ...outcome }
      const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30))
      await sleep(ceiling / 2 + (Math.random() * ceiling) / 2, signal)
    }
  }

  async function endpointLoop(endpoint: WebhookEndpoint): Promise<void> {
    const wanted = (event: RegistryEvent) =>
      (endpoint.types === undefined || endpoint.types.includes(event.type)) && namespaceMatches(event.package.slice(0, event.package.indexOf('/')))
    const namespaceMatches = namespaceMatcher(endpoint.namespaces)
    const key = cursorKey(endpoint.id)
    // An idle endpoint wakes on the store's change hints (where it has them) instead of its next poll.
    const waker = await outboxWaker(store)
    try {
      await deliverLoop(endpoint, key, wanted, waker)
    } finally {
      await waker.end()
    }
  }

  async function deliverLoop(endpoint: WebhookEndpoint, key: string, wanted: (event: RegistryEvent) => boolean, waker: OutboxWaker): Promise<void> {
    while (!signal.aborted) {
      if (!leading()) {
        // The lease changes hands on the lease loop's beat, whatever the poll interval.
        await sleep(Math.min(pollMs, leaseMs / 3), signal)
        continue
      }
      try {
        let entry = await store.get(key)
        let cursor = entry && parse(CursorSchema, entry)?.cursor
        if (cursor === undefined) {
          // A new endpoint hears what happens from now on.
          const start = await registry.events.latest()
          const created = await store.commit({ checks: [{ key, version: entry?.version ?? null }], puts: [{ key, value: encode({ cursor: start }) }] })
          if (!created.ok) continue
          entry = await store.get(key)
          cursor = start
        }
        let page: Awaited<ReturnType<Registry['events']['read']>>
        try {
          page = await registry.events.read({ after: cursor, limit: 100 })
        } catch (error) {
          if (!isApprError(error, 'cursor-expired')) throw error
          // Down longer than the feed keeps events: go on from the oldest kept, and say so.
          reportError(error)
          page = { events: [], cursor: String(Number(error.details.oldest) - 1) }
        }
        let version = entry?.version ?? null
        // The cursor moves only if nobody else wrote it since we read it: a deliverer that lost its lease stops here.
        const save = async (to: string, letter?: DeadLetter): Promise<boolean> => {
          const puts = [{ key, value: encode({ cursor: to }) }, ...(letter ? [{ key: deadLetterKey(letter.endpoint, letter.seq), value: encode(letter) }] : [])]
          const saved = await store.commit({ checks: [{ key, version }], puts })
          if (saved.ok) version = (await store.get(key))?.version ?? null
          return saved.ok
        }
        if (page.events.length === 0) {
          if (page.cursor !== cursor) await save(page.cursor)
          await waker.wait(pollMs, signal)
          continue
        }
        // Events this endpoint does not want are passed over; the cursor is saved before the next delivery and at the page's end.
        let unsaved: string | undefined
        for (const event of page.events) {
          if (wanted(event)) {
            const outcome = await deliver(endpoint, event)
            if (outcome === false) {
              unsaved = undefined
              break
            }
            // Given up: the dead letter and the cursor past it in one commit, so it is recorded exactly when the endpoint moves on.
            const letter: DeadLetter | undefined =
              outcome === true ? undefined : { endpoint: endpoint.id, delivery: `${endpoint.id}:${event.seq}`, seq: event.seq, url: endpoint.url, failedAt: new Date().toISOString(), ...outcome, event }
            if (!(await save(event.cursor, letter))) {
              unsaved = undefined
              break
            }
            unsaved = undefined
          } else {
            unsaved = event.cursor
          }
        }
        if (unsaved !== undefined) await save(unsaved)
      } catch (error) {
        reportError(error)
        await sleep(pollMs, signal)
      }
    }
  }

  const loops = [leaseLoop(), ...options.endpoints.map(endpointLoop)]
  return {
    async stop() {
      stopping.abort()
      await Promise.allSettled(loops)
      // Hand over at once instead of after the lease runs out.
      if (leaseVersion !== undefined) {
        await store.commit({ checks: [{ key: LEASE_KEY, version: leaseVersion }], deletes: [LEASE_KEY] }).catch(() => undefined)
      }
    },
  }
}
