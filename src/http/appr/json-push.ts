/**
 * A streaming reader for appr's JSON push body `{"blob": "<base64>", "release": …, …}`.
 *
 * `JSON.parse` of a 90 MiB body holds the raw bytes, the text, the parsed string and the
 * decoded blob at once (about 3.7× the body). This scanner decodes the `blob` string's base64
 * as it arrives, keeping only the decoded bytes (0.75× the body) plus one chunk; every other
 * member is small and parsed with JSON.parse. Fields may come in any order.
 * @module
 */
import { Buffer } from 'node:buffer'
import { ApprError } from '../../errors/index.js'

/** Largest total size of the members other than `blob` (they are names, versions, metadata). */
const MAX_OTHER_BYTES = 1024 * 1024

const C = {
  Quote: 0x22,
  Backslash: 0x5c,
  Comma: 0x2c,
  Colon: 0x3a,
  OpenBrace: 0x7b,
  CloseBrace: 0x7d,
  OpenBracket: 0x5b,
  CloseBracket: 0x5d,
} as const

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
// Standard and URL-safe base64 alphabets, and padding.
const B64 = new Uint8Array(256)
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=') B64[ch.charCodeAt(0)] = 1

const malformed = (why: string) => new ApprError('invalid-usage', `the request body is not valid JSON (${why})`)
const badBase64 = () => new ApprError('invalid-parameters', 'blob is not valid base64', { details: { field: 'blob' } })

/** The parsed body: every member but `blob` as JSON values; `blob` as decoded chunks. */
export interface ScannedBody {
  readonly fields: Record<string, unknown>
  /** Decoded blob chunks, or undefined when the body had no string `blob` member or it was streamed. */
  readonly blob: Uint8Array[] | undefined
  /** Decoded blob size in bytes. */
  readonly blobSize: number
  /** True when the blob went to the sink `onBlobStart` returned. */
  readonly streamed: boolean
  /** Names of the members that came after the blob. */
  readonly afterBlob: readonly string[]
}

/** Where a streamed blob's decoded bytes go; `write` resolves when the consumer wants more. */
export interface BlobSink {
  write(chunk: Uint8Array): Promise<void>
}

/** Options of {@link scanPushBody}. */
export interface ScanOptions {
  /**
   * Called when the blob string starts, with the members seen so far. Returning a sink streams
   * the decoded blob into it (with back-pressure) instead of keeping it; returning undefined
   * keeps the blob in memory.
   */
  readonly onBlobStart?: (fieldsSoFar: Readonly<Record<string, unknown>>) => BlobSink | undefined
}

type State =
  | 'start' // before '{'
  | 'key-or-end' // after '{'
  | 'key' // after ','
  | 'in-key'
  | 'colon'
  | 'value'
  | 'in-blob'
  | 'in-value'
  | 'comma-or-end'
  | 'done'

/**
 * Scans a JSON object body chunk by chunk.
 * @throws invalid-usage for anything but one JSON object; invalid-parameters for bad base64
 */
export async function scanPushBody(chunks: AsyncIterable<Uint8Array>, options: ScanOptions = {}): Promise<ScannedBody> {
  const fields: Record<string, unknown> = {}
  let blob: Uint8Array[] | undefined
  let blobSize = 0
  let sink: BlobSink | undefined
  let blobSeen = false
  const afterBlob: string[] = []
  let state: State = 'start'
  let key: number[] = []
  let name = ''
  let keyEscape = false
  // Raw bytes of a non-blob value, with enough state to find where it ends.
  let value: number[] = []
  let depth = 0
  let inString = false
  let escaped = false
  let otherBytes = 0
  // Base64 characters not yet decoded (fewer than 4, or a run awaiting a chunk boundary).
  let pending = ''
  let blobEscape = false
  let padded = false
  let sawAny = false

  const finishValue = () => {
    const text = Buffer.from(value).toString('utf8')
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw malformed('a member value')
    }
    // defineProperty, so a member named __proto__ is data, not the object's prototype.
    Object.defineProperty(fields, name, { value: parsed, enumerable: true, writable: true, configurable: true })
    if (blobSeen) afterBlob.push(name)
    value = []
    state = 'comma-or-end'
  }

  const decodeRun = (run: string, final: boolean) => {
    pending += run
    const usable = final ? pending.length : pending.length - (pending.length % 4)
    if (usable === 0) return
    const part = pending.slice(0, usable)
    pending = pending.slice(usable)
    if (padded) throw badBase64()
    const eq = part.indexOf('=')
    if (eq !== -1) {
      // Padding only at the very end: one or two '=' closing the last quartet.
      if (!/^[^=]*={1,2}$/.test(part) || (final ? part.length % 4 !== 0 : false)) throw badBase64()
      padded = true
    }
    if (final && part.length % 4 === 1) throw badBase64()
    const bytes = Buffer.from(part, 'base64')
    if (bytes.byteLength > 0) {
      blob!.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      blobSize += bytes.byteLength
    }
  }

  for await (const chunk of chunks) {
    let i = 0
    const n = chunk.byteLength
    while (i < n) {
      const c = chunk[i]!
      switch (state) {
        case 'start':
          if (isSpace(c)) i++
          else if (c === C.OpenBrace) {
            state = 'key-or-end'
            sawAny = true
            i++
          } else if (c === 0xef && i + 2 < n && chunk[i + 1] === 0xbb && chunk[i + 2] === 0xbf) i += 3 // UTF-8 BOM
          else throw sawAny ? malformed('trailing data') : new ApprError('invalid-usage', 'the request body must be a JSON object')
          break
        case 'key-or-end':
        case 'key':
          if (isSpace(c)) i++
          else if (c === C.Quote) {
            state = 'in-key'
            key = []
            i++
          } else if (c === C.CloseBrace && state === 'key-or-end') {
            state = 'done'
            i++
          } else throw malformed('expected a member name')
          break
        case 'in-key':
          if (keyEscape) {
            keyEscape = false
            key.push(c)
          } else if (c === C.Backslash) {
            // Keep escapes and let JSON.parse decode the name.
            keyEscape = true
            key.push(c)
          } else if (c === C.Quote) {
            state = 'colon'
          } else key.push(c)
          otherBytes++
          i++
          break
        case 'colon':
          if (isSpace(c)) i++
          else if (c === C.Colon) {
            try {
              name = JSON.parse(`"${Buffer.from(key).toString('utf8')}"`) as string
            } catch {
              throw malformed('a member name')
            }
            state = 'value'
            i++
          } else throw malformed("expected ':'")
          break
        case 'value': {
          if (isSpace(c)) {
            i++
            break
          }
          if (name === 'blob' && c === C.Quote) {
            if (blobSeen) throw malformed('two blob members')
            blobSeen = true
            blob = []
            sink = options.onBlobStart?.({ ...fields })
            pending = ''
            padded = false
            state = 'in-blob'
            i++
            break
          }
          value = []
          depth = 0
          inString = false
          escaped = false
          state = 'in-value'
          break
        }
        case 'in-blob': {
          // Fast path: take the longest run of base64 characters in this chunk.
          let j = i
          while (j < n && B64[chunk[j]!] === 1 && !blobEscape) j++
          if (j > i) {
            decodeRun(Buffer.from(chunk.buffer, chunk.byteOffset + i, j - i).toString('latin1'), false)
            i = j
            break
          }
          if (blobEscape) {
            blobEscape = false
            // "\/" is a legal JSON spelling of '/'; "\n", "\r" are line breaks of wrapped base64.
            if (c === 0x2f) decodeRun('/', false)
            else if (c !== 0x6e && c !== 0x72) throw badBase64()
            i++
          } else if (c === C.Backslash) {
            blobEscape = true
            i++
          } else if (c === C.Quote) {
            decodeRun('', true)
            state = 'comma-or-end'
            i++
          } else if (c === 0x20) i++
          else if (c < 0x20) throw malformed('a control character in a string')
          else throw badBase64()
          break
        }
        case 'in-value':
          value.push(c)
          if (++otherBytes > MAX_OTHER_BYTES) {
            throw new ApprError('payload-too-large', `the push body's members other than blob exceed ${MAX_OTHER_BYTES} bytes`, {
              details: { limit: MAX_OTHER_BYTES },
            })
          }
          i++
          if (inString) {
            if (escaped) escaped = false
            else if (c === C.Backslash) escaped = true
            else if (c === C.Quote) {
              inString = false
              if (depth === 0) finishValue()
            }
          } else if (c === C.Quote) inString = true
          else if (c === C.OpenBrace || c === C.OpenBracket) depth++
          else if (c === C.CloseBrace || c === C.CloseBracket) {
            depth--
            if (depth < 0) {
              // The object's own '}' ends a bare scalar such as `true}`.
              value.pop()
              i--
              finishValue()
            } else if (depth === 0) finishValue()
          } else if (depth === 0 && (c === C.Comma || isSpace(c))) {
            value.pop()
            i--
            finishValue()
          }
          break
        case 'comma-or-end':
          if (isSpace(c)) i++
          else if (c === C.Comma) {
            state = 'key'
            i++
          } else if (c === C.CloseBrace) {
            state = 'done'
            i++
          } else throw malformed("expected ',' or '}'")
          break
        case 'done':
          if (isSpace(c)) i++
          else throw malformed('trailing data')
          break
      }
    }
    // Streaming: hand this input chunk's decoded bytes on, waiting while the consumer is busy.
    if (sink !== undefined && blob !== undefined && blob.length > 0) {
      const ready = blob
      blob = []
      for (const part of ready) await sink.write(part)
    }
  }
  if (state !== 'done') {
    if (!sawAny) throw new ApprError('invalid-usage', 'the request body is empty; a JSON object is expected')
    throw malformed('unexpected end')
  }
  return { fields, blob: sink === undefined ? blob : undefined, blobSize, streamed: sink !== undefined, afterBlob }
}
