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
