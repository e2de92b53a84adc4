/**
 * Observing requests: a request id for every exchange (the client's `X-Request-Id` when it is
 * sane, else a fresh one, echoed in the response), one log line per request once its body has
 * gone out, and the request metrics. The dispatch tells this middleware what only it knows —
 * the route template, the operation, the principal, the error — through an {@link Exchanges}
 * table owned by one handler.
 * @module
 */
import { isApprError } from '../../errors/index.js'
import type { HttpMetrics, Operation, RequestLogger } from '../options.js'

/** What the dispatch learned about one request. */
export interface Exchange {
  /** The route template (`/api/v1/packages/:ns/:name`), never the raw path: bounded for metrics. */
  route?: string
  operation?: Operation
  principal?: unknown
  /** What the request failed with, when it did (an ApprError or anything else). */
  error?: unknown
}

/** Exchanges in flight, by request; one table per handler, so nothing is shared between handlers. */
export type Exchanges = WeakMap<Request, Exchange>

/** Options of {@link withObservation}. */
export interface ObserveOptions<P> {
  readonly exchanges: Exchanges
  readonly logger?: RequestLogger | undefined
  readonly metrics?: HttpMetrics | undefined
  readonly principalName?: ((principal: P) => string | undefined) | undefined
}

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
/** Query parameters whose values never reach a log line (OCI token flows put secrets there). */
const SECRET_PARAM = /token|password|secret|key|sig|credential|auth/i

/** The default name of a principal in logs: a string as is, or an object's string `name` or `id`. */
export function defaultPrincipalName(principal: unknown): string | undefined {
  if (typeof principal === 'string') return principal
  if (typeof principal === 'object' && principal !== null) {
    const { name, id } = principal as { name?: unknown; id?: unknown }
    if (typeof name === 'string') return name
    if (typeof id === 'string') return id
  }
  return undefined
}

/** The path and query for a log line, with secret-looking query values masked. */
function loggedPath(url: URL): string {
  if (url.search === '') return url.pathname
  const params = new URLSearchParams(url.search)
  for (const name of new Set(params.keys())) if (SECRET_PARAM.test(name)) params.set(name, '***')
  return `${url.pathname}?${params.toString()}`
}

/** The request id of `request`: the client's when it is short and plain, else a fresh UUID. */
export function requestId(request: Request): string {
  const given = request.headers.get('x-request-id')
  return given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID()
}

/**
 * `response` with `x-request-id` set and its body passed through a counter that calls `done`
 * once, when the body ended, failed or was cancelled. No bytes are read ahead of the consumer
 * (high-water mark 0), so back-pressure reaches the original body unchanged.
 */
function tracked(response: Response, id: string, done: (bytes: number, aborted: boolean, error?: unknown) => void): Response {
  const headers = new Headers(response.headers)
  headers.set('x-request-id', id)
  const init = { status: response.status, statusText: response.statusText, headers }
  if (response.body === null) {
    done(0, false)
    return new Response(null, init)
  }
  const reader = response.body.getReader()
  let bytes = 0
  let finished = false
  const finish = (aborted: boolean, error?: unknown): void => {
    if (finished) return
    finished = true
    done(bytes, aborted, error)
  }
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>
        try {
          next = await reader.read()
        } catch (error) {
          finish(true, error)
          controller.error(error)
          return
        }
        if (next.done) {
          controller.close()
          finish(false)
          return
        }
        bytes += next.value.byteLength
        controller.enqueue(next.value)
      },
      cancel(reason) {
        finish(true)
        return reader.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
  return new Response(body, init)
}

/**
 * Wraps `handler` so every request gets a request id (echoed as `X-Request-Id`) and, once its
 * response body is done, one log line (5xx at `error` with the error's code, the rest at `info`)
 * and its metrics. Neither headers nor bodies are logged; secret-looking query values are masked.
 */
export function withObservation<P>(handler: (request: Request) => Promise<Response>, options: ObserveOptions<P>): (request: Request) => Promise<Response> {
  const { exchanges, logger, metrics } = options
  const nameOf = options.principalName ?? defaultPrincipalName
  return async (request) => {
    const started = performance.now()
    const id = requestId(request)
    const exchange: Exchange = {}
    exchanges.set(request, exchange)
    const response = await handler(request)
    return tracked(response, id, (bytes, aborted, streamError) => {
      exchanges.delete(request)
      const seconds = (performance.now() - started) / 1000
      const method = METHODS.has(request.method) ? request.method : 'OTHER'
      const route = exchange.route ?? '(none)'
      metrics?.request({ method, route, status: response.status, seconds, operation: exchange.operation, error: exchange.error })
      if (logger === undefined) return
      const error = streamError ?? exchange.error
      const principal = exchange.principal === undefined ? undefined : nameOf(exchange.principal as P)
      const line: Record<string, unknown> = {
        requestId: id,
        method: request.method,
        path: loggedPath(new URL(request.url)),
        route,
        status: response.status,
        bytes,
        ms: Math.round(seconds * 100_000) / 100,
        ...(aborted ? { aborted: true } : {}),
        ...(exchange.operation !== undefined ? { operation: exchange.operation } : {}),
        ...(principal !== undefined ? { principal } : {}),
        ...(error !== undefined ? { code: isApprError(error) ? error.code : 'internal-error' } : {}),
        ...(request.headers.has('user-agent') ? { ua: request.headers.get('user-agent') } : {}),
      }
      if (response.status >= 500 || streamError !== undefined) {
        // An unexpected error's message and stack go to the log (never to the client).
        if (error !== undefined && !isApprError(error)) line.err = error
        logger.error(line, 'request')
      } else logger.info(line, 'request')
    })
  }
}
