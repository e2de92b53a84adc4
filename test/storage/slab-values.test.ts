import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { SlabValues } from '../../adapters/memory/slab-values.js'

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

test('property: adds, rewrites and frees agree with a plain map, through compactions', () => {
  // Slabs of 256 bytes, so that slabs fill, close and compact all the time; values above 64 bytes get their own.
  const size = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 64 }), weight: 4 }, { arbitrary: fc.integer({ min: 65, max: 300 }), weight: 1 })
  const op = fc.tuple(fc.constantFrom('add', 'set', 'set', 'free'), fc.nat(), size)
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 400 }), (ops) => {
      const values = new SlabValues(256)
      const model = new Map<number, { value: Uint8Array; version: number }>()
      let version = 0
      for (const [kind, pick, n] of ops) {
        const live = [...model.keys()]
        const value = bytes(n, ++version)
        if (kind === 'add' || live.length === 0) {
          model.set(values.add(value, version), { value, version })
        } else {
          const slot = live[pick % live.length]!
          if (kind === 'set') {
            values.set(slot, value, version)
            model.set(slot, { value, version })
          } else {
            values.free(slot)
            model.delete(slot)
          }
        }
        value.fill(0) // the store kept a copy, not this array
      }
      for (const [slot, { value, version }] of model) {
        const expected = bytes(value.byteLength, version)
        assert.equal(values.read(slot), expected)
        assert.is(values.version(slot), version)
      }
    }),
    { numRuns: 200 },
  )
})

test('a value rewritten inside the slab it was in survives the compaction of that slab', () => {
  const values = new SlabValues(160) // four 40-byte values per slab
  const a = values.add(bytes(40, 1), 1)
  const b = values.add(bytes(40, 2), 2)
  values.set(a, bytes(40, 3), 3) // the slab now holds a stale copy of a before the live one
  const c = values.add(bytes(40, 4), 4)
  values.add(bytes(40, 5), 5) // closes the first slab (3 of 4 live)
  values.free(b)
  values.free(c) // 1 of 4 live: compacted
  assert.equal(values.read(a), bytes(40, 3))
  assert.is(values.version(a), 3)
})

test('reads are copies: writing to one changes neither the store nor the next read', () => {
  const values = new SlabValues()
  const slot = values.add(bytes(100, 1), 1)
  const first = values.read(slot)
  first.fill(7)
  assert.equal(values.read(slot), bytes(100, 1))
  assert.is.not(values.read(slot).buffer, values.read(slot).buffer)
})

test('space of rewritten values is reclaimed: slabs stay bounded by the live data', () => {
  const values = new SlabValues()
  const slots = Array.from({ length: 100 }, (_, i) => values.add(bytes(1000, i), i))
  // 20,000 rewrites of 1 KB = ~20 MiB written through 100 KB of live data.
  for (let round = 0; round < 200; round++) for (const [i, slot] of slots.entries()) values.set(slot, bytes(1000, round + i), round)
  assert.ok(values.slabCount <= 3, `${values.slabCount} slabs for 100 KB of live values`)
  for (const [i, slot] of slots.entries()) assert.equal(values.read(slot), bytes(1000, 199 + i))
  for (const slot of slots) values.free(slot)
  assert.ok(values.slabCount <= 2, `${values.slabCount} slabs with nothing stored`)
})

test.run()
