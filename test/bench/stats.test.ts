import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { interleave, newSamples, summarize } from '../../bench/lib/stats.js'

test('flatness by CPU: per-op CPU time of the blocks in each tenth, last ÷ first', () => {
  const s = newSamples()
  // 20 blocks of 10 ops: CPU per op 10 µs in the first half of the run, then 30 µs.
  for (let k = 0; k < 20; k++) {
    s.blockOps.push(10)
    s.blockCpuUs.push(k < 10 ? 100 : 300)
    s.blockGcNs.push(k === 19 ? 5e6 : 0)
    s.blockNs.push(1e6)
    for (let i = 0; i < 10; i++) s.latencies.push(1e5)
  }
  const r = summarize(s)
  assert.equal(r.tenthsCpuUs, [10, 10, 10, 10, 10, 30, 30, 30, 30, 30])
  assert.is(r.flatnessCpu, 3)
  assert.is(r.tenthsGcMs[9], 0.25) // 5 ms over the 20 ops of the last tenth
  assert.is(r.flatness, 1)
})

test('flatness by CPU is NaN without per-block figures for every op (fewer than 10 blocks, or samples from worker processes)', () => {
  const s = newSamples()
  for (let i = 0; i < 100; i++) s.latencies.push(1e5)
  s.blockNs.push(1e7)
  assert.ok(Number.isNaN(summarize(s).flatnessCpu))
  assert.equal(summarize(s).tenthsCpuUs, [])
})

test('interleave records ops, CPU and GC time per block, and GC pauses land in the block they hit', async () => {
  const a = newSamples()
  const b = newSamples()
  let junk: unknown[] = []
  const alloc = async () => {
    // Enough short-lived garbage for a scavenge or two.
    for (let i = 0; i < 2000; i++) junk.push({ i, s: `x${i}` })
    if (junk.length > 100_000) junk = []
  }
  await interleave(
    [
      { samples: a, op: alloc },
      { samples: b, op: async () => {} },
    ],
    { indices: Array.from({ length: 200 }, (_, i) => i), block: 10 },
  )
  assert.equal(a.blockOps, Array(20).fill(10))
  assert.is(a.blockCpuUs.length, 20)
  assert.is(b.blockGcNs.length, 20)
  const gcA = a.blockGcNs.reduce((x, y) => x + y, 0)
  const wallA = a.blockNs.reduce((x, y) => x + y, 0)
  assert.ok(gcA > 0, 'the allocating side saw GC pauses')
  assert.ok(gcA <= wallA, 'GC time within a block never exceeds its wall time')
})

test.run()
