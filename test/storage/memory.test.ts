import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { memoryStore } from 'appr-core/adapters/memory'
import { isApprError } from 'appr-core'

const bytes = (s: string) => new TextEncoder().encode(s)

test('lists by UTF-8 byte order, not UTF-16', async () => {
  const store = memoryStore()
  // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F600 (4 bytes, F0 …) in UTF-8, after it in UTF-16.
  await store.commit({ puts: [{ key: 'k/\u{1F600}', value: bytes('a') }, { key: 'k/\uFF5E', value: bytes('b') }] })
  const keys = (await store.list({ prefix: 'k/' })).map((e) => e.key)
  assert.equal(keys, ['k/\uFF5E', 'k/\u{1F600}'])
})

test('a failed check applies nothing', async () => {
  const store = memoryStore()
  const r = await store.commit({ checks: [{ key: 'x', version: '1' }], puts: [{ key: 'y', value: bytes('v') }] })
  assert.equal(r.ok, false)
  assert.is(await store.get('y'), undefined)
})

test('closed store rejects with unavailable', async () => {
  const store = memoryStore()
  await store.close()
  try {
    await store.get('a')
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'unavailable'))
  }
})

test.run()
