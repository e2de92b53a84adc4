/**
 * Byte streams for the client, on web streams alone: progress counting, async iterables as
 * `ReadableStream`s, and base64 encoded chunk by chunk (appr's push body carries the blob as base64).
 * @module
 */
// Pure (no Node built-ins), so the browser bundle may share it.
import { collectBytes } from '../registry/blob-input.js'

/** How far a transfer is. */
export interface Progress {
  /** Bytes of the package moved so far. */
  readonly loaded: number
  /** The package's size, when known. */
  readonly total?: number
}

/** Called as a transfer moves; must not throw. */
export type ProgressCallback = (progress: Progress) => void

/** `source` as an async iterable of chunks. */
export async function* chunksOf(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (!(Symbol.asyncIterator in source)) {
    // Browsers without async iteration of ReadableStream (Safari) read it by hand.
    const reader = source.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        yield value
      }
    } finally {
      reader.releaseLock()
    }
  }
  yield* source as AsyncIterable<Uint8Array>
}

/**
 * An async iterable as a pull-driven `ReadableStream` (`ReadableStream.from` is not everywhere
 * yet). `onCancel` runs after the iterable is told to stop: a generator never started has no
 * `finally` to run, so whatever it would have read from must be let go by the caller.
 */
export function toReadable(source: AsyncIterable<Uint8Array>, onCancel?: (reason: unknown) => Promise<void>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await iterator.next()
        if (done) controller.close()
        else controller.enqueue(value)
      },
      async cancel(reason) {
        await iterator.return?.(reason)
        await onCancel?.(reason)
      },
    },
    { highWaterMark: 0 },
  )
}

/** Passes `source` on, telling `onProgress` the running byte count after every chunk. */
export async function* counted(
  source: AsyncIterable<Uint8Array>,
  total: number | undefined,
  onProgress: ProgressCallback | undefined,
): AsyncGenerator<Uint8Array> {
  let loaded = 0
  for await (const chunk of source) {
    loaded += chunk.byteLength
    onProgress?.(total === undefined ? { loaded } : { loaded, total })
    yield chunk
  }
}

/** Bytes per `String.fromCharCode` call: far below engines' argument limits. */
const CHAR_BATCH = 0x8000

function base64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += CHAR_BATCH) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHAR_BATCH))
  }
  return btoa(binary)
}

/**
 * Base64 of a byte stream, chunk by chunk: the 0–2 bytes that do not fill a 3-byte group are
 * carried into the next chunk, so the output equals the encoding of the concatenation.
 */
export async function* base64Stream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<string> {
  let carry = new Uint8Array(0)
  for await (const chunk of source) {
    const joined = carry.length === 0 ? chunk : concat(carry, chunk)
    const whole = joined.length - (joined.length % 3)
    if (whole > 0) yield base64(joined.subarray(0, whole))
    carry = joined.slice(whole)
  }
  if (carry.length > 0) yield base64(carry)
}

/** `bytes` as slices of `size` bytes (views, no copy). */
export function* slices(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size)
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** Reads a whole stream into one buffer. */
export function collect(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  return collectBytes(chunksOf(source))
}
