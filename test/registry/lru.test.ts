// LruMap (src/registry/lru.ts) against a plain model: the same entries, evicted in the same
// order, whatever mix of set, touch, delete-by-eviction and iterator exhaustion happens.
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { LruMap } from '../../src/registry/lru.js'

test('evicts the least recently set (or touched) entry, like a model', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.tuple(fc.constantFrom('set', 'get', 'touch', 'evict'), fc.integer({ min: 0, max: 7 })), { maxLength: 200 }),
      (max, steps) => {
        const lru = new LruMap<number, string>(max)
        const model: [number, string][] = [] // oldest first
        steps.forEach(([op, key], n) => {
          const at = model.findIndex(([k]) => k === key)
          if (op === 'set') {
            lru.set(key, `v${n}`)
            if (at >= 0) model.splice(at, 1)
            model.push([key, `v${n}`])
            while (model.length > max) model.shift()
          } else if (op === 'get' || op === 'touch') {
            assert.is(lru.get(key, op === 'touch'), at >= 0 ? model[at]![1] : undefined)
            if (op === 'touch' && at >= 0) model.push(model.splice(at, 1)[0]!)
          } else {
            assert.equal(lru.evictOldest(), model.shift())
          }
          assert.is(lru.size, model.length)
        })
      },
    ),
    { numRuns: 300 },
  )
})

test('a cache of size 0 keeps nothing', () => {
  const lru = new LruMap<string, number>(0)
  lru.set('a', 1)
  assert.is(lru.size, 0)
  assert.is(lru.evictOldest(), undefined)
})

test.run()
