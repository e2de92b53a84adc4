/**
 * Response helpers of the HTTP surfaces: JSON, and streaming bodies built from async iterables
 * with back-pressure (nothing is read ahead of the consumer).
 * @module
 */
import { Buffer } from 'node:buffer'
import type { Reply } from './reply.js'

const encoder = new TextEncoder()

/** JSON response with an exact Content-Length. */
export function json(body: unknown, status = 200, headers?: HeadersInit): Response {
  const bytes = encoder.encode(JSON.stringify(body))
  const h = new Headers(headers)
  h.set('content-type', 'application/json')
  h.set('content-length', String(bytes.byteLength))
  return new Response(bytes, { status, headers: h })
}

/**
 * A byte stream that pulls from `source` only when the consumer asks (highWaterMark 0), so a
 * slow client slows the registry read instead of filling memory. Cancelling the stream (client
 * gone) calls the iterator's `return`, which releases whatever the source holds open.
 */
export function toByteStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array> | undefined
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        iterator ??= source[Symbol.asyncIterator]()
        // Skip empty chunks: enqueuing one would satisfy the pull without progress.
        for (;;) {
          const next = await iterator.next()
          if (next.done) {
            controller.close()
            return
          }
          if (next.value.byteLength > 0) {
            controller.enqueue(next.value)
            return
          }
        }
      },
      async cancel(reason) {
        // Also when never read (HEAD, or a client gone before the first chunk): a source that
        // opened something eagerly gets its `return` either way.
        iterator ??= source[Symbol.asyncIterator]()
        await iterator.return?.(reason)
      },
    },
    { highWaterMark: 0 },
  )
}

/** Length of standard padded base64 for `n` bytes. */
export function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4
}

/**
 * Base64-encodes a byte stream chunk by chunk, carrying the 0–2 bytes that do not fill a
 * 3-byte group into the next chunk, so the output equals encoding the concatenation. Each
 * output chunk is one buffer written in place (no copy of the input chunk), which keeps the
 * garbage a large pull leaves for the collector to one string and one buffer per chunk.
 */
export async function* base64Chunks(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const carry = Buffer.alloc(3)
  let carried = 0
  for await (const chunk of source) {
    const input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    // Complete the carried group from the head of this chunk.
    const fill = carried === 0 ? 0 : Math.min(3 - carried, input.byteLength)
    input.copy(carry, carried, 0, fill)
    carried += fill
    const rest = input.byteLength - fill
    const whole = rest - (rest % 3)
    const head = carried === 3 ? 4 : 0
    if (head + whole > 0) {
      const out = Buffer.allocUnsafeSlow(head + (whole / 3) * 4)
      if (head) out.write(carry.toString('base64'), 0, 'latin1')
      if (whole > 0) out.write(input.toString('base64', fill, fill + whole), head, 'latin1')
      yield new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
    }
    if (carried === 3) carried = 0
    // Keep the 0–2 bytes past the last whole group.
    input.copy(carry, carried, fill + whole)
    carried += rest - whole
  }
  if (carried > 0) yield encoder.encode(carry.subarray(0, carried).toString('base64'))
}

/**
 * A JSON object streamed with one base64 field (`blob`) between a fixed prefix and suffix, with an
 * exact Content-Length computed from the blob size. Memory stays at one chunk whatever the blob.
 */
export function jsonWithBlob(
  before: Record<string, unknown>,
  blob: { readonly size: number; readonly stream: AsyncIterable<Uint8Array> },
  after: Record<string, unknown>,
): Reply {
  const head = JSON.stringify(before)
  const tail = JSON.stringify(after)
  const prefix = encoder.encode(`${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"blob":"`)
  const suffix = encoder.encode(`"${tail.length > 2 ? `,${tail.slice(1)}` : '}'}`)
  async function* body(): AsyncGenerator<Uint8Array> {
    yield prefix
    yield* base64Chunks(blob.stream)
    yield suffix
  }
  const length = prefix.byteLength + base64Length(blob.size) + suffix.byteLength
  return { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(length) }, body: body() }
}
