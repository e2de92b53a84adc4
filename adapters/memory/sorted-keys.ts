import { compareKeys } from '../../src/storage/util.js'

/** A set of keys in UTF-8 byte order with O(√n)-ish inserts and deletes and ordered scans. */
export interface SortedKeys {
  /** Adds `key` (must not be present). */
  insert(key: string): void
  /** Removes `key` (must be present). */
  remove(key: string): void
  /** Keys ≥ `from` (or > `from` when `exclusive`), ascending. */
  scan(from: string, exclusive: boolean): Generator<string>
}

// One flat sorted array makes every insert a memmove of the whole key space (O(n): the memory
// store then slows down linearly with the registry). Chunks of at most CHUNK keys bound it.
const CHUNK = 512

// UTF-16 code-unit order (JavaScript's `<`, a memcmp for one-byte strings) and UTF-8 byte order
// disagree only where, at the first difference, one key has a surrogate (0xD800–0xDFFF) and the
// other a unit in 0xE000–0xFFFF. A key with no unit ≥ 0xD800 ("narrow") never takes part in such
// a difference, so while every stored key is narrow, `<` orders any probe against them exactly.
// compareKeys costs ~10× more per comparison and was most of an insert's time.
const WIDE = /[\uD800-\uFFFF]/

/** Index of the first element of `list` not below `key` (or above it, when `exclusive`), by `<`. */
function boundNarrow(list: readonly string[], key: string, exclusive: boolean): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const k = list[mid]!
    if (k < key || (exclusive && k === key)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Index of the first element of `list` not below `key` (or above it, when `exclusive`), by compareKeys. */
function boundExact(list: readonly string[], key: string, exclusive: boolean): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const c = compareKeys(list[mid]!, key)
    if (c < 0 || (exclusive && c === 0)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Creates an empty {@link SortedKeys}. */
export function sortedKeys(): SortedKeys {
  const chunks: string[][] = []
  const lasts: string[] = [] // lasts[i] = last key of chunks[i], for the chunk search
  let wide = 0 // stored keys with a unit ≥ 0xD800: while 0, `<` is exact (see WIDE)

  const bound = (list: readonly string[], key: string, exclusive: boolean): number =>
    wide === 0 ? boundNarrow(list, key, exclusive) : boundExact(list, key, exclusive)
  /** The chunk that holds, or would hold, `key`. */
  const chunkFor = (key: string): number => Math.min(bound(lasts, key, false), chunks.length - 1)

  return {
    insert(key) {
      if (WIDE.test(key)) wide++
      if (chunks.length === 0) {
        chunks.push([key])
        lasts.push(key)
        return
      }
      const c = chunkFor(key)
      const chunk = chunks[c]!
      chunk.splice(bound(chunk, key, false), 0, key)
      if (chunk.length > CHUNK) {
        const upper = chunk.splice(CHUNK / 2)
        chunks.splice(c + 1, 0, upper)
        lasts.splice(c + 1, 0, upper[upper.length - 1]!)
      }
      lasts[c] = chunk[chunk.length - 1]!
    },
    remove(key) {
      if (chunks.length === 0) return
      const c = chunkFor(key)
      const chunk = chunks[c]!
      const i = bound(chunk, key, false)
      if (chunk[i] !== key) return
      if (WIDE.test(key)) wide--
      chunk.splice(i, 1)
      if (chunk.length === 0) {
        chunks.splice(c, 1)
        lasts.splice(c, 1)
      } else lasts[c] = chunk[chunk.length - 1]!
    },
    *scan(from, exclusive) {
      if (chunks.length === 0) return
      let c = Math.min(bound(lasts, from, exclusive), chunks.length - 1)
      let i = bound(chunks[c]!, from, exclusive)
      for (; c < chunks.length; c++, i = 0) {
        const chunk = chunks[c]!
        for (; i < chunk.length; i++) yield chunk[i]!
      }
    },
  }
}
