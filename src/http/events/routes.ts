/**
 * The change feed over HTTP (`GET /api/v1/events`), for front ends and mirrors: a page of
 * events after a cursor, long-polled with `wait`. Served only with `HandlerOptions.events`.
 * @module
 */
import { ApprError } from '../../errors/index.js'
import type { EventPage, EventReadOptions } from '../../registry/events/types.js'
import { deadline } from '../../timing/deadline.js'
import type { HandlerOptions, RegistryApi } from '../options.js'
import { jsonReply } from '../reply.js'
import type { Route } from '../router.js'

/** Longest long-poll a request may ask for, in seconds. */
const MAX_WAIT_SECONDS = 30

/** Options of the change feed over HTTP (`HandlerOptions.events`). */
export interface EventRouteOptions {
  /**
   * How often a held long poll (`wait`) reads the feed while nothing is new, in ms (default 250).
   * On a store with change hints (`capabilities.changeHints`: memory, level, Redis, etcd) a commit
   * wakes it at once, so polling only covers hints lost while a connection was down and a longer
   * interval costs no latency; on a store without hints it is the latency.
   */
  readonly pollMs?: number
}

function integer(value: string | null, name: string, max: number): number | undefined {
  if (value === null) return undefined
  if (!/^\d{1,6}$/.test(value) || Number(value) > max) {
    throw new ApprError('invalid-parameters', `${name} must be an integer from 0 to ${max}`, { details: { [name]: value.slice(0, 40) } })
  }
  return Number(value)
}

/**
 * `GET /api/v1/events?after=<cursor>&limit=<n ≤ 1000>&wait=<seconds ≤ 30>` → `{ events, cursor }`.
 * With `wait`, an empty page is held until an event arrives, the time is up or the client leaves.
 * Operation `events` for the authorize hook; with `authenticate` and no `authorize`, it needs a
 * principal (the feed shows every package's changes).
 */
export function eventRoutes<P>(registry: RegistryApi, options: HandlerOptions<P>): Route[] {
  const events = registry.events
  if (!options.events || events === undefined) return [{ path: '/api/v1/events', methods: {} }]
  const pollMs = (options.events === true ? undefined : options.events.pollMs) ?? 250
  // Checked once here: a NaN or negative interval would make every held long poll spin.
  if (!(Number.isFinite(pollMs) && pollMs > 0)) throw new ApprError('invalid-parameters', 'events.pollMs must be a number of ms above 0', { details: { pollMs: String(pollMs) } })
  return [
    {
      path: '/api/v1/events',
      methods: {
        GET: {
          operation: 'events',
          run: async ({ req: request, query: q }) => {
            const after = q.get('after')
            const limit = integer(q.get('limit'), 'limit', 1000)
            const wait = integer(q.get('wait'), 'wait', MAX_WAIT_SECONDS) ?? 0
            const read: EventReadOptions = { ...(after !== null && { after }), ...(limit !== undefined && { limit: Math.max(1, limit) }) }
            let page: EventPage = await events.read(read)
            if (page.events.length === 0 && wait > 0 && !request.signal.aborted) {
              // Held by a watch: it wakes on the store's change hints where there are any, and polls.
              const until = deadline(request.signal, wait * 1000)
              try {
                for await (const _ of events.watch({ after: page.cursor, signal: until.signal, pollMs })) break
              } finally {
                until.clear()
              }
              page = await events.read(read)
            }
            return jsonReply(page, 200, { 'cache-control': 'no-store' })
          },
        },
      },
    },
  ]
}
