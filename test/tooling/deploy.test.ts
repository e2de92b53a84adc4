/**
 * deploy/appr-core.service: systemd accepts it (`systemd-analyze verify`, with no warning), and
 * it runs serve the way docs/deploy.md says (SIGTERM, a stop timeout longer than the drain time,
 * the store waited for). Skipped with a message where systemd-analyze is missing, outside CI.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { findBinary, skipOrFail } from '../helpers/servers.js'

const unit = readFileSync(new URL('../../deploy/appr-core.service', import.meta.url), 'utf8')
const setting = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1]

test('the unit runs serve with its config, stops by SIGTERM with time to drain, waits for its store', () => {
  assert.match(setting('ExecStart') ?? '', /^\/usr\/bin\/appr-core serve --config \/etc\/appr-core\/serve\.yaml$/)
  assert.is(setting('KillSignal'), 'SIGTERM')
  const stopSeconds = Number(/^(\d+)s$/.exec(setting('TimeoutStopSec') ?? '')?.[1])
  assert.ok(stopSeconds > 10, 'longer than the default --drain-timeout (10 s)')
  assert.match(unit, /^Environment=APPR_WAIT_FOR_STORE=\d+s$/m)
  assert.is(setting('StateDirectory'), 'appr-core')
})

test('systemd-analyze verify accepts the unit without a warning', () => {
  const analyze = findBinary('systemd-analyze')
  if (!analyze) return skipOrFail('systemd unit', 'systemd-analyze not found: deploy/appr-core.service was not verified')
  const dir = mkdtempSync(join(tmpdir(), 'appr-unit-'))
  try {
    // verify insists that ExecStart's program exists: point it at this node for the check.
    const file = join(dir, 'appr-core.service')
    writeFileSync(file, unit.replace('/usr/bin/appr-core', process.execPath))
    const run = spawnSync(analyze, ['verify', file], { encoding: 'utf8' })
    assert.is(run.status, 0, run.stderr)
    // Unknown or misspelt keys are only warnings (exit 0): none is allowed.
    assert.is(run.stderr.trim(), '', run.stderr)

    writeFileSync(file, unit.replace('/usr/bin/appr-core', process.execPath).replace('KillSignal=', 'KilSignal='))
    const misspelt = spawnSync(analyze, ['verify', file], { encoding: 'utf8' })
    assert.match(misspelt.stderr, "Unknown key 'KilSignal'", 'the check would see a broken unit')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
