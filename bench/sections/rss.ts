/**
 * Peak RSS while pushing and pulling one large blob on a level store, registry beside raw
 * LevelDB, each in a fresh process running compiled JavaScript (bench/rss-worker.ts).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = new URL('../..', import.meta.url).pathname

export interface RssResult {
  readonly mode: 'registry' | 'registry-files' | 'raw'
  readonly tarBytes: number
  /** RSS after imports and opening the store, before the push. */
  readonly baseline?: number
  /** Peak RSS of the whole process (kernel high-water mark), after the push and at the end. */
  readonly pushPeak?: number
  readonly peak?: number
  /** Peak anonymous RSS (heap and buffers, without LevelDB's mmapped table files), sampled every 5 ms. */
  readonly anonPeak?: number
  readonly pushMs?: number
  readonly pullMs?: number
  /** gzip bytes pulled. */
  readonly bytes?: number
  readonly error?: string
}

export async function rssSection(tarBytes: number, dir: string | undefined, log: (line: string) => void): Promise<RssResult[]> {
  // Compile the worker and what it imports, so the measurement is not inflated by tsx.
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'bench/tsconfig.worker.json')], { cwd: root })
  const worker = join(root, '.tmp/bench-build/bench/rss-worker.js')
  const results: RssResult[] = []
  for (const mode of ['registry', 'registry-files', 'raw'] as const) {
    const path = mkdtempSync(join(dir ?? tmpdir(), `appr-bench-rss-${mode}-`))
    try {
      const { stdout } = await run(process.execPath, [worker, mode, String(tarBytes), path], { cwd: root, maxBuffer: 1 << 20 })
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as RssResult
      results.push(result)
      const mib = (n: number | undefined) => (n === undefined ? '?' : (n / 2 ** 20).toFixed(0))
      log(
        result.error
          ? `rss ${mode}: ${result.error}`
          : `rss ${mode}: peak ${mib(result.peak)} MiB (anon ${mib(result.anonPeak)} MiB, baseline ${mib(result.baseline)} MiB), push ${result.pushMs?.toFixed(0)} ms, pull ${result.pullMs?.toFixed(0)} ms`,
      )
    } catch (e) {
      results.push({ mode, tarBytes, error: e instanceof Error ? e.message : String(e) })
    } finally {
      rmSync(path, { recursive: true, force: true })
    }
  }
  return results
}
