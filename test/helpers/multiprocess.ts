/** Runs several {@link ./cas-worker.ts} processes at once and collects their reports. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface WorkerReport {
  commits: number
  conflicts: number
  ms: number
}

const worker = fileURLToPath(new URL('./cas-worker.ts', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Starts `processes` workers with `config` (each gets its own `id`; all begin together once
 * every process has loaded, `startDelayMs` after the call) and waits for all.
 */
export async function runWorkers(config: Record<string, unknown>, processes: number, startDelayMs = 4000): Promise<{ reports: WorkerReport[]; wallMs: number }> {
  const started = performance.now()
  const startAt = Date.now() + startDelayMs
  const reports = await Promise.all(Array.from({ length: processes }, (_, id) => runScript<WorkerReport>(worker, { ...config, id, startAt })))
  return { reports, wallMs: performance.now() - started }
}

/**
 * The lost-update check of a KvStore shared by processes: 4 workers meet at a barrier in the store,
 * then each makes `count` compare-and-set increments of one counter; the counter must end at
 * exactly 4 × count. It repeats with twice the count (up to three rounds, each asserting the total)
 * until the workers really collided, so the check cannot pass without contention.
 */
export async function assertNoLostUpdates(config: Record<string, unknown>, read: (prefix: string) => Promise<number>): Promise<void> {
  const processes = 4
  let conflicts = 0
  for (let round = 0, count = 40; round < 3 && conflicts === 0; round++, count *= 2) {
    const prefix = `mp-counter-${round}/`
    const { reports } = await runWorkers({ ...config, prefix, count, mode: 'counter', barrier: processes }, processes, 0)
    const total = await read(prefix)
    if (total !== processes * count) throw new Error(`${processes} processes × ${count} increments left the counter at ${total}: updates were lost`)
    conflicts = reports.reduce((s, r) => s + r.conflicts, 0)
  }
  if (conflicts === 0) throw new Error('the writers never contended in three rounds: the test proved nothing')
}

/** Runs `script` (TypeScript, through tsx) with `config` as its JSON argument; resolves with its last stdout line, parsed. */
export function runScript<T>(script: string, config: Record<string, unknown>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, JSON.stringify(config)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited ${code}: ${err.slice(-2000)}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as T)
      } catch (e) {
        reject(new Error(`${script} printed no report: ${out} ${err}`, { cause: e }))
      }
    })
  })
}
