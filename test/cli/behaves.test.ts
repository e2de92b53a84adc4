/**
 * The CLI as a user meets it, spawned against a real `appr-core serve --token`: bare
 * invocation, unreachable and silent registries, a missing versus a wrong token, `--json`
 * errors, login/logout with stored credentials, delete-package, push --channel, and progress
 * in a log and on a real terminal. Each run gets its own XDG_CONFIG_HOME.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createTcpServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { packDirectory } from 'appr-core/archive'
import { runCli, runCliOnTerminal, type Served, startServe } from './serve-helpers.js'

const TOKEN = 'behaves-token'
const base = mkdtempSync(join(tmpdir(), 'appr-behaves-'))
const config = join(base, 'config')
const env = { XDG_CONFIG_HOME: config, APPR_TOKEN: '', APPR_REGISTRY: '' }
let served: Served | undefined
let registry = ''

/** A chart directory with `bytes` of incompressible data (progress shows from 1 MiB). */
function chart(name: string, version: string, bytes = 0): string {
  const dir = join(base, `${name}-${version}`)
  mkdirSync(join(dir, 'templates'), { recursive: true })
  writeFileSync(join(dir, 'Chart.yaml'), `apiVersion: v2\nname: ${name}\nversion: ${version}\n`)
  writeFileSync(join(dir, 'templates', 'cm.yaml'), 'kind: ConfigMap\n')
  if (bytes > 0) writeFileSync(join(dir, 'templates', 'data.bin'), randomBytes(bytes))
  return dir
}

const cli = (...args: string[]) => runCli(args, env)
const jsonError = (stderr: string) => (JSON.parse(stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string; details: Record<string, unknown> } }).error

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createTcpServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as { port: number }
  probe.close()
  await once(probe, 'close')
  return port
}

async function listening(server: Server | ReturnType<typeof createHttpServer>): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

test.before(async () => {
  // APPR_TOKEN and APPR_REGISTRY are cleared per run (env above), never inherited from the shell running the tests.
  served = await startServe(['--store', 'memory', '--port', '0', '--token', TOKEN])
  registry = served.url
})

test.after(async () => {
  if (served) await served.stop()
  rmSync(base, { recursive: true, force: true })
})

test('bare appr-core is a usage error: exit 2, the usage on stderr', async () => {
  const r = await cli()
  assert.is(r.code, 2)
  assert.is(r.stdout, '')
  assert.match(r.stderr, 'Usage: appr-core <command>')
  for (const command of ['login', 'logout', 'delete-package']) assert.match(r.stderr, `  ${command} `)
})

test('an unreachable registry is named with the reason; --json makes the error JSON', async () => {
  const url = `http://127.0.0.1:${await closedPort()}`
  const r = await cli('list', '--registry', url)
  assert.is(r.code, 1)
  assert.match(r.stderr, `cannot reach ${url}/cnr/api/v1/packages: connection refused (ECONNREFUSED)`)
  const j = await cli('list', '--registry', url, '--json')
  assert.is(j.code, 1)
  assert.is(j.stdout, '')
  const error = jsonError(j.stderr)
  assert.is(error.code, 'unavailable')
  assert.is(error.details.url, `${url}/cnr/api/v1/packages`)
  // Usage errors too, with exit 2 and no usage text.
  const usage = await cli('push', '--json')
  assert.is(usage.code, 2)
  assert.is(jsonError(usage.stderr).code, 'invalid-usage')
})

test('--timeout bounds a registry that never answers, and a download that stalls', async () => {
  const sockets: Socket[] = []
  const silent = createTcpServer((socket) => sockets.push(socket))
  const url = await listening(silent)
  // A package that starts and then stops coming: the first 1.5 MiB of a real one.
  const tarball = Buffer.concat(await Readable.from(packDirectory(chart('stall', '1.0.0', 3 * 1024 * 1024))).toArray())
  const stalling = createHttpServer((req, res) => {
    if (req.url?.endsWith('/pull')) {
      res.writeHead(200, { 'content-type': 'application/x-gzip', 'content-length': String(tarball.length) })
      res.write(tarball.subarray(0, 1.5 * 1024 * 1024))
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ package: 'acme/stall', release: '1.0.0', mediaType: 'application/vnd.appr.package-manifest.helm.v0.json', content: { digest: 'a'.repeat(64), size: tarball.length }, created_at: '2024-01-01T00:00:00Z' }))
  })
  const stallingUrl = await listening(stalling)
  try {
    const r = await cli('list', '--registry', url, '--timeout', '1')
    assert.is(r.code, 1, r.stderr)
    assert.match(r.stderr, `no answer from ${url}/cnr/api/v1/packages within 1000 ms`)
    const pulled = await cli('pull', 'acme/stall@1.0.0', '--registry', stallingUrl, '--timeout', '1', '-o', join(base, 'stall.tgz'))
    assert.is(pulled.code, 1, pulled.stderr)
    assert.match(pulled.stderr, `pull from ${stallingUrl}: nothing sent or received for 1 s (--timeout 1)`)
    assert.throws(() => statSync(join(base, 'stall.tgz')), 'nothing is kept of a stalled download')
    const bad = await cli('list', '--registry', url, '--timeout', 'soon')
    assert.is(bad.code, 2)
    assert.match(bad.stderr, '--timeout (APPR_TIMEOUT) must be a number of seconds')
  } finally {
    for (const s of sockets) s.destroy()
    silent.close()
    stalling.closeAllConnections()
    stalling.close()
  }
})

test('a missing token and a wrong one read differently, and name where the token came from', async () => {
  const dir = chart('auth', '1.0.0')
  const missing = await cli('push', 'acme/auth', dir, '--registry', registry)
  assert.is(missing.code, 1)
  assert.match(missing.stderr, `unauthorized-access: ${registry} needs a token for this`)
  assert.match(missing.stderr, `appr-core login ${registry}`)
  const wrong = await cli('push', 'acme/auth', dir, '--registry', registry, '--token', 'nope', '--json')
  assert.is(wrong.code, 1)
  const error = jsonError(wrong.stderr)
  assert.is(error.code, 'unauthorized-access')
  assert.match(error.message, `${registry} refused the token from --token`)
  assert.equal([error.details.token, error.details.tokenSource], ['refused', '--token'])
  const fromEnv = await runCli(['push', 'acme/auth', dir, '--registry', registry], { ...env, APPR_TOKEN: 'nope' })
  assert.match(fromEnv.stderr, 'refused the token from APPR_TOKEN')
  assert.is(jsonError((await cli('push', 'acme/auth', dir, '--registry', registry, '--json')).stderr).details.token, 'missing')
})

test('login stores a token per registry (0600) that later commands use; logout forgets it', async () => {
  const refused = await cli('login', registry, '-u', 'me', '-p', 'not-the-token')
  assert.is(refused.code, 1)
  assert.match(refused.stderr, `${registry} refused the user name or password`)
  const noTerminal = await cli('login', registry, '-u', 'me')
  assert.is(noTerminal.code, 2)
  assert.match(noTerminal.stderr, 'give --password or --password-stdin')

  const login = await runCli(['login', registry, '-u', 'me', '--password-stdin'], env, `${TOKEN}\n`)
  assert.is(login.code, 0, login.stderr)
  const file = join(config, 'appr-core', 'credentials.json')
  assert.match(login.stdout, `logged in to ${registry} as me (token stored in ${file})`)
  assert.is(statSync(file).mode & 0o777, 0o600)
  assert.is(statSync(join(config, 'appr-core')).mode & 0o777, 0o700)
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { registries: Record<string, { token: string; username: string }> }
  assert.equal(stored.registries[`${registry}/cnr/api/v1`], { token: TOKEN, username: 'me' })

  // Any spelling of the registry finds the login.
  const pushed = await cli('push', 'acme/logged', chart('logged', '1.0.0'), '--registry', `${registry}/cnr`)
  assert.is(pushed.code, 0, pushed.stderr)

  const out = await cli('logout', `${registry}/cnr/api/v1`, '--json')
  assert.is(out.code, 0, out.stderr)
  assert.equal(JSON.parse(out.stdout), { registry: `${registry}/cnr/api/v1`, removed: true })
  assert.match((await cli('logout', registry)).stdout, `no stored login for ${registry}`)
  assert.match((await cli('push', 'acme/logged', chart('logged', '1.0.1'), '--registry', registry)).stderr, 'needs a token for this')

  // A stored token the registry no longer accepts says so, and where it is stored.
  assert.is((await cli('login', registry, '--token', 'stale')).code, 0)
  const stale = await cli('push', 'acme/logged', chart('logged', '1.0.2'), '--registry', registry)
  assert.is(stale.code, 1)
  assert.match(stale.stderr, `refused the token from the login stored in ${file}`)
  await cli('logout', registry)
})

test('push --channel adds the release to the channel; delete-package deletes one exact release', async () => {
  const pushed = await cli('push', 'acme/chan', chart('chan', '2.0.0'), '--registry', registry, '--token', TOKEN, '--channel', 'stable', '--json')
  assert.is(pushed.code, 0, pushed.stderr)
  assert.is((JSON.parse(pushed.stdout) as { channel: string }).channel, 'stable')
  const channel = await cli('channel', 'acme/chan', 'stable', '--registry', registry, '--json')
  assert.equal((JSON.parse(channel.stdout) as { current: string; releases: string[] }).releases, ['2.0.0'])
  assert.is((await cli('push', 'acme/chan', chart('chan', '2.0.1'), '--registry', registry, '--token', TOKEN, '--channel', 'not a channel!')).code, 2)

  assert.is((await cli('push', 'acme/chan', chart('chan', '2.1.0'), '--registry', registry, '--token', TOKEN)).code, 0)
  // A query never deletes what it would resolve to (this server does not resolve one here at all).
  const query = await cli('delete-package', 'acme/chan@2', '--registry', registry, '--token', TOKEN)
  assert.ok(query.code === 1 || query.code === 2, query.stderr)
  assert.is((await cli('show', 'acme/chan@2.0.0', '--registry', registry)).code, 0, 'a query deleted a release')
  const deleted = await cli('delete-package', 'acme/chan@2.0.0', '--registry', registry, '--token', TOKEN)
  assert.is(deleted.code, 0, deleted.stderr)
  assert.is(deleted.stdout, 'deleted acme/chan@2.0.0 (helm)\n')
  const gone = await cli('show', 'acme/chan@2.0.0', '--registry', registry)
  assert.is(gone.code, 1)
  assert.match(gone.stderr, 'package-release-not-found')
  assert.is((await cli('show', 'acme/chan@2.1.0', '--registry', registry)).code, 0)
  const unauthorised = await cli('delete-package', 'acme/chan@2.1.0', '--registry', registry)
  assert.match(unauthorised.stderr, 'needs a token for this')
})

test('progress in a log: packing, checking and the upload, with rate, time left and a final line, no line twice', async () => {
  const r = await cli('push', 'acme/big', chart('big', '1.0.0', 3 * 1024 * 1024), '--registry', registry, '--token', TOKEN)
  assert.is(r.code, 0, r.stderr)
  const lines = r.stderr.trim().split('\n')
  assert.is(new Set(lines).size, lines.length, r.stderr)
  assert.ok(!r.stderr.includes('\r') && !r.stderr.includes('\x1b'), 'no terminal control codes in a log')
  for (const label of ['pack ', 'check ', 'push acme/big@1.0.0']) {
    assert.ok(lines.some((l) => l.startsWith(label) && / in \d+s$/.test(l)), `a final ${label} line: ${r.stderr}`)
  }
  assert.ok(
    lines.some((l) => l.startsWith('push acme/big@1.0.0') && /\d+% {2}[\d.]+ [KM]?i?B\/s {2}ETA \d/.test(l)),
    `an upload line with rate and ETA: ${r.stderr}`,
  )
})

const ESC = String.fromCharCode(0x1b)
/** A progress line drawn on a terminal: "\r", the text, clear to end of line, and "\r\n" for a final one. */
const DRAW = new RegExp(`\r([^\r\n${ESC}]*)${ESC}\\[K(\r\n)?`, 'g')
function draws(output: string): { text: string; final: boolean }[] {
  return [...output.matchAll(DRAW)].map((m) => ({ text: m[1]!, final: m[2] !== undefined }))
}

test('progress on a real terminal: each line redrawn in place and cut to the width, each final line once', async () => {
  const dir = chart('tty', '1.0.0', 3 * 1024 * 1024)
  const pushed = await runCliOnTerminal(['push', 'acme/tty', dir, '--registry', registry, '--token', TOKEN], env, 120)
  assert.is(pushed.code, 0, pushed.output)
  const pushDraws = draws(pushed.output)
  for (const label of [`pack ${dir}`, `check ${dir}`, 'push acme/tty@1.0.0']) {
    const mine = pushDraws.filter((d) => d.text.startsWith(label))
    // Every time the label reached the terminal it was a redraw: nothing printed outside one.
    assert.is(pushed.output.split(label).length - 1, mine.length, JSON.stringify(pushed.output))
    assert.is(mine.filter((d) => d.final).length, 1, `one final ${label} line: ${JSON.stringify(pushed.output)}`)
    assert.ok(mine.at(-1)!.final, 'the final line is the last one')
    assert.match(mine.at(-1)!.text, / in \d+s$/)
  }
  assert.match(pushDraws.find((d) => d.final && d.text.startsWith('push '))!.text, /3\.0 MiB \/ 3\.0 MiB {2}100% {2}/)
  assert.ok(pushDraws.every((d) => d.text.length <= 119))
  // What is left once the progress lines are taken out is the command's answer, no control codes.
  const rest = pushed.output.replace(DRAW, '')
  assert.not.ok(rest.includes(ESC) || rest.includes('%'), JSON.stringify(rest))
  assert.match(rest, 'acme/tty')

  // On a narrow terminal a line is cut short of the last column, so it never wraps onto a second one.
  const pulled = await runCliOnTerminal(['pull', 'acme/tty@1.0.0', '-o', join(base, 'tty.tgz'), '--registry', registry, '--token', TOKEN], env, 30)
  assert.is(pulled.code, 0, pulled.output)
  const pullDraws = draws(pulled.output).filter((d) => d.text.startsWith('pull acme/tty@1.0.0'))
  assert.ok(pullDraws.length > 0, JSON.stringify(pulled.output))
  assert.ok(pullDraws.every((d) => d.text.length <= 29), JSON.stringify(pullDraws))
  assert.is(pullDraws.filter((d) => d.final).length, 1)
  assert.ok(statSync(join(base, 'tty.tgz')).size > 3 * 1024 * 1024)
})

test.run()
