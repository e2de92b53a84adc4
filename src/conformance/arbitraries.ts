/**
 * Generators of keys and values aimed at the places adapters get wrong: byte order versus
 * UTF-16 order, prefixes that end in high code points, NUL, and bytes that are not UTF-8.
 * @module
 */
import fc from 'fast-check'
import type { KvCapabilities } from '../storage/kv.js'

/**
 * Characters chosen so that UTF-16 order and UTF-8 byte order disagree (U+E000–U+FFFF sort
 * after surrogates in UTF-16, before astral code points in UTF-8), plus NUL, DEL, 2- and
 * 3-byte boundaries and the separator `/`.
 */
export const keyChars = [
  'a',
  'b',
  '/',
  '\u0000',
  '\u007f',
  '\u00e9',
  '\u07ff',
  '\u0800',
  '\ue000',
  '\uff5e',
  '\uffff',
  '\u{10000}',
  '\u{1f600}',
  '\u{10ffff}',
] as const

const keyChar = fc.constantFrom(...keyChars)

/** A non-empty key of 1–`max` characters from {@link keyChars}. */
export function keyArb(max = 4): fc.Arbitrary<string> {
  return fc.array(keyChar, { minLength: 1, maxLength: max }).map((cs) => cs.join(''))
}

/** A possibly empty prefix of 0–2 characters. */
export const prefixArb: fc.Arbitrary<string> = fc.array(keyChar, { maxLength: 2 }).map((cs) => cs.join(''))

/** Values that break string-typed storage: empty, NUL, 0xFF, invalid UTF-8, lone UTF-16 halves. */
export const specialValues: readonly Uint8Array[] = [
  new Uint8Array([]),
  new Uint8Array([0x00]),
  new Uint8Array([0xff]),
  new Uint8Array([0xff, 0xfe, 0x00, 0x80]),
  new Uint8Array([0xc3, 0x28]), // invalid 2-byte sequence
  new Uint8Array([0xed, 0xa0, 0x80]), // UTF-8 encoded surrogate, invalid
  new Uint8Array([0xef, 0xbb, 0xbf, 0x41]), // BOM then "A": a decoder would strip the BOM
]

/** Any value within the adapter's declared size limit (small, so runs stay fast). */
export function valueArb(caps: KvCapabilities, maxLength = 24): fc.Arbitrary<Uint8Array> {
  const max = Math.min(maxLength, caps.maxValueBytes ?? maxLength)
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...specialValues.filter((v) => v.length <= max)) },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: max }) },
  )
}

/** Hex for messages: `00ff80` (empty shows as `∅`). */
export function hex(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return 'absent'
  if (bytes.length === 0) return '∅'
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A key in readable form: JSON escapes for the awkward characters. */
export function showKey(key: string): string {
  return JSON.stringify(key).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Byte equality of two arrays. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Encodes a small integer as a value (for counters). */
export function intValue(n: number): Uint8Array {
  return new TextEncoder().encode(String(n))
}

/** Decodes {@link intValue}. */
export function valueInt(bytes: Uint8Array | undefined): number {
  return bytes === undefined ? 0 : Number(new TextDecoder().decode(bytes))
}

/**
 * Characters that break real backends when they appear in keys: upper and lower case of the same
 * letters (case-insensitive collations fold them into one row), SQL `LIKE` and glob wildcards and
 * their escape (`_ % * ? [ ] \`), neighbours in byte order (`.` `/` `0`: a range end one off),
 * and multi-byte UTF-8 at 2-, 3- and 4-byte boundaries, including neighbours that share their
 * leading bytes (`é` `ê`, U+1F600 U+1F601).
 */
export const hostileKeyChars = [
  'a',
  'A',
  'é',
  'É',
  '_',
  '%',
  '*',
  '?',
  '[',
  ']',
  '\\',
  '.',
  '/',
  '0',
  'ê',
  '\u07ff',
  '\u0800',
  '\uffff',
  '\u{10000}',
  '\u{1f600}',
  '\u{1f601}',
] as const

const utf8 = new TextEncoder()

/** `s` with its last code point moved by `delta` in code point (= UTF-8 byte) order; `s` itself when that would leave Unicode. */
export function neighbour(s: string, delta: 1 | -1): string {
  const points = [...s]
  const last = points.pop()
  if (last === undefined) return s
  let cp = last.codePointAt(0)! + delta
  if (cp >= 0xd800 && cp <= 0xdfff) cp = delta > 0 ? 0xe000 : 0xd7ff
  if (cp < 1 || cp > 0x10ffff) return s
  return points.join('') + String.fromCodePoint(cp)
}

/** Upper case for lower and lower for upper, code point by code point. */
export function swapCase(s: string): string {
  return [...s].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('')
}

/** A key set built to reach the failures of {@link hostileKeyChars}, and prefixes worth listing. */
export interface HostileKeys {
  readonly keys: readonly string[]
  readonly prefixes: readonly string[]
}

/**
 * Related hostile keys: a few stems, keys that extend them, case pairs of such keys, keys whose stem
 * ends one code point either side (so `list(stem)` must stop exactly at the stem's end), and long
 * keys of `maxKeyBytes` (or one byte less; 1 KiB when undeclared) that share all but their last
 * few bytes. The prefixes are the stems, their case swaps and cut points of the keys.
 */
export function hostileKeysArb(caps: KvCapabilities): fc.Arbitrary<HostileKeys> {
  const maxBytes = Math.min(caps.maxKeyBytes ?? 1024, 4096)
  const fragment = fc.array(fc.constantFrom(...hostileKeyChars), { minLength: 1, maxLength: 3 }).map((cs) => cs.join(''))
  const shape = fc.constantFrom('extend', 'swap-case', 'neighbour-up', 'neighbour-down', 'long')
  return fc
    .tuple(fc.array(fragment, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(fc.nat(), fragment, shape, fc.nat()), { minLength: 2, maxLength: 16 }))
    .map(([stems, specs]) => {
      const keys = new Set<string>()
      const prefixes = new Set<string>(['', ...stems, ...stems.map(swapCase)])
      for (const [n, tail, how, cut] of specs) {
        const stem = stems[n % stems.length]!
        let key: string
        if (how === 'extend') key = stem + tail
        else if (how === 'swap-case') {
          // Both spellings, with a letter in them, so a case-insensitive backend sees a real pair.
          const spelled = stem + tail + (cut % 2 ? 'a' : 'é')
          keys.add(spelled)
          key = swapCase(spelled)
        }
        else if (how === 'neighbour-up') key = neighbour(stem, 1) + (cut % 2 ? tail : '')
        else if (how === 'neighbour-down') key = neighbour(stem, -1) + (cut % 2 ? tail : '')
        else {
          const room = maxBytes - utf8.encode(stem).length - utf8.encode(tail).length - (cut % 2)
          if (room < 1) continue
          key = stem + 'k'.repeat(room) + tail
          prefixes.add(stem + 'k'.repeat(room))
        }
        keys.add(key)
        const points = [...key]
        prefixes.add(points.slice(0, 1 + (cut % points.length)).join(''))
      }
      return { keys: [...keys], prefixes: [...prefixes] }
    })
}
