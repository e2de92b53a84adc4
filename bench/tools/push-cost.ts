/**
 * CPU cost of one `Registry.push` on the memory store: rounds of pushes of distinct ~1 KB helm
 * charts (or kpm archives) to a fresh registry, the median ms per push printed. Run under
 * `node --cpu-prof` to see where a push goes.
 *
 *   node --conditions=source --import tsx bench/tools/push-cost.ts [--format helm|kpm] [--count 300] [--rounds 8] [--oci-name false]
 */
import { parseArgs } from 'node:util'
import { memoryStore } from '../../adapters/memory/index.js'
import { Registry } from '../../src/index.js'
import { chartBlob } from '../lib/tarball.js'

const { values } = parseArgs({ options: { format: { type: 'string', default: 'helm' }, count: { type: 'string', default: '300' }, rounds: { type: 'string', default: '8' }, 'oci-name': { type: 'string', default: 'true' } } })
const count = Number(values.count)
const rounds = Number(values.rounds)
// `bench/pkg-1-` is a valid appr name but not an OCI repository name (a trailing `-`): no OCI view.
const suffix = values['oci-name'] === 'false' ? '-' : ''
const times: number[] = []
// Round 0 warms the JIT up and is not counted.
for (let r = 0; r <= rounds; r++) {
  const registry = new Registry({ store: memoryStore() })
  const blobs = Array.from({ length: count }, (_, i) => chartBlob(r * count + i))
  // CPU time, not wall time: the machine is shared, and a push on the memory store never waits.
  const start = process.cpuUsage()
  for (let i = 0; i < count; i++) await registry.push({ package: `bench/pkg-${i}${suffix}`, release: '1.0.0', format: values.format, blob: blobs[i]! })
  const used = process.cpuUsage(start)
  if (r > 0) times.push((used.user + used.system) / 1000 / count)
  await registry.close()
}
times.sort((a, b) => a - b)
console.log(`${values.format}${suffix ? ' (no OCI view)' : ''}: median CPU ${times[Math.floor(times.length / 2)]!.toFixed(3)} ms/push (${times.map((t) => t.toFixed(2)).join(' ')})`)
