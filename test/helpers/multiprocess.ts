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
