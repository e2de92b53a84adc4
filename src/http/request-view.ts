/**
 * The request as routes and middleware read it: method, path, query, headers and the body as
 * chunks, whichever server it came from. The fetch handler makes one of a WHATWG `Request`
 * ({@link fetchRequestView}); the node listener makes one of node:http's request without building
 * a `Request` (`node-request.ts`), and builds that only when something asks for `request`.
 * @module
 */

/** Request headers by lower-case name; repeated headers are joined with `, ` as `Headers.get` does. */
export interface HeaderView {
  get(name: string): string | null
  has(name: string): boolean
}

/** One request, as the handler's routes and middleware see it. */
export interface HttpRequest {
  /** Upper-case method, as sent. */
  readonly method: string
  /** The path, still percent-encoded, normalised as the URL standard does (dot segments resolved). */
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: HeaderView
  /** The body as chunks; null for GET and HEAD. Read it once. */
  readonly body: AsyncIterable<Uint8Array> | null
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal
  /** The whole URL (`http://host/path?query`); built on first use on the node path. */
  readonly url: URL
  /**
   * The WHATWG `Request` (for hooks and routes written against fetch); built on first use on
   * the node path, sharing the body with {@link body}.
   */
  readonly request: Request
  /** Gives up on the body without reading it (a refusal before reading). */
  cancelBody(): Promise<void>
}

/** A request view over a WHATWG `Request` (the fetch handler's path). */
export function fetchRequestView(request: Request): HttpRequest {
  let url: URL | undefined
  let body: AsyncIterable<Uint8Array> | null | undefined
  const parsed = (): URL => (url ??= new URL(request.url))
  return {
    method: request.method,
    get path() {
      return parsed().pathname
    },
    get query() {
      return parsed().searchParams
    },
    headers: request.headers,
    get body() {
      body ??= request.body === null ? null : streamChunks(request.body)
      return body
    },
    signal: request.signal,
    get url() {
      return parsed()
    },
    request,
    async cancelBody() {
      if (request.body !== null && !request.body.locked) await request.body.cancel().catch(() => {})
    },
  }
}

/** The chunks of a body stream; stopping early cancels the stream. */
async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader()
  try {
    for (;;) {
      const next = await reader.read()
      if (next.done) return
      yield next.value
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}
