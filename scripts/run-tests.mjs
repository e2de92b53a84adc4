#!/usr/bin/env node
// Runs every test/**/*.test.ts file in its own Node process (uvu + tsx, with the `source`
// export condition so `appr-core/...` imports resolve to src/), two at a time, and ends with
// the line CI reads: `N passed, N failed, N skipped`.
//
// Usage: node scripts/run-tests.mjs [path-filter …]
//   TEST_CONCURRENCY=n   files run at once (default 2)
//   TEST_TIMEOUT_S=n     per-file time limit (default 600: a hung file fails instead of eating the CI budget)
//   TEST_ROOT=dir        the directory searched for *.test.ts (default test; the runner's own tests use a fixture dir)
//
// A `SKIPPED SUITE: <name> — needs <what>` line whose needs are only capabilities of the
// adapter under test (`capabilities.…`, a conformance option such as `worker` or `newLocation`) is reported as "not
// applicable to this adapter"; any other SKIPPED SUITE line (a server or tool missing) as
// "skipped", and counted in the last line.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const filters = process.argv.slice(2)
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2)
const timeoutMs = Number(process.env.TEST_TIMEOUT_S ?? 600) * 1000

function walk(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...walk(path))
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const files = walk(join(root, process.env.TEST_ROOT ?? 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort()

// Registers test/helpers/uvu-readable-errors.mjs in each test process (an escaping ApprError is shown, not dropped).
const readableErrors = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(new URL('../test/helpers/uvu-readable-errors.mjs', import.meta.url).href)})`

/** True when every need of a SKIPPED SUITE line is a capability of the adapter (nothing to install). */
const notApplicable = (line) => {
  // Each need may carry a parenthesised explanation, which can itself say "and": drop those first.
  const needs = /— needs (.*)$/.exec(line)?.[1]?.replace(/\s*\([^)]*\)/g, '').split(' and ')
  // Conformance needs are capabilities or options of the run (`the worker option`, `the newLocation option`, `the close option`).
  return needs?.every((need) => need.startsWith('capabilities.') || /^the \w+ option\b/.test(need)) ?? false
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strip ANSI colours
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '')

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '--import', readableErrors, file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const timer = setTimeout(() => {
      output += `\n[run-tests] ${file} exceeded ${timeoutMs / 1000}s and was killed\n`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const text = strip(output)
      const num = (label) => {
        const matches = [...text.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))]
        return matches.length ? matches.reduce((sum, m) => sum + Number(m[1]), 0) : undefined
      }
      const total = num('Total')
      const passedCount = num('Passed') ?? 0
      const skipped = num('Skipped') ?? 0
      let failed = total === undefined ? 0 : total - passedCount
      if ((code !== 0 || signal) && failed <= 0) failed = 1
      const skips = [...text.matchAll(/^SKIPPED SUITE: (.*)$/gm)].map((m) => m[1])
      resolve({ file, code, signal, text, passed: passedCount, failed, skipped, skips, ms: Date.now() - started })
    })
  })
}

const results = []
let next = 0
async function worker() {
  while (next < files.length) {
    const file = files[next++]
    const r = await runFile(file)
    results.push(r)
    const status = r.failed > 0 ? 'FAIL' : 'ok  '
    process.stdout.write(`${status} ${file}  (${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped, ${(r.ms / 1000).toFixed(1)}s)\n`)
    if (r.failed > 0 || process.env.TEST_VERBOSE) process.stdout.write(`${r.text.trimEnd().split('\n').map((l) => `    ${l}`).join('\n')}\n`)
  }
}
await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker))

const sum = (k) => results.reduce((s, r) => s + r[k], 0)
const allSkips = [...new Set(results.flatMap((r) => r.skips))]
const inapplicable = allSkips.filter(notApplicable)
const skips = allSkips.filter((s) => !notApplicable(s))
if (inapplicable.length) {
  console.log('\nNot applicable to this adapter (capability-gated; nothing is missing):')
  for (const s of inapplicable) console.log(`  - ${s}`)
}
if (skips.length) {
  console.log('\nSkipped: server missing (the tests did not run):')
  for (const s of skips) console.log(`  - ${s}`)
}
if (files.length === 0) console.log('no test files matched')
const failed = sum('failed')
if (inapplicable.length) console.log(`\n${inapplicable.length} not applicable to their adapter`)
// A skipped suite counts as one skipped test: its tests were never registered.
console.log(`${inapplicable.length ? '' : '\n'}${sum('passed')} passed, ${failed} failed, ${sum('skipped') + skips.length} skipped`)
process.exit(failed > 0 || files.length === 0 ? 1 : 0)
