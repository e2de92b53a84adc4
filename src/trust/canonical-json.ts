/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): one byte sequence per JSON value, so a digest of
 * it means the same thing to every implementation.
 *
 * - object members sorted by their names compared as UTF-16 code units, no whitespace;
 * - strings escaped as ECMAScript's `JSON.stringify` does (`\b \t \n \f \r \" \\`, other control
 *   characters as lowercase `\u00xx`, everything else literal);
 * - numbers serialised as ECMAScript's `Number.prototype.toString` (shortest round-trip form,
 *   `-0` as `0`, exponents from 1e21 and below 1e-6);
 * - I-JSON only (RFC 7493): strings with unpaired surrogates and non-finite numbers are refused.
 *
 * Pure: no I/O, no Node-only API.
 * @module
 */
import { ApprError } from '../errors/index.js'

/** Deepest nesting accepted (keeps recursion far from the stack limit). */
export const MAX_CANONICAL_DEPTH = 512

// An unpaired surrogate: a high one not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const refuse = (message: string, path: string): ApprError =>
  new ApprError('invalid-parameters', `not canonicalisable as JSON (RFC 8785): ${message}`, { details: { path } })

function string(value: string, path: string): string {
  if (LONE_SURROGATE.test(value)) throw refuse('a string holds an unpaired UTF-16 surrogate', path)
  // ECMAScript's JSON string serialisation is the one RFC 8785 specifies.
  return JSON.stringify(value)
}

// RFC 8785 compares member names as arrays of UTF-16 code units; `<` on JS strings does exactly that.
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

function write(value: unknown, path: string, depth: number, out: string[]): void {
  if (value === null) {
    out.push('null')
    return
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false')
      return
    case 'number':
      if (!Number.isFinite(value)) throw refuse(`${value} is not a JSON number`, path)
      // Number.prototype.toString is RFC 8785's algorithm; JSON.stringify adds only -0 → 0.
      out.push(JSON.stringify(value))
      return
    case 'string':
      out.push(string(value, path))
      return
    case 'object':
      break
    default:
      throw refuse(`a ${typeof value} is not JSON`, path)
  }
  if (depth >= MAX_CANONICAL_DEPTH) throw refuse(`nested deeper than ${MAX_CANONICAL_DEPTH}`, path)
  if (Array.isArray(value)) {
    out.push('[')
    value.forEach((item, index) => {
      if (index > 0) out.push(',')
      write(item, `${path}[${index}]`, depth + 1, out)
    })
    out.push(']')
    return
  }
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) throw refuse('only plain objects are JSON objects', path)
  const names = Object.keys(value).sort(byCodeUnits)
  out.push('{')
  names.forEach((name, index) => {
    if (index > 0) out.push(',')
    const member = `${path}.${name}`
    out.push(string(name, member), ':')
    write((value as Record<string, unknown>)[name], member, depth + 1, out)
  })
  out.push('}')
}

/**
 * The RFC 8785 canonical JSON text of `value`.
 *
 * @throws ApprError `invalid-parameters` when `value` is not I-JSON: `undefined`, functions,
 *   symbols, bigints, non-finite numbers, class instances, strings with unpaired surrogates, or
 *   nesting deeper than {@link MAX_CANONICAL_DEPTH}.
 * @example
 * ```ts
 * canonicalJson({ b: [1e21, -0], a: 'é' }) // '{"a":"é","b":[1e+21,0]}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = []
  write(value, '$', 0, out)
  return out.join('')
}
