/**
 * Commits and pushes per second on throwaway redis-server and etcd, with 1 and with 4 writer
 * processes, side by side in one run. A commit is a create-if-absent of a fresh key (one check,
 * one put), the shape of a registry write without contention; a push is Registry.push of a small
 * chart to the process's own package.
 *
 *   node --conditions=source --import tsx bench/adapters.ts [commitsPerProcess=1000] [pushesPerProcess=100]
 */
import { runWorkers } from '../test/helpers/multiprocess.js'
import { startEtcd, startRedis } from '../test/helpers/servers.js'

const count = Number(process.argv[2] ?? 1000)
const pushes = Number(process.argv[3] ?? 100)
const rows: string[] = []
const measure = async (label: string, config: Record<string, unknown>) => {
  for (const [mode, n, unit] of [['independent', count, 'commits'], ['push', pushes, 'pushes']] as const) {
    for (const processes of [1, 4]) {
      const prefix = `bench-${mode}-${processes}${config.adapter === 'etcd' ? '/' : ''}`
      const { reports } = await runWorkers({ ...config, prefix, count: n, mode }, processes)
      // throughput over the span in which all processes ran: total / slowest process
      const slowest = Math.max(...reports.map((r) => r.ms))
      const total = reports.reduce((s, r) => s + r.commits, 0)
      rows.push(`${label.padEnd(6)} ${String(processes).padStart(2)} process(es)  ${String(total).padStart(6)} ${unit.padEnd(7)} ${(total / (slowest / 1000)).toFixed(0).padStart(6)} ${unit}/s`)
    }
  }
}

const redis = await startRedis({ suite: 'bench redis' })
if (redis) {
  await measure('redis', { adapter: 'redis', url: redis.url })
  await redis.stop()
}
const etcd = await startEtcd({ suite: 'bench etcd' })
if (etcd) {
  await measure('etcd', { adapter: 'etcd', hosts: etcd.endpoints })
  await etcd.stop()
}
console.log(rows.join('\n'))
