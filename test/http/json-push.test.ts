/** The streaming push-body scanner agrees with JSON.parse + base64 decoding, whatever the chunking. */
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError } from 'appr-core'
import { scanPushBody } from '../../src/http/appr/json-push.js'

async function* chunked(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let at = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    const end = Math.min(bytes.length, cut)
    if (end > at) yield bytes.subarray(at, end)
    at = Math.max(at, end)
  }
  if (at < bytes.length) yield bytes.subarray(at)
}

const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)))

test('property: any object with a base64 blob, any member order and chunking', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 300 }),
      fc.dictionary(fc.string().filter((k) => k !== 'blob'), fc.jsonValue(), { maxKeys: 5 }),
      fc.nat(6),
      fc.array(fc.nat(2000), { maxLength: 8 }),
      fc.boolean(),
      fc.constantFrom('', ' ', '\n  '),
      async (blob, others, position, cuts, escapeSlash, space) => {
        const entries = Object.entries(others)
        const at = Math.min(position, entries.length)
        const b64 = Buffer.from(blob).toString('base64')
        const blobJson = escapeSlash ? JSON.stringify(b64).replaceAll('/', '\\/') : JSON.stringify(b64)
        const members = entries.map(([k, v]) => `${JSON.stringify(k)}:${space}${JSON.stringify(v)}`)
        members.splice(at, 0, `"blob":${space}${blobJson}`)
        const text = `${space}{${space}${members.join(`,${space}`)}${space}}${space}`
        const scanned = await scanPushBody(chunked(new TextEncoder().encode(text), cuts))
        const expected = JSON.parse(text) as Record<string, unknown>
        delete expected.blob
        assert.equal(scanned.fields, expected)
        assert.equal(new Uint8Array(concat(scanned.blob!)), blob)
        assert.is(scanned.blobSize, blob.length)
      },
    ),
    { numRuns: 300 },
  )
})

test('property: arbitrary text either parses like JSON.parse or is a 4xx ApprError', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ blob: 'QUJD', x: v }))), fc.array(fc.nat(200), { maxLength: 4 }), async (text, cuts) => {
      let expected: unknown
      let valid = true
      try {
        expected = JSON.parse(text)
      } catch {
        valid = false
      }
      try {
        const scanned = await scanPushBody(chunked(new TextEncoder().encode(text), cuts))
        assert.ok(valid && typeof expected === 'object' && expected !== null && !Array.isArray(expected), `accepted ${text}`)
        const e = expected as Record<string, unknown>
        if (typeof e.blob === 'string') {
          assert.equal(concat(scanned.blob!), Buffer.from(e.blob, 'base64'))
          delete e.blob
        }
        assert.equal(scanned.fields, e)
      } catch (error) {
        if (!isApprError(error)) throw error
        assert.ok(error.status >= 400 && error.status < 500)
      }
    }),
    { numRuns: 500 },
  )
})

test('rejections: empty, non-object, bad base64, padding in the middle, trailing data, bad escapes', async () => {
  const scan = (text: string) => scanPushBody(chunked(new TextEncoder().encode(text), []))
  const cases: [string, string][] = [
    ['', 'invalid-usage'],
    ['   ', 'invalid-usage'],
    ['[1]', 'invalid-usage'],
    ['null', 'invalid-usage'],
    ['{"blob": "QUJD"', 'invalid-usage'],
    ['{"blob": "QUJD"} x', 'invalid-usage'],
    ['{"a": tru}', 'invalid-usage'],
    ['{"a" 1}', 'invalid-usage'],
    ['{"blob": "QU JD!"}', 'invalid-parameters'],
    ['{"blob": "QQ==QUJD"}', 'invalid-parameters'],
    ['{"blob": "QUJDR"}', 'invalid-parameters'],
    ['{"blob": "QUJ\\tD"}', 'invalid-parameters'],
    ['{"blob": "QUJD", "blob": "QUJD"}', 'invalid-usage'],
  ]
  for (const [text, code] of cases) {
    try {
      await scan(text)
      assert.unreachable(text)
    } catch (e) {
      assert.ok(isApprError(e, code as never), `${text}: ${String(e)}`)
    }
  }
  // Wrapped base64 ("\n" escapes) and unpadded base64 are accepted.
  const ok = await scan('{"blob": "QUJD\\nREVG\\nRw", "release": "1.0.0"}')
  assert.is(concat(ok.blob!).toString(), 'ABCDEFG')
  const proto = await scan('{"__proto__": {"polluted": true}, "blob": ""}')
  assert.is(({} as { polluted?: boolean }).polluted, undefined)
  assert.equal(Object.keys(proto.fields), ['__proto__'])
})

test.run()
