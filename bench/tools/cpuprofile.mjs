#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the top functions by self time, or by
// inclusive time (every function on the stack of a sample) with --inclusive.
//
//   node bench/tools/cpuprofile.mjs <file.cpuprofile> [--inclusive] [--top 30] [--filter src/]
//
// tsx compiles each module to one line, so locations are `file:column`; map a column back with
// esbuild's transform of the same file (minifyWhitespace) if needed.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { inclusive: { type: 'boolean' }, top: { type: 'string' }, filter: { type: 'string' } },
})
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const name = (id) => {
  const f = byId.get(id).callFrame
  const where = f.url.replace(/^file:\/\//, '').replace(/^.*?\/(src|adapters|bench|node_modules)\//, '$1/')
  return `${f.functionName || '(anonymous)'} ${where}${where ? `:${f.lineNumber + 1}:${f.columnNumber}` : ''}`
}
const totals = new Map()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0
  total += dt
  const seen = new Set()
  for (let id = profile.samples[i]; id !== undefined; id = values.inclusive ? parent.get(id) : undefined) {
    const key = name(id)
    if (seen.has(key)) continue
    seen.add(key)
    totals.set(key, (totals.get(key) ?? 0) + dt)
  }
}
const rows = [...totals].filter(([k]) => !values.filter || k.includes(values.filter)).sort((a, b) => b[1] - a[1])
for (const [key, t] of rows.slice(0, Number(values.top ?? 30))) console.log(`${((t / total) * 100).toFixed(1).padStart(5)}%  ${key}`)
