/**
 * serve's option table: precedence flag > env > file > default, validation naming the option and
 * its source, the config file's own errors, the docs table kept equal to the code, and a real
 * `serve` configured from a file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { markdownTable } from '../../src/cli/config/render.js'
import { ConfigError, resolveOptions } from '../../src/cli/config/resolve.js'
import { serveOptions } from '../../src/cli/config/serve-options.js'
import { runCli, startServe } from './serve-helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'appr-config-'))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

async function refusal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ConfigError> {
  try {
    await resolveOptions(serveOptions, args, env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error(`accepted ${JSON.stringify(args)} ${JSON.stringify(env)}`)
}

test('precedence: flag > env > file > default, per option, with sources', async () => {
  const config = file('serve.yaml', 'port: 7001\nstore: memory\nmax-body: 1000\nevents: true\nheader-timeout: 1.5\nsignature-policy: [a=push:x.pub]\n')
  const r = await resolveOptions(serveOptions, ['--config', config, '--port', '7003'], { APPR_PORT: '7002', APPR_MAX_BODY: '2000' })
  assert.is(r.values.port, 7003)
  assert.equal(r.sources.port, { kind: 'flag', name: 'port' })
  assert.is(r.values.maxBody, 2000)
  assert.equal(r.sources.maxBody, { kind: 'env', name: 'APPR_MAX_BODY' })
  assert.is(r.values.store, 'memory')
  assert.equal(r.sources.store, { kind: 'file', name: 'store', file: config })
  assert.is(r.values.events, true)
  assert.is(r.values.headerTimeout, 1500)
  assert.equal(r.values.signaturePolicy, ['a=push:x.pub'])
  assert.is(r.values.host, '127.0.0.1')
  assert.equal(r.sources.host, { kind: 'default' })
  assert.is(r.values.token, undefined)
  // The file named by APPR_CONFIG; --no-events beats the file's true; the old PORT still counts.
  const viaEnv = await resolveOptions(serveOptions, ['--no-events'], { APPR_CONFIG: config, PORT: '7004' })
  assert.is(viaEnv.values.events, false)
  assert.is(viaEnv.values.port, 7004)
  assert.is(viaEnv.values.store, 'memory')
  // APPR_PORT wins over the older PORT.
  assert.is((await resolveOptions(serveOptions, [], { APPR_PORT: '1', PORT: '2' })).values.port, 1)
  // Lists from the environment: one per `;` or line.
  assert.equal((await resolveOptions(serveOptions, [], { APPR_SIGNATURE_POLICY: 'a=push:x.pub; b=channel:y.pub\n' })).values.signaturePolicy, ['a=push:x.pub', 'b=channel:y.pub'])
})

test('a bad value names the option and where it came from', async () => {
  let e = await refusal(['--max-body', 'lots'])
  assert.is(e.key, 'max-body')
  assert.match(e.message, "invalid max-body from --max-body (flag) 'lots'")
  e = await refusal([], { APPR_PORT: '70000' })
  assert.is(e.key, 'port')
  assert.equal(e.source, { kind: 'env', name: 'APPR_PORT' })
  assert.match(e.message, 'APPR_PORT (env)')
  const config = file('bad.yaml', 'idle-timeout: -3\n')
  e = await refusal(['--config', config])
  assert.is(e.key, 'idle-timeout')
  assert.match(e.message, `${config}: idle-timeout (file)`)
  assert.match(e.message, 'a number of seconds')
  e = await refusal([], { APPR_EVENTS: 'maybe' })
  assert.match(e.message, 'expected true or false')
  e = await refusal(['--cors', '--no-cors'])
  assert.match(e.message, 'contradict')
  // A secret is never echoed.
  e = await refusal(['--token', '   '])
  assert.match(e.message, 'empty token')
  assert.not.match(e.message, "'   '")
  // The file's own mistakes.
  e = await refusal(['--config', file('typo.yaml', 'max_body: 1\n')])
  assert.match(e.message, "unknown option 'max_body'")
  e = await refusal(['--config', file('list.yaml', '- a\n')])
  assert.match(e.message, 'must be a mapping')
  e = await refusal(['--config', join(dir, 'absent.yaml')])
  assert.is(e.key, 'config')
  assert.match(e.message, 'cannot read config file')
  e = await refusal(['--nope'])
  assert.is(e.key, 'arguments')
})

// On a mismatch: node --conditions=source --import tsx scripts/render-serve-options.ts
test('docs/cli.md carries the option table exactly as the code declares it', () => {
  const docs = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8')
  const m = /<!-- serve-options:start -->\n([\s\S]*?)<!-- serve-options:end -->/.exec(docs)
  assert.ok(m, 'docs/cli.md has the serve-options markers')
  assert.fixture(m[1]!, `${markdownTable(serveOptions)}\n`)
  // Every option is documented under its flag, variable and file key.
  for (const spec of Object.values(serveOptions)) assert.ok(m[1]!.includes(`\`${spec.env}\``), spec.env)
})

test('serve reads a config file, lets env and flags override it, and refuses a bad one with exit 2', async () => {
  const config = file('real.yaml', 'store: memory\nport: 0\nprefix: /reg\napi-version: 9.9.9\ncors: false\n')
  const served = await startServe(['--config', config], { APPR_API_VERSION: '1.2.3' })
  try {
    const version = await fetch(`${served.url}/reg/version`, { headers: { origin: 'http://x' } })
    assert.is(version.status, 200)
    assert.is(((await version.json()) as { 'appr-api': string })['appr-api'], '1.2.3')
    assert.is(version.headers.get('access-control-allow-origin'), null)
    assert.is((await fetch(`${served.url}/cnr/version`)).status, 404)
  } finally {
    await served.stop()
  }
  const bad = await runCli(['serve', '--config', file('bad-serve.yaml', 'store: memory\nport: 0\nmax-entries: none\n')])
  assert.is(bad.code, 2)
  assert.match(bad.stderr, 'max-entries')
  assert.match(bad.stderr, '(file)')
})

test.after(() => rmSync(dir, { recursive: true, force: true }))

test.run()
