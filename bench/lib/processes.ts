/**
 * The multi-process phase: several client processes (bench/proc-worker.ts) hitting one server
 * at once, started together once all are connected and prepared.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { WorkerJob, WorkerMessage } from '../proc-worker.js'
import type { Samples } from './stats.js'

const worker = fileURLToPath(new URL('../proc-worker.ts', import.meta.url))

/** Runs `jobs` (one per process) together; adds their latencies and the wall time to `samples`. */
export async function runProcesses(jobs: readonly WorkerJob[], samples: Samples): Promise<void> {
  if (samples.error !== undefined) return
  const children = jobs.map(() => fork(worker, [], { execArgv: process.execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  const message = (child: (typeof children)[number], type: WorkerMessage['type']) =>
    new Promise<WorkerMessage>((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if (m.type !== type) return
        child.off('message', onMessage)
        child.off('exit', onExit)
        resolve(m)
      }
      const onExit = (code: number | null) => reject(new Error(`bench worker exited (${code}) before "${type}"`))
      child.on('message', onMessage)
      child.once('exit', onExit)
    })
  try {
    const ready = children.map((child) => message(child, 'ready'))
    for (const [k, child] of children.entries()) child.send(jobs[k]!)
    await Promise.all(ready)
    const done = children.map((child) => message(child, 'done'))
    const started = process.hrtime.bigint()
    for (const child of children) child.send('go')
    const results = await Promise.all(done)
    const wall = Number(process.hrtime.bigint() - started)
    samples.wallNs += wall
    samples.blockNs.push(wall)
    for (const r of results) {
      if (r.type !== 'done') continue
      if (r.error !== undefined) samples.error ??= r.error
      samples.latencies.push(...r.latencies)
      samples.cpuUs += r.cpuUs
    }
  } catch (e) {
    samples.error ??= e instanceof Error ? e.message : String(e)
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill()
  }
}
