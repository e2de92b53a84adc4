import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { compareKeys } from 'appr-core'
import { sortedKeys } from '../../adapters/memory/sorted-keys.js'

// Keys from a small alphabet (with an astral character) so inserts, deletes and duplicates collide,
// and enough of them that chunks split and empty out.
const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\uFF5E', '\u{1F600}'), minLength: 1, maxLength: 6 })

test('property: inserts, removes and scans agree with a plain sorted array', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), keyArb), { minLength: 1, maxLength: 3000 }), keyArb, fc.boolean(), (ops, from, exclusive) => {
      const set = sortedKeys()
      const present = new Set<string>()
      for (const [add, key] of ops) {
        if (add && !present.has(key)) {
          set.insert(key)
          present.add(key)
        } else if (!add && present.has(key)) {
          set.remove(key)
          present.delete(key)
        }
      }
      const expected = [...present].sort(compareKeys).filter((k) => (exclusive ? compareKeys(k, from) > 0 : compareKeys(k, from) >= 0))
      assert.equal([...set.scan(from, exclusive)], expected)
    }),
    { numRuns: 60 },
  )
})

test('property: a set of narrow keys (no unit ≥ 0xD800) scans right from any probe, and after its wide keys leave', () => {
  const narrow = fc.string({ unit: fc.constantFrom('a', 'b', '\u00e9', '\u4e00'), minLength: 1, maxLength: 5 })
  fc.assert(
    fc.property(fc.array(narrow, { maxLength: 1500 }), fc.array(keyArb, { maxLength: 20 }), keyArb, fc.boolean(), (keys, wide, from, exclusive) => {
      const set = sortedKeys()
      const present = [...new Set(keys)]
      const extra = [...new Set(wide)].filter((k) => !present.includes(k))
      for (const k of [...present, ...extra]) set.insert(k)
      for (const k of extra) set.remove(k)
      const expected = present.sort(compareKeys).filter((k) => (exclusive ? compareKeys(k, from) > 0 : compareKeys(k, from) >= 0))
      assert.equal([...set.scan(from, exclusive)], expected)
    }),
    { numRuns: 60 },
  )
})

test('many keys: chunks split and merge away without losing order', () => {
  const set = sortedKeys()
  const all = Array.from({ length: 5000 }, (_, i) => `k/${String((i * 7919) % 5000).padStart(5, '0')}`)
  for (const k of all) set.insert(k)
  for (const k of all.filter((_, i) => i % 3 === 0)) set.remove(k)
  const left = all.filter((_, i) => i % 3 !== 0).sort(compareKeys)
  assert.equal([...set.scan('', false)], left)
  assert.equal([...set.scan(left[100]!, true)][0], left[101])
})

test.run()
