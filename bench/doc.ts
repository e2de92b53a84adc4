/**
 * Rewrites the results section of docs/performance.md from one or more result files (runs of
 * different sections or backends, e.g. a long --full run and a --gib run).
 *
 *   node --conditions=source --import tsx bench/doc.ts bench/results/a.json bench/results/b.json
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Results, writeDoc } from './lib/report.js'

const files = process.argv.slice(2)
if (files.length === 0) {
  console.error('usage: bench/doc.ts <results.json> …')
  process.exit(2)
}
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Results)
writeDoc(join(new URL('..', import.meta.url).pathname, 'docs/performance.md'), runs)
console.log(`docs/performance.md: ${runs.length} run(s)`)
