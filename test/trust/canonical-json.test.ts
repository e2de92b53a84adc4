import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError } from 'appr-core'
import { MAX_CANONICAL_DEPTH, canonicalJson } from 'appr-core/trust'

const fromBits = (hex: string): number => {
  const view = new DataView(new ArrayBuffer(8))
  view.setBigUint64(0, BigInt(`0x${hex}`))
  return view.getFloat64(0)
}

test('RFC 8785 §3.2.4: the specification example, byte for byte', () => {
  const input = String.raw`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }`
  const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`
  assert.is(canonicalJson(JSON.parse(input)), expected)
})

test('RFC 8785 appendix B: IEEE 754 doubles serialise as the RFC lists', () => {
  const vectors: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ]
  for (const [bits, text] of vectors) assert.is(canonicalJson(fromBits(bits)), text, bits)
})

test('RFC 8785 §3.2.3: members sort by UTF-16 code units (the emoji before U+FB33, not after)', () => {
  const input = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  }
  const keys = Object.keys(JSON.parse(canonicalJson(input)) as object)
  // JSON.parse keeps insertion order for string keys except integer-like ones, which come first anyway.
  assert.equal(keys, ['1', '\r', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'])
  assert.ok(canonicalJson(input).startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"'))
})

test('strings: control characters escaped in lowercase hex, everything else literal UTF-8', () => {
  assert.is(canonicalJson('\u0000\u001f\u007f\b\t\n\f\r"\\/é€😀'), '"\\u0000\\u001f\u007f\\b\\t\\n\\f\\r\\"\\\\/é€😀"')
})

test('a value that is not I-JSON is refused with invalid-parameters, naming where', () => {
  const cases: [unknown, string][] = [
    [{ a: Number.NaN }, '$.a'],
    [[1, Number.POSITIVE_INFINITY], '$[1]'],
    [{ a: undefined }, '$.a'],
    [{ a: () => 1 }, '$.a'],
    [{ a: 1n }, '$.a'],
    [{ a: new Date(0) }, '$.a'],
    [{ a: new Map() }, '$.a'],
    [{ a: 'x\ud800' }, '$.a'],
    [{ a: '\udc00x' }, '$.a'],
    [{ '\ud83d': 1 }, '$.\ud83d'],
  ]
  for (const [value, path] of cases) {
    try {
      canonicalJson(value)
      assert.unreachable(`accepted ${String(path)}`)
    } catch (e) {
      assert.ok(isApprError(e, 'invalid-parameters'), String(e))
      assert.is((e as { details: Record<string, unknown> }).details.path, path)
    }
  }
})

test('nesting is bounded: exactly the limit passes, one more is refused', () => {
  const nest = (n: number): unknown => {
    let v: unknown = 0
    for (let i = 0; i < n; i++) v = [v]
    return v
  }
  assert.is(canonicalJson(nest(MAX_CANONICAL_DEPTH)).length, 2 * MAX_CANONICAL_DEPTH + 1)
  assert.throws(() => canonicalJson(nest(MAX_CANONICAL_DEPTH + 1)), (e: unknown) => isApprError(e, 'invalid-parameters'))
  assert.throws(() => canonicalJson(nest(100_000)), (e: unknown) => isApprError(e, 'invalid-parameters'))
})

test('null-prototype objects are JSON objects', () => {
  // JSON.parse makes an own "__proto__" member; copied onto a null-prototype object it stays one.
  const o = Object.assign(Object.create(null) as Record<string, unknown>, JSON.parse('{"b":1,"a":"__proto__","__proto__":2}'))
  assert.is(canonicalJson(o), '{"__proto__":2,"a":"__proto__","b":1}')
})

/** JSON values as a parser produces them (well-formed strings, finite numbers). */
const json = fc.jsonValue({ maxDepth: 4 })

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffleKeys(v, seed + i))
  if (typeof value !== 'object' || value === null) return value
  const entries = Object.entries(value)
  // A deterministic permutation per seed: rotate and reverse.
  const rotated = entries.slice(seed % Math.max(1, entries.length)).concat(entries.slice(0, seed % Math.max(1, entries.length)))
  if (seed % 2 === 1) rotated.reverse()
  const out = Object.create(null) as Record<string, unknown>
  for (const [k, v] of rotated) out[k] = shuffleKeys(v, seed * 31 + 7)
  return out
}

test('property: member order does not matter', () => {
  fc.assert(
    fc.property(json, fc.nat(1000), (value, seed) => {
      assert.is(canonicalJson(shuffleKeys(value, seed)), canonicalJson(value))
    }),
    { numRuns: 500 },
  )
})

test('property: canonical text parses back to an equal value and is a fixed point', () => {
  fc.assert(
    fc.property(json, (value) => {
      const text = canonicalJson(value)
      // -0 is the one value JSON cannot carry; it canonicalises to 0.
      assert.equal(JSON.parse(text), JSON.parse(JSON.stringify(value)))
      assert.is(canonicalJson(JSON.parse(text)), text)
    }),
    { numRuns: 500 },
  )
})

test('property: stable under JSON round trips with whitespace and any member order', () => {
  fc.assert(
    fc.property(json, fc.nat(1000), (value, seed) => {
      const pretty = JSON.stringify(shuffleKeys(value, seed), null, 2)
      assert.is(canonicalJson(JSON.parse(pretty)), canonicalJson(value))
    }),
    { numRuns: 300 },
  )
})

test('property: numbers are ECMAScript Number#toString (the RFC 8785 algorithm), -0 as 0', () => {
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
      const text = canonicalJson(n)
      assert.is(text, Object.is(n, -0) ? '0' : String(n))
      assert.ok(Object.is(Number(text), n === 0 ? 0 : n))
    }),
    { numRuns: 2000 },
  )
})

test('property: strings canonicalise to JSON that decodes to the same string; no raw control characters', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), (s) => {
      const text = canonicalJson(s)
      assert.is(JSON.parse(text), s)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the property is about control characters
      assert.not.match(text, /[\u0000-\u001f]/)
      // Nothing but control characters, quote and backslash is escaped.
      assert.is(text.length - 2 >= s.length, true)
    }),
    { numRuns: 1000 },
  )
})

test.run()
