/**
 * The test tooling itself: scripts/run-tests.mjs shows an escaping ApprError (uvu's reporter
 * dropped it), reports capability-gated suites as not applicable apart from missing servers,
 * neither .ci/run nor a test helper stops processes by name, and lint is clean (issue 12, defect 8).
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const root = fileURLToPath(new URL('../..', import.meta.url))

test('run-tests: an escaping ApprError is shown; not applicable apart from skipped', () => {
  const run = spawnSync(process.execPath, ['scripts/run-tests.mjs'], {
    cwd: root,
    env: { ...process.env, TEST_ROOT: 'test/tooling/fixtures', TEST_CONCURRENCY: '2' },
    encoding: 'utf8',
  })
  const out = run.stdout
  assert.is(run.status, 1, out)
  assert.match(out, 'FAIL test/tooling/fixtures/escaping-apprerror.test.ts')
  assert.match(out, 'no such package: acme/fixture')
  assert.match(out, 'code: package-not-found, details: {"package":"acme/fixture"}')
  const applicable = out.indexOf('Not applicable to this adapter')
  const missing = out.indexOf('Skipped: server missing')
  assert.ok(applicable >= 0 && missing > applicable, out)
  assert.match(out.slice(applicable, missing), '- fixture durability — needs capabilities.persistent')
  assert.match(out.slice(applicable, missing), '- fixture concurrency/processes — needs capabilities.multiProcess and the worker option')
  assert.not.match(out.slice(applicable, missing), 'redis')
  assert.match(out.slice(missing), '- fixture redis — install redis-server')
  // The last line CI reads: only the missing server counts as skipped.
  assert.match(out.trimEnd().split('\n').at(-1)!, /^1 passed, 1 failed, 1 skipped$/)
})

test('nothing stops processes by name (a developer\'s own redis-server or etcd would die)', () => {
  const files = ['.ci/run', 'scripts/run-tests.mjs', ...readdirSync(join(root, 'test/helpers')).map((f) => `test/helpers/${f}`)]
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8')
    // The pattern is spelled in pieces so that this guard does not itself match a grep for the words.
    assert.not.match(text, new RegExp(`\\b(${['p', 'kill'].join('')}|${['kill', 'all'].join('')})\\b`), `${file} stops processes by name`)
  }
})

test('npm run lint ends with 0 warnings and 0 errors', () => {
  const lint = spawnSync(join(root, 'node_modules/.bin/biome'), ['lint', 'src', 'adapters', 'test', 'bench', 'scripts'], { cwd: root, encoding: 'utf8' })
  const out = `${lint.stdout}${lint.stderr}`
  assert.is(lint.status, 0, out)
  assert.not.match(out, /Found \d+ (warning|error)/, out)
})

test.run()
