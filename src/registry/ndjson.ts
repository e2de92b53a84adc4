/**
 * NDJSON (one JSON value per line), the wire and file form of streamed backups: written record
 * by record and read line by line, so neither side holds more than one record.
 * @module
 */
import { ApprError } from '../errors/index.js'

/** Longest line {@link fromNdjson} accepts by default: a 64 MiB package in base64 plus its manifest. */
export const DEFAULT_MAX_LINE_BYTES = 96 * 1024 * 1024

/** Each value as one JSON line (`\n`-terminated), produced as the consumer asks for it. */
export async function* toNdjson(values: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<string> {
  for await (const value of values) yield `${JSON.stringify(value)}\n`
}

/**
 * The JSON values of NDJSON bytes, one per non-empty line (a final line without `\n` counts).
 * @throws invalid-parameters for a line that is not JSON or longer than `maxLineBytes`, naming it by its number
 */
export async function* fromNdjson(chunks: AsyncIterable<Uint8Array>, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<unknown> {
  let pending: Buffer[] = []
  let pendingBytes = 0
  let line = 0
  const parse = (bytes: Buffer): unknown => {
    line++
    try {
      return JSON.parse(bytes.toString('utf8'))
    } catch (cause) {
      throw new ApprError('invalid-parameters', `line ${line} is not JSON`, { details: { line }, cause })
    }
  }
  for await (const chunk of chunks) {
    let buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    for (let newline = buffer.indexOf(10); newline >= 0; newline = buffer.indexOf(10)) {
      const bytes = pending.length === 0 ? buffer.subarray(0, newline) : Buffer.concat([...pending, buffer.subarray(0, newline)])
      pending = []
      pendingBytes = 0
      buffer = buffer.subarray(newline + 1)
      if (bytes.byteLength > maxLineBytes) throw tooLong(line + 1, maxLineBytes)
      if (blank(bytes)) line++
      else yield parse(bytes)
    }
    if (buffer.byteLength > 0) {
      pendingBytes += buffer.byteLength
      if (pendingBytes > maxLineBytes) throw tooLong(line + 1, maxLineBytes)
      // A copy: the producer may reuse the chunk's memory once we ask for the next one.
      pending.push(Buffer.from(buffer))
    }
  }
  const rest = Buffer.concat(pending)
  if (!blank(rest)) yield parse(rest)
}

function tooLong(line: number, limit: number): ApprError {
  return new ApprError('payload-too-large', `line ${line} is longer than ${limit} bytes`, { details: { line, limit } })
}

/** Only spaces, tabs and carriage returns (stops at the first other byte, so a long record costs nothing). */
function blank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 32 && b !== 9 && b !== 13) return false
  return true
}
