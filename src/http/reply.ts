/**
 * The neutral answer of a route: status, headers and a body, with no WHATWG `Response` behind it.
 * The fetch handler renders it as a `Response` ({@link toResponse}); the node listener writes it
 * with `res.writeHead`/`res.end` (`node.ts`), so a small JSON answer costs one string and no
 * stream. A route or middleware may still return a `Response`: every helper here takes both.
 * @module
 */
import { Buffer } from 'node:buffer'
import { toByteStream } from './respond.js'

/** A body: text (sent as UTF-8), bytes, a stream of chunks (pulled as the client reads), or none. */
export type ReplyBody = string | Uint8Array | AsyncIterable<Uint8Array> | null

/**
 * What a route answers. `headers` has lower-case names and belongs to this reply: middleware
 * (CORS, HEAD) changes it in place, so a reply never shares it with another.
 */
export interface Reply {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: ReplyBody
}

/** What routes and middleware may answer. */
export type Answer = Reply | Response

/**
 * A reply; `headers` is copied into a fresh record (names lower-cased). Header names come from
 * routes, never from a client, so a plain object does (a null-prototype one is a slower
 * dictionary in V8).
 */
export function reply(status: number, headers: Readonly<Record<string, string>> = {}, body: ReplyBody = null): Reply {
  const own: Record<string, string> = {}
  for (const name in headers) own[name.toLowerCase()] = headers[name]!
  return { status, headers: own, body }
}

/** A JSON reply with an exact Content-Length. */
export function jsonReply(value: unknown, status = 200, headers?: Readonly<Record<string, string>>): Reply {
  const text = JSON.stringify(value)
  const out = reply(status, headers, text)
  out.headers['content-type'] = 'application/json'
  out.headers['content-length'] = String(Buffer.byteLength(text))
  return out
}

/** True for a {@link Reply}, false for a WHATWG `Response`. */
export function isReply(answer: Answer): answer is Reply {
  return !(answer instanceof Response)
}

/** True when `body` is a stream of chunks rather than text or bytes. */
export function isStreamBody(body: ReplyBody): body is AsyncIterable<Uint8Array> {
  return body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)
}

/**
 * The reply's headers with Content-Length added for a text or bytes body that lacks it, so both
 * renderers send the same headers (node:http would add it, a `Response` would stream the body
 * chunked).
 */
function withLength(answer: Reply): Record<string, string> {
  const { body, headers } = answer
  if (body === null || isStreamBody(body) || headers['content-length'] !== undefined) return headers
  headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength)
  return headers
}

/** The reply's final headers, as the node listener writes them. */
export function replyHeaders(answer: Reply): Record<string, string> {
  return withLength(answer)
}

/** Renders an answer as a WHATWG `Response` (a `Response` is returned as it is). */
export function toResponse(answer: Answer): Response {
  if (!isReply(answer)) return answer
  const headers = withLength(answer)
  const { body } = answer
  const init = { status: answer.status, headers }
  if (body === null) return new Response(null, init)
  if (typeof body === 'string') return new Response(body, init)
  if (body instanceof Uint8Array) return new Response(body as Uint8Array<ArrayBuffer>, init)
  return new Response(toByteStream(body), init)
}

/** A header of an answer, or null. */
export function getHeader(answer: Answer, name: string): string | null {
  return isReply(answer) ? (answer.headers[name] ?? null) : answer.headers.get(name)
}

/** Sets a header of an answer (`name` lower-case). */
export function setHeader(answer: Answer, name: string, value: string): void {
  if (isReply(answer)) answer.headers[name] = value
  else answer.headers.set(name, value)
}

/** Adds a value to a header of an answer, comma-separated as `Headers.append` does. */
export function appendHeader(answer: Answer, name: string, value: string): void {
  if (!isReply(answer)) {
    answer.headers.append(name, value)
    return
  }
  const had = answer.headers[name]
  answer.headers[name] = had === undefined ? value : `${had}, ${value}`
}

/**
 * The answer without its body, headers kept (Content-Length included): a stream body is
 * released (its iterator's `return`) without being read.
 */
export async function withoutBody(answer: Answer): Promise<Answer> {
  if (!isReply(answer)) {
    if (answer.body === null) return answer
    await answer.body.cancel().catch(() => {})
    return new Response(null, { status: answer.status, headers: answer.headers })
  }
  const { body } = answer
  if (body === null) return answer
  const headers = withLength(answer)
  if (isStreamBody(body)) await releaseBody(body)
  return { status: answer.status, headers, body: null }
}

/** Releases a stream body that will not be read (HEAD, a client gone): its iterator's `return`. */
export async function releaseBody(body: AsyncIterable<Uint8Array>): Promise<void> {
  await Promise.resolve(body[Symbol.asyncIterator]().return?.())?.catch(() => {})
}
