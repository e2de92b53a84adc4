/**
 * Dead letters: the events a webhook endpoint never acknowledged within `retry.maxAttempts`.
 * Each is stored beside the delivery cursors (`whk/dead/<endpoint id>/<seq: 14 hex>`), written
 * in the same commit that moves the endpoint's cursor past the event, and kept until dropped.
 * See docs/events.md.
 * @module
 */
import { z } from 'zod'
import { ApprError } from '../errors/index.js'
import type { RegistryEvent } from '../registry/events/types.js'
import type { KvEntry, KvStore } from '../storage/kv.js'

/** An event given up on, with the last attempt's outcome. */
export interface DeadLetter {
  readonly endpoint: string
  /** `<endpoint id>:<seq>`, the `X-Appr-Delivery` of every attempt. */
  readonly delivery: string
  readonly seq: number
  /** The endpoint's URL when it gave up. */
  readonly url: string
  readonly attempts: number
  /** The last attempt's HTTP status, when the endpoint answered. */
  readonly status?: number
  /** The last attempt's error (a timeout, a refused connection), when it did not. */
  readonly error?: string
  /** When the deliverer gave up (RFC 3339). */
  readonly failedAt: string
  /** The event, as it would have been posted. */
  readonly event: RegistryEvent
}

/** Options of {@link listDeadLetters}. */
export interface DeadLetterListOptions {
  /** Only this endpoint's dead letters. */
  readonly endpoint?: string
  /** Continue after this delivery id (a previous page's last). */
  readonly after?: string
  /** At most this many (default 100, at most 1,000). */
  readonly limit?: number
}

const PREFIX = 'whk/dead/'
const DELIVERY = /^([A-Za-z0-9._-]{1,64}):([1-9][0-9]{0,14})$/

export const deadLetterKey = (endpoint: string, seq: number) => `${PREFIX}${endpoint}/${seq.toString(16).padStart(14, '0')}`

const encoder = new TextEncoder()
const decoder = new TextDecoder()
export const encode = (value: unknown) => encoder.encode(JSON.stringify(value))
export function parse<T>(schema: z.ZodType<T>, entry: KvEntry): T | undefined {
  try {
    const result = schema.safeParse(JSON.parse(decoder.decode(entry.value)))
    return result.success ? result.data : undefined
  } catch {
    return undefined
  }
}

const DeadLetterSchema = z
  .object({ endpoint: z.string(), delivery: z.string(), seq: z.number(), url: z.string(), attempts: z.number(), failedAt: z.string(), event: z.object({ type: z.string() }).passthrough() })
  .passthrough()

function keyOf(delivery: string): string {
  const m = typeof delivery === 'string' ? DELIVERY.exec(delivery) : null
  if (!m) throw new ApprError('invalid-parameters', 'not a webhook delivery id (<endpoint id>:<seq>)', { details: { delivery: String(delivery).slice(0, 80) } })
  return deadLetterKey(m[1]!, Number(m[2]))
}

/**
 * The dead letters in `store` (the registry's: `registry.options.store`), by endpoint, then by
 * feed order.
 * @throws invalid-parameters (a bad `endpoint` or `after`)
 */
export async function listDeadLetters(store: KvStore, options: DeadLetterListOptions = {}): Promise<DeadLetter[]> {
  if (options.endpoint !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(options.endpoint)) {
    throw new ApprError('invalid-parameters', 'not a webhook id', { details: { endpoint: String(options.endpoint).slice(0, 80) } })
  }
  const limit = Math.max(1, Math.min(1000, Math.floor(options.limit ?? 100)))
  const prefix = options.endpoint === undefined ? PREFIX : `${PREFIX}${options.endpoint}/`
  const entries = await store.list({ prefix, ...(options.after !== undefined && { after: keyOf(options.after) }), limit })
  return entries.flatMap((e) => {
    const letter = parse(DeadLetterSchema, e)
    return letter ? [letter as unknown as DeadLetter] : []
  })
}

/** Deletes the dead letter of `delivery` (`<endpoint id>:<seq>`); false when there is none. @throws invalid-parameters */
export async function dropDeadLetter(store: KvStore, delivery: string): Promise<boolean> {
  const key = keyOf(delivery)
  const entry = await store.get(key)
  if (!entry) return false
  return (await store.commit({ checks: [{ key, version: entry.version }], deletes: [key] })).ok
}
