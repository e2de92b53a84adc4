/**
 * appr-core/http/node: runs a fetch handler on node:http, streaming both bodies with
 * back-pressure (a pull never holds the whole blob), answering HEAD without a body, and
 * cancelling the answer's stream when the client goes away. A handler made by `createHandler`
 * runs on its fast path: no WHATWG `Request`, `Response` or stream for a small answer (see
 * docs/performance.md, "The node fast path"); any other fetch function through the WHATWG bridge.
 * @module
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ApprError } from '../errors/index.js'
import { coreOf } from './core.js'
import { errorReply } from './middleware/errors.js'
import { nodeRequest } from './node-request.js'
import { type Answer, isReply, isStreamBody, type Reply, releaseBody, replyHeaders } from './reply.js'

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
 * The socket's idle timeout (`server.setTimeout`) is for a client that stops sending or reading.
 * Once the request is all in and until the answer starts, no byte moves through no fault of the
 * client (a long poll holds up to 30 s, an admin gc can take longer): the timer is off for that
 * stretch and back at its old value (for keep-alive and for the answer's own writes) after.
 */
function idleWhileThinking(req: IncomingMessage): { done: () => void } {
  const socket = req.socket
  const idle = socket.timeout ?? 0
  if (idle <= 0) return { done: () => {} }
  let state: 'waiting' | 'paused' | 'done' = 'waiting'
  const pause = (): void => {
    if (state !== 'waiting' || !req.complete) return
    state = 'paused'
    socket.setTimeout(0)
  }
  // A request without a body is complete once node's parser has gone past it (just after the
  // 'request' event); one with a body when the handler has read it.
  setImmediate(pause)
  req.once('end', pause)
  return {
    done() {
      req.off('end', pause)
      if (state === 'paused' && !socket.destroyed) socket.setTimeout(idle)
      state = 'done'
    },
  }
}

/** The chunks of a `Response` body; `return` cancels the stream, read or not. */
function responseChunks(body: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  const iterator: AsyncIterator<Uint8Array> = {
    async next() {
      reader ??= body.getReader()
      const next = await reader.read()
      return next.done ? { done: true, value: undefined } : { done: false, value: next.value }
    },
    async return() {
      await (reader === undefined ? body.cancel() : reader.cancel()).catch(() => {})
      return { done: true, value: undefined }
    },
  }
  return { [Symbol.asyncIterator]: () => iterator }
}

/** A `Response` as a reply (its set-cookie headers apart: a record holds one value per name). */
function responseReply(response: Response): { reply: Reply; cookies: string[] } {
  const headers: Record<string, string> = {}
  for (const [name, value] of response.headers) if (name !== 'set-cookie') headers[name] = value
  const body = response.body === null ? null : responseChunks(response.body)
  return { reply: { status: response.status, headers, body }, cookies: response.headers.getSetCookie() }
}

/**
 * Adapts a fetch handler to node:http's `(req, res)` listener. A handler made by `createHandler`
 * is run on its request views and its replies are written directly (see the module's note).
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
  const core = coreOf(handler)

  async function answer(req: IncomingMessage, signal: () => AbortSignal): Promise<{ answer: Answer; drain: (limit: number, ms: number) => Promise<boolean> }> {
    let drain = async (_limit: number, _ms: number) => true
    try {
      const incoming = nodeRequest(req, signal)
      drain = incoming.drain
      return { answer: core === undefined ? await handler(incoming.view.request) : await core(incoming.view), drain }
    } catch (error) {
      onError?.(error)
      return { answer: errorReply(error instanceof TypeError ? new ApprError('invalid-usage', 'malformed request') : error, 'appr'), drain }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now()
    // Read now: once the socket has closed (a client gone mid-request) node no longer knows it.
    const remoteAddress = req.socket.remoteAddress
    // The abort signal is made only when something reads it (a long poll, a stream body).
    let controller: AbortController | undefined
    let gone = false
    const signal = (): AbortSignal => {
      controller ??= new AbortController()
      if (gone) controller.abort()
      return controller.signal
    }
    let bytes = 0
    let status = 500
    res.on('close', () => {
      if (res.writableFinished) return
      gone = true
      controller?.abort()
    })
    const thinking = idleWhileThinking(req)
    try {
      const given = await answer(req, signal).finally(thinking.done)
      const { reply: out, cookies } = isReply(given.answer) ? { reply: given.answer, cookies: [] } : responseReply(given.answer)
      status = out.status
      const body = req.method === 'HEAD' ? null : out.body
      if (res.destroyed) {
        if (isStreamBody(out.body)) await releaseBody(out.body)
        return
      }
      let headers = replyHeaders(out)
      // An answer given before the body was read: let an uploading client finish (bounded) so it
      // reads the answer; otherwise close the connection after answering.
      if (!req.complete) {
        const drained = out.status !== 413 && (await given.drain(drainLimit, 5000))
        if (!drained) headers = { ...headers, connection: 'close' }
      }
      res.writeHead(out.status, cookies.length > 0 ? { ...headers, 'set-cookie': cookies } : headers)
      if (body === null || !isStreamBody(body)) {
        if (isStreamBody(out.body)) await releaseBody(out.body)
        if (body === null) res.end()
        else {
          bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
          res.end(body)
        }
        return
      }
      bytes = await pump(body, res, signal())
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

  /** Writes a stream body with back-pressure; returns the bytes written. */
  async function pump(body: AsyncIterable<Uint8Array>, res: ServerResponse, signal: AbortSignal): Promise<number> {
    let bytes = 0
    const chunks = body[Symbol.asyncIterator]()
    const cancel = (): void => {
      Promise.resolve(chunks.return?.()).catch(() => {})
    }
    signal.addEventListener('abort', cancel, { once: true })
    try {
      // One chunk is held back and the last goes out with `end`: a small blob (one chunk) is
      // then sent with its head in one write, as a text or bytes body is.
      let held: Uint8Array | undefined
      for (;;) {
        const next = await chunks.next()
        if (next.done) break
        if (next.value.byteLength === 0) continue
        if (held !== undefined) {
          bytes += held.byteLength
          if (!res.write(held)) await waitWritable(res)
          if (res.destroyed) {
            cancel()
            return bytes
          }
        }
        held = next.value
      }
      if (held !== undefined) bytes += held.byteLength
      res.end(held)
    } catch (error) {
      // The status line is gone; all that is left is to cut the connection so the client
      // sees a truncated body rather than a silently short one.
      if (!signal.aborted) onError?.(error)
      res.destroy()
    } finally {
      signal.removeEventListener('abort', cancel)
    }
    return bytes
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
   * limit): a client that stops sending its body, or stops reading a pull, is cut off. The time
   * the server spends computing an answer (the request all in, nothing written yet) does not count.
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
  // A client may send its request and half-close at once (curl --http1.0 style, a raw socket).
  // node:http's default then ends the socket on the client's FIN, before an answer that is still
  // being computed can be written; half-open keeps the socket until that answer is out.
  ;(server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true
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
