import { ApprError } from '../errors/index.js'
import type { BlobInput } from './types.js'

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof (value as ReadableStream | null)?.getReader === 'function'
}

/**
 * The bytes of any {@link BlobInput} as an async iterable of Uint8Array chunks, read lazily.
 * @throws ApprError `invalid-parameters` (when iterated) for a chunk that is not bytes
 */
export async function* blobChunks(input: BlobInput): AsyncGenerator<Uint8Array> {
  if (input instanceof Uint8Array) {
    yield input
    return
  }
  const check = (chunk: unknown): Uint8Array => {
    if (!(chunk instanceof Uint8Array)) throw new ApprError('invalid-parameters', 'a blob must be bytes (Uint8Array chunks)')
    return chunk
  }
  if (isReadableStream(input)) {
    const reader = input.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        yield check(value)
      }
    } finally {
      await reader.cancel().catch(() => undefined)
    }
  }
  if (typeof (input as AsyncIterable<Uint8Array> | null)?.[Symbol.asyncIterator] !== 'function') {
    throw new ApprError('invalid-parameters', 'a blob must be a Uint8Array, an AsyncIterable<Uint8Array> or a ReadableStream')
  }
  for await (const chunk of input as AsyncIterable<Uint8Array>) yield check(chunk)
}

/** Reads a whole stream into one Uint8Array (backup, and small blobs for the blob cache: everything else streams). */
export async function collectBytes(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let size = 0
  for await (const part of stream) {
    parts.push(part)
    size += part.byteLength
  }
  const out = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/**
 * Strict base64 (standard or URL-safe alphabet, optional padding, whitespace ignored), as push
 * bodies and backup documents carry blobs. Node's decoder silently skips invalid characters,
 * so the alphabet is checked first.
 * @throws invalid-parameters
 */
export function decodeBase64(text: string, details: Record<string, unknown> = { field: 'blob' }): Uint8Array {
  const compact = /\s/.test(text) ? text.replace(/\s+/g, '') : text
  const valid =
    /^[A-Za-z0-9+/_-]*={0,2}$/.test(compact) &&
    compact.length % 4 !== 1 &&
    (!compact.includes('=') || compact.length % 4 === 0)
  if (!valid) throw new ApprError('invalid-parameters', 'blob is not valid base64', { details })
  const bytes = Buffer.from(compact, 'base64')
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
