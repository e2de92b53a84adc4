/**
 * appr-core/http/node: runs a WHATWG `(Request) => Promise<Response>` handler on node:http,
 * streaming both bodies with back-pressure (a pull never holds the whole blob), answering HEAD
 * without a body, and cancelling the response stream when the client goes away.
 * @module
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ApprError } from '../errors/index.js'
import { errorResponse } from './middleware/errors.js'
import { toByteStream } from './respond.js'

/** A fetch-style handler, as {@link createHandler} returns. */
export type FetchHandler = (request: Request) => Promise<Response>

/** What {@link NodeListenerOptions.onResponse} learns about each finished exchange. */
export interface ResponseInfo {
  readonly method: string
  /** Path and query as the client sent them. */
  readonly url: string
  readonly status: number
  /** Body bytes written (0 for HEAD). */
  readonly bytes: number
  readonly durationMs: number
  /** True when the client went away before the response was complete. */
  readonly aborted: boolean
  readonly remoteAddress: string | undefined
  readonly userAgent: string | undefined
}

/** Options of {@link createNodeListener}. */
export interface NodeListenerOptions {
  /**
   * When the handler answers before reading the whole request body (an early 401, 409 or 422
   * on a push), up to this many more bytes are read and discarded before the answer is sent,
   * so a client still uploading receives it instead of a reset connection; past it (or after
   * 5 s) the connection is closed after the answer. Default 16 MiB. A 413 never drains.
   */
  readonly drainLimitBytes?: number
  /** Called once per request after the response ended or the connection closed (for logging). */
  readonly onResponse?: (info: ResponseInfo) => void
  /** Called when the handler itself throws or a response body fails mid-stream. */
  readonly onError?: (error: unknown) => void
}

const HOST = /^[A-Za-z0-9.\-_~[\]:]+$/

/** The path and query of a request target (origin form `/p?q`, or absolute form `http://h/p?q` as proxies send). */
function requestPath(target: string): string {
  if (target.startsWith('/')) return target
  if (/^https?:\/\//i.test(target)) {
    try {
      const url = new URL(target)
      return `${url.pathname}${url.search}`
    } catch {
      // fall through: treated as a relative path, which routes nowhere
    }
  }
  return `/${target}`
}

/** A request and what is needed to finish reading its body after the handler is done. */
interface IncomingRequest {
  readonly request: Request
  /** Reads and discards what is left of the body; true when it ended within `limit` bytes and `ms`. */
  drain(limit: number, ms: number): Promise<boolean>
}

function toRequest(req: IncomingMessage, signal: AbortSignal): IncomingRequest {
  const host = req.headers.host !== undefined && HOST.test(req.headers.host) ? req.headers.host : 'localhost'
  const path = requestPath(req.url ?? '')
  const headers = new Headers()
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    try {
      headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
    } catch {
      // A header node:http accepted but fetch's Headers rejects: not one the API reads.
    }
  }
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal }
  // One iterator for the handler and, afterwards, for draining. Its `return` is not passed on:
  // a handler that stops reading must not destroy the request (that would reset the socket
  // before the answer is written); the listener decides between draining and closing.
  const iterator = hasBody ? (req[Symbol.asyncIterator]() as AsyncIterator<Buffer>) : undefined
  if (iterator !== undefined) {
    init.body = toByteStream({
      [Symbol.asyncIterator]: () => ({
        next: () => iterator.next(),
        return: async () => ({ done: true as const, value: undefined }),
      }),
    })
    init.duplex = 'half'
  }
  return {
    request: new Request(`http://${host}${path}`, init),
    async drain(limit, ms) {
      // Without a body iterator node:http discards any stray body itself.
      if (req.complete || iterator === undefined) return true
      let left = limit
      const deadline = new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref())
      const read = (async () => {
        try {
          for (;;) {
            const next = await iterator.next()
            if (next.done) return true
            left -= next.value.byteLength
            if (left < 0) return false
          }
        } catch {
          return false
        }
      })()
      return Promise.race([read, deadline])
    },
  }
}

function waitWritable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/**
 * Adapts a fetch handler to node:http's `(req, res)` listener.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * createServer(createNodeListener(createHandler(registry))).listen(5000)
 * ```
 */
export function createNodeListener(
  handler: FetchHandler,
  options: NodeListenerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const { onResponse, onError } = options
  const drainLimit = options.drainLimitBytes ?? 16 * 1024 * 1024

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now()
    // Read now: once the socket has closed (a client gone mid-request) node no longer knows it.
    const remoteAddress = req.socket.remoteAddress
    const controller = new AbortController()
    let bytes = 0
    let status = 500
    res.on('close', () => {
      if (!res.writableFinished) controller.abort()
    })
    let incoming: IncomingRequest | undefined
    try {
      let response: Response
      try {
        incoming = toRequest(req, controller.signal)
        response = await handler(incoming.request)
      } catch (error) {
        onError?.(error)
        response = errorResponse(
          error instanceof TypeError ? new ApprError('invalid-usage', 'malformed request') : error,
          'appr',
        )
      }
      status = response.status
      if (res.destroyed) {
        await response.body?.cancel().catch(() => {})
        return
      }
      res.statusCode = response.status
      for (const [name, value] of response.headers) if (name !== 'set-cookie') res.setHeader(name, value)
      const cookies = response.headers.getSetCookie()
      if (cookies.length > 0) res.setHeader('set-cookie', cookies)
      // An answer given before the body was read: let an uploading client finish (bounded) so it
      // reads the answer; otherwise close the connection after answering.
      if (!req.complete) {
        const drained = response.status !== 413 && incoming !== undefined && (await incoming.drain(drainLimit, 5000))
        if (!drained) res.setHeader('connection', 'close')
      }
      if (response.body === null || req.method === 'HEAD') {
        await response.body?.cancel().catch(() => {})
        res.end()
        return
      }
      const reader = response.body.getReader()
      const cancel = (): void => {
        reader.cancel().catch(() => {})
      }
      controller.signal.addEventListener('abort', cancel, { once: true })
      try {
        for (;;) {
          const next = await reader.read()
          if (next.done) break
          bytes += next.value.byteLength
          if (!res.write(next.value)) await waitWritable(res)
          if (res.destroyed) {
            cancel()
            return
          }
        }
        res.end()
      } catch (error) {
        // The status line is gone; all that is left is to cut the connection so the client
        // sees a truncated body rather than a silently short one.
        if (!controller.signal.aborted) onError?.(error)
        res.destroy()
      } finally {
        controller.signal.removeEventListener('abort', cancel)
      }
    } finally {
      if (onResponse !== undefined) {
        if (!res.writableFinished && !res.destroyed) await once(res, 'close').catch(() => {})
        onResponse({
          method: req.method ?? 'GET',
          url: req.url ?? '',
          status,
          bytes,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          aborted: !res.writableFinished,
          remoteAddress,
          userAgent: req.headers['user-agent'],
        })
      }
    }
  }

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      onError?.(error)
      res.destroy()
    })
  }
}

/** Options of {@link serve}. */
export interface ServeOptions extends NodeListenerOptions {
  readonly handler: FetchHandler
  /** Interface to bind (default `127.0.0.1`). */
  readonly host?: string
  /** Port (default 5000; 0 picks a free one). */
  readonly port?: number
  /**
   * Time a client has to send its whole request head, in ms (default 20 s; 0: no limit). Past
   * it the connection gets 408 and is closed: a client that never finishes its headers holds nothing.
   */
  readonly headersTimeoutMs?: number
  /**
   * Time a client has to send the whole request, body included, in ms (default 300 s, which a
   * 96 MiB push meets at 330 kB/s; 0: no limit). Past it the connection is closed (408 when no
   * answer was started), so a body trickled byte by byte cannot hold a connection for ever.
   */
  readonly requestTimeoutMs?: number
  /**
   * Time a connection may pass without a byte moving either way, in ms (default 30 s; 0: no
   * limit): a client that stops sending its body, or stops reading a pull, is cut off.
   */
  readonly idleTimeoutMs?: number
}

/** Defaults of {@link ServeOptions}' timeouts, in ms. */
export const serveTimeouts = { headersTimeoutMs: 20_000, requestTimeoutMs: 300_000, idleTimeoutMs: 30_000 } as const

/** A listening server. */
export interface RunningServer {
  readonly server: Server
  /** `http://host:port` (IPv6 hosts in brackets). */
  readonly url: string
  readonly port: number
  /**
   * Stops accepting connections, lets in-flight requests finish, and resolves when all are done.
   * After `timeoutMs` (default 10 s) remaining connections are cut.
   */
  close(options?: { readonly timeoutMs?: number }): Promise<void>
}

/** Starts a node:http server for `handler` and resolves once it listens. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  const headersTimeoutMs = options.headersTimeoutMs ?? serveTimeouts.headersTimeoutMs
  const requestTimeoutMs = options.requestTimeoutMs ?? serveTimeouts.requestTimeoutMs
  const idleTimeoutMs = options.idleTimeoutMs ?? serveTimeouts.idleTimeoutMs
  for (const [name, value] of Object.entries({ headersTimeoutMs, requestTimeoutMs, idleTimeoutMs })) {
    if (!(Number.isFinite(value) && value >= 0)) throw new ApprError('invalid-parameters', `${name} must be a number of ms ≥ 0`, { details: { [name]: String(value) } })
  }
  // node:http checks both deadlines on a sweep (every 30 s by default, which would let a
  // short deadline run 30 s late): sweep at a quarter of the shortest, between 50 ms and 1 s.
  const deadlines = [headersTimeoutMs, requestTimeoutMs].filter((ms) => ms > 0)
  const server = createServer(
    {
      // node:http refuses a head deadline past the request deadline: the request one covers both.
      headersTimeout: requestTimeoutMs > 0 && (headersTimeoutMs === 0 || headersTimeoutMs > requestTimeoutMs) ? requestTimeoutMs : headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(Math.min(...deadlines, 4000) / 4))),
    },
    createNodeListener(options.handler, options),
  )
  // Without a 'timeout' listener on the server, node:http destroys a socket idle this long.
  server.setTimeout(idleTimeoutMs)
  server.listen(options.port ?? 5000, host)
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  const shown = host.includes(':') ? `[${host}]` : host
  let closing: Promise<void> | undefined
  return {
    server,
    port,
    url: `http://${shown}:${port}`,
    close({ timeoutMs = 10_000 } = {}) {
      closing ??= new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs)
        // A kept-alive socket becomes idle only when its in-flight response ends: sweep until done.
        const sweep = setInterval(() => server.closeIdleConnections(), 50)
        timer.unref()
        server.close((error) => {
          clearTimeout(timer)
          clearInterval(sweep)
          if (error) reject(error)
          else resolve()
        })
        server.closeIdleConnections()
      })
      return closing
    },
  }
}
