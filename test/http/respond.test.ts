/** Streaming base64: chunked output equals encoding the concatenation, whatever the chunking. */
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { base64Chunks, base64Length } from '../../src/http/respond.js'

test('property: base64Chunks equals base64 of the whole, and base64Length its length', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 }), async (chunks) => {
      async function* source() {
        yield* chunks
      }
      const parts: Uint8Array[] = []
      for await (const part of base64Chunks(source())) parts.push(part)
      const whole = Buffer.concat(chunks)
      assert.is(Buffer.concat(parts).toString('latin1'), whole.toString('base64'))
      assert.is(base64Length(whole.length), whole.toString('base64').length)
    }),
    { numRuns: 1000 },
  )
})

test.run()
