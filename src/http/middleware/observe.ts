/**
 * Observing requests: a request id for every exchange (the client's `X-Request-Id` when it is
 * sane, else a fresh one, echoed in the response), one log line per request once its body has
 * gone out, and the request metrics. The dispatch tells this middleware what only it knows —
 * the route template, the operation, the principal, the error — through an {@link Exchanges}
 * table owned by one handler.
 * @module
 */
import { Buffer } from 'node:buffer'
import { isApprError } from '../../errors/index.js'
import type { CoreHandler } from '../core.js'
import type { HttpMetrics, Operation, RequestLogger } from '../options.js'
import { type Answer, isReply, isStreamBody } from '../reply.js'
import type { HttpRequest } from '../request-view.js'

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
export type Exchanges = WeakMap<HttpRequest, Exchange>

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
function loggedPath(request: HttpRequest): string {
  const query = request.query
  if (query.size === 0) return request.path
  const params = new URLSearchParams(query)
  for (const name of new Set(params.keys())) if (SECRET_PARAM.test(name)) params.set(name, '***')
  return `${request.path}?${params.toString()}`
}

/** The request id of `request`: the client's when it is short and plain, else a fresh UUID. */
export function requestId(request: HttpRequest): string {
  const given = request.headers.get('x-request-id')
  return given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID()
}

type Done = (bytes: number, aborted: boolean, error?: unknown) => void

/** Calls `done` once, however often it is asked to. */
function once(done: Done): Done {
  let called = false
  return (bytes, aborted, error) => {
    if (called) return
    called = true
    done(bytes, aborted, error)
  }
}

/**
 * A stream body that counts its bytes and calls `done` when it ends, fails or is released
 * unread (its iterator's `return`, as the listener does for a client gone). Nothing is read
 * ahead of the consumer, so back-pressure reaches the original body unchanged.
 */
function countedChunks(body: AsyncIterable<Uint8Array>, done: Done): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const inner = body[Symbol.asyncIterator]()
      let bytes = 0
      return {
        async next() {
          let step: IteratorResult<Uint8Array>
          try {
            step = await inner.next()
          } catch (error) {
            done(bytes, true, error)
            throw error
          }
          if (step.done) done(bytes, false)
          else bytes += step.value.byteLength
          return step
        },
        async return(value?: unknown) {
          done(bytes, true)
          return (await inner.return?.(value)) ?? { done: true, value: undefined }
        },
      }
    },
  }
}

/** A WHATWG body stream with the same accounting as {@link countedChunks}. */
function countedStream(body: ReadableStream<Uint8Array>, done: Done): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  let bytes = 0
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>
        try {
          next = await reader.read()
        } catch (error) {
          done(bytes, true, error)
          controller.error(error)
          return
        }
        if (next.done) {
          controller.close()
          done(bytes, false)
          return
        }
        bytes += next.value.byteLength
        controller.enqueue(next.value)
      },
      cancel(reason) {
        done(bytes, true)
        return reader.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}

/** `answer` with `x-request-id` set and `done` called once its body has gone out (or never will). */
function tracked(answer: Answer, id: string, done: Done): Answer {
  if (isReply(answer)) {
    answer.headers['x-request-id'] = id
    const { body } = answer
    if (isStreamBody(body)) return { status: answer.status, headers: answer.headers, body: countedChunks(body, done) }
    // Text or bytes: written in one go by whoever renders the reply.
    done(body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength, false)
    return answer
  }
  // A Response's headers may be immutable (one from fetch): a copy is always writable.
  const headers = new Headers(answer.headers)
  headers.set('x-request-id', id)
  const init = { status: answer.status, statusText: answer.statusText, headers }
  if (answer.body === null) {
    done(0, false)
    return new Response(null, init)
  }
  return new Response(countedStream(answer.body, done), init)
}

/**
 * Wraps `handler` so every request gets a request id (echoed as `X-Request-Id`) and, once its
 * response body is done, one log line (5xx at `error` with the error's code, the rest at `info`)
 * and its metrics. Neither headers nor bodies are logged; secret-looking query values are masked.
 */
export function withObservation<P>(handler: CoreHandler, options: ObserveOptions<P>): CoreHandler {
  const { exchanges, logger, metrics } = options
  const nameOf = options.principalName ?? defaultPrincipalName
  return async (request) => {
    const started = performance.now()
    const id = requestId(request)
    const exchange: Exchange = {}
    exchanges.set(request, exchange)
    const answer = await handler(request)
    const status = answer.status
    return tracked(answer, id, once((bytes, aborted, streamError) => {
      exchanges.delete(request)
      const seconds = (performance.now() - started) / 1000
      const method = METHODS.has(request.method) ? request.method : 'OTHER'
      const route = exchange.route ?? '(none)'
      metrics?.request({ method, route, status, seconds, operation: exchange.operation, error: exchange.error })
      if (logger === undefined) return
      const error = streamError ?? exchange.error
      const principal = exchange.principal === undefined ? undefined : nameOf(exchange.principal as P)
      const line: Record<string, unknown> = {
        requestId: id,
        method: request.method,
        path: loggedPath(request),
        route,
        status,
        bytes,
        ms: Math.round(seconds * 100_000) / 100,
        ...(aborted ? { aborted: true } : {}),
        ...(exchange.operation !== undefined ? { operation: exchange.operation } : {}),
        ...(principal !== undefined ? { principal } : {}),
        ...(error !== undefined ? { code: isApprError(error) ? error.code : 'internal-error' } : {}),
        ...(request.headers.has('user-agent') ? { ua: request.headers.get('user-agent') } : {}),
      }
      if (status >= 500 || streamError !== undefined) {
        // An unexpected error's message and stack go to the log (never to the client).
        if (error !== undefined && !isApprError(error)) line.err = error
        logger.error(line, 'request')
      } else logger.info(line, 'request')
    }))
  }
}
