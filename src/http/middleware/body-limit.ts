/**
 * Body limits: every route that reads a request body reads it through {@link limitedBody}, so one
 * `maxBodyBytes` bounds what any surface accepts. The limit is enforced while reading rather than
 * up front because a Content-Length may be absent or lie.
 * @module
 */
import { ApprError } from '../../errors/index.js'
import { collectBytes } from '../../registry/blob-input.js'
import { fetchRequestView, type HttpRequest } from '../request-view.js'

/** Default of `HandlerOptions.maxBodyBytes`: 96 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 96 * 1024 * 1024

function tooLarge(limit: number): ApprError {
  return new ApprError('payload-too-large', `request body exceeds ${limit} bytes`, { details: { limit } })
}

/**
 * The body's chunks, refused with `payload-too-large` as soon as the declared Content-Length or
 * the bytes actually received pass `limit` (a lying or absent Content-Length cannot make us
 * take more than `limit`). Stopping early cancels the rest of the body. Takes the handler's
 * request view or a WHATWG `Request`.
 */
export async function* limitedBody(source: HttpRequest | Request, limit: number): AsyncGenerator<Uint8Array> {
  const request = source instanceof Request ? fetchRequestView(source) : source
  const declared = request.headers.get('content-length')
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared.trim()) > limit) {
    await request.cancelBody()
    throw tooLarge(limit)
  }
  if (request.body === null) return
  const chunks = request.body[Symbol.asyncIterator]()
  let total = 0
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>
      try {
        next = await chunks.next()
      } catch (cause) {
        throw new ApprError('invalid-usage', 'the request body could not be read', { cause })
      }
      if (next.done) return
      total += next.value.byteLength
      if (total > limit) throw tooLarge(limit)
      yield next.value
    }
  } finally {
    await chunks.return?.().catch(() => {})
  }
}

/** Reads the whole body into one array, within `limit` (see {@link limitedBody}). */
export function readBody(request: HttpRequest | Request, limit: number): Promise<Uint8Array> {
  return collectBytes(limitedBody(request, limit))
}
