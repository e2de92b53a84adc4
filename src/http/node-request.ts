/**
 * node:http's request as the handler's {@link HttpRequest}, without a WHATWG `Request`: the path
 * and query are cut from the request target, headers are read from `rawHeaders` on demand, and
 * the body is node's own stream. The `Request` is built only when something asks for it (an
 * `authenticate` hook, a route written against fetch), with the same body.
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { HeaderView, HttpRequest } from './request-view.js'
import { toByteStream } from './respond.js'

const HOST = /^[A-Za-z0-9.\-_~[\]:]+$/

/**
 * A request target that the URL parser would return unchanged: an origin-form path and query of
 * characters it never escapes, without dot segments (`.`, `..`, `%2e`) it would resolve. Anything
 * else goes through `new URL`, so both paths see the same path.
 */
const PLAIN_TARGET = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?$/
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)|%2e/i

/** Methods WHATWG `Request` refuses; answered 400 on both paths. */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])

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

/** A request view and what is needed to finish reading its body after the handler is done. */
export interface NodeRequest {
  readonly view: HttpRequest
  /** Reads and discards what is left of the body; true when it ended within `limit` bytes and `ms`. */
  drain(limit: number, ms: number): Promise<boolean>
}

function rawHeaderView(raw: readonly string[]): HeaderView {
  const get = (wanted: string): string | null => {
    const name = wanted.toLowerCase()
    let found: string | null = null
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = raw[i]!
      if (key.length === name.length && key.toLowerCase() === name) found = found === null ? raw[i + 1]! : `${found}, ${raw[i + 1]!}`
    }
    return found
  }
  return { get, has: (name) => get(name) !== null }
}

/**
 * The view of `req`; `signal()` gives the signal that aborts when the client goes away (made
 * only for what reads it: a long poll, a `Request`).
 * @throws TypeError for a method WHATWG `Request` refuses, as building one would
 */
export function nodeRequest(req: IncomingMessage, signal: () => AbortSignal): NodeRequest {
  const method = req.method ?? 'GET'
  if (FORBIDDEN_METHODS.has(method.toUpperCase())) throw new TypeError(`'${method}' HTTP method is unsupported.`)
  const target = requestPath(req.url ?? '')
  const host = req.headers.host !== undefined && HOST.test(req.headers.host) ? req.headers.host : 'localhost'
  let url: URL | undefined
  const parsed = (): URL => (url ??= new URL(`http://${host}${target}`))
  const plain = PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target)
  const mark = plain ? target.indexOf('?') : -1
  const path = plain ? (mark < 0 ? target : target.slice(0, mark)) : undefined
  let query: URLSearchParams | undefined
  const headers = rawHeaderView(req.rawHeaders)
  // One iterator for the handler and, afterwards, for draining. Its `return` is not passed on:
  // a handler that stops reading must not destroy the request (that would reset the socket
  // before the answer is written); the listener decides between draining and closing.
  const iterator = method !== 'GET' && method !== 'HEAD' ? (req[Symbol.asyncIterator]() as AsyncIterator<Buffer>) : undefined
  const body: AsyncIterable<Uint8Array> | null =
    iterator === undefined
      ? null
      : {
          [Symbol.asyncIterator]: () => ({
            next: () => iterator.next(),
            return: async () => ({ done: true as const, value: undefined }),
          }),
        }
  let request: Request | undefined
  const view: HttpRequest = {
    method,
    path: path ?? parsed().pathname,
    get query() {
      query ??= plain ? new URLSearchParams(mark < 0 ? '' : target.slice(mark + 1)) : parsed().searchParams
      return query
    },
    headers,
    body,
    get signal() {
      return signal()
    },
    get url() {
      return parsed()
    },
    get request() {
      request ??= toRequest(req, parsed(), method, body, signal())
      return request
    },
    async cancelBody() {},
  }
  return {
    view,
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

/** The WHATWG `Request` of a node request, for code written against fetch. */
function toRequest(req: IncomingMessage, url: URL, method: string, body: AsyncIterable<Uint8Array> | null, signal: AbortSignal): Request {
  const headers = new Headers()
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    try {
      headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
    } catch {
      // A header node:http accepted but fetch's Headers rejects: not one the API reads.
    }
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal }
  if (body !== null) {
    init.body = toByteStream(body)
    init.duplex = 'half'
  }
  return new Request(url, init)
}
