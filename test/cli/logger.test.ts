// The server logger: JSON lines on a file descriptor, buffered (one write carries many lines) but
// never held longer than the periodic flush; redaction on every line that may carry an error or
// caller-given fields, and request lines (fixed fields) written without that pass.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLogger } from '../../src/cli/logger.js'

function withLogFile(run: (fd: number, read: () => Record<string, unknown>[]) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'appr-logger-'))
    const file = join(dir, 'log')
    const fd = openSync(file, 'w')
    try {
      await run(fd, () =>
        readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      )
    } finally {
      closeSync(fd)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

test(
  'a line reaches the file within the periodic flush, without a shutdown',
  withLogFile(async (fd, read) => {
    const { requestLogger } = createLogger('info', fd)
    requestLogger.info({ requestId: 'r1', status: 200 }, 'request')
    for (let waited = 0; read().length === 0 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50))
    assert.equal(
      read().map((l) => [l.level, l.msg, l.requestId]),
      [['info', 'request', 'r1']],
    )
  }),
)

test(
  'flush writes out what is buffered; error lines and the general logger redact secret-named fields',
  withLogFile(async (fd, read) => {
    const { logger, requestLogger, flush } = createLogger('info', fd)
    logger.info({ token: 'T0P', nested: { password: 'P4SS' }, req: { headers: { authorization: 'Bearer X' } } }, 'general')
    requestLogger.error({ requestId: 'r2', err: { message: 'boom', token: 'T0P' } }, 'request')
    requestLogger.warn({ requestId: 'r3' }, 'request')
    flush()
    const lines = read()
    assert.equal(
      lines.map((l) => l.msg),
      ['general', 'request', 'request'],
    )
    const text = JSON.stringify(lines)
    for (const secret of ['T0P', 'P4SS', 'Bearer X']) assert.not.ok(text.includes(secret), `${secret} is not written`)
    assert.is(lines[1]!.level, 'error')
    assert.is(lines[2]!.level, 'warn')
  }),
)

test(
  'below the level nothing is written',
  withLogFile(async (fd, read) => {
    const { requestLogger, flush } = createLogger('warn', fd)
    requestLogger.info({ requestId: 'r4' }, 'request')
    requestLogger.warn({ requestId: 'r5' }, 'request')
    flush()
    assert.equal(
      read().map((l) => l.requestId),
      ['r5'],
    )
  }),
)

test.run()
