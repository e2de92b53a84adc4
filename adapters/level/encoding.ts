/**
 * How the level adapter lays keys and values out in LevelDB: keys as their UTF-8 bytes, values
 * behind an 8-byte big-endian version, the store-wide version counter under a key no user key
 * reaches, and the arena one batch's keys and values are cut from.
 * @module
 */
import type { KvEntry } from '../../src/storage/kv.js'

export const HEADER = 8
export const encoder = new TextEncoder()
/** Where the version counter lives: outside every user key (UTF-8 never contains 0xFF). */
export const COUNTER_KEY = Uint8Array.of(0xff, ...encoder.encode('version-counter'))
/** Exclusive upper bound of the user key space (listing with prefix `''`). */
const USER_END = Uint8Array.of(0xff)

export function encodeCounter(n: number): Uint8Array {
  const out = new Uint8Array(HEADER)
  writeCounter(new DataView(out.buffer), 0, n)
  return out
}

export function readCounter(bytes: Uint8Array, at = 0): number {
  // Versions stay far below 2^53: two 32-bit halves, without BigInt.
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER)
  return view.getUint32(0) * 2 ** 32 + view.getUint32(4)
}

/** Writes version `n` as the 8-byte big-endian header at `at`. */
function writeCounter(view: DataView, at: number, n: number): void {
  view.setUint32(at, Math.floor(n / 2 ** 32))
  view.setUint32(at + 4, n >>> 0)
}

/**
 * The keys and stored values of one batch, all cut from one buffer: a commit of a few small
 * records then allocates one backing store instead of one per key and value.
 */
export class Arena {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  #used = 0
  constructor(size: number) {
    this.#bytes = new Uint8Array(size)
    this.#view = new DataView(this.#bytes.buffer)
  }
  /** Upper bound of the bytes {@link key} takes for `key` (UTF-8: at most 3 bytes per UTF-16 unit). */
  static keyBytes(key: string): number {
    return key.length * 3
  }
  key(key: string): Uint8Array {
    const start = this.#used
    this.#used += encoder.encodeInto(key, this.#bytes.subarray(start)).written
    return this.#bytes.subarray(start, this.#used)
  }
  /** `value` behind the 8-byte version header. */
  stored(version: number, value: Uint8Array): Uint8Array {
    const start = this.#used
    writeCounter(this.#view, start, version)
    this.#bytes.set(value, start + HEADER)
    this.#used += HEADER + value.byteLength
    return this.#bytes.subarray(start, this.#used)
  }
}

/** Smallest byte string greater than every string starting with `prefix` (never 0xFF-terminated in UTF-8). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  if (prefix.length === 0) return USER_END
  const end = prefix.slice()
  end[end.length - 1]! += 1
  return end
}

export function decodeEntry(key: string, stored: Uint8Array): KvEntry {
  // A view of the fresh buffer LevelDB returned: shares memory with nothing stored.
  return {
    key,
    value: new Uint8Array(stored.buffer, stored.byteOffset + HEADER, stored.byteLength - HEADER),
    version: String(readCounter(stored)),
  }
}
