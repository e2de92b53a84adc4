/**
 * `appr-core serve` as a real process: help texts, env fallbacks, request log hygiene, static
 * tokens, graceful shutdown with a request in flight, and level data surviving a restart.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { b64, call, postJson, tarGz } from '../http/helpers.js'
import { runCli, startServe } from './serve-helpers.js'

test('--help documents every flag and command; bad usage exits non-zero', async () => {
  const top = await runCli(['--help'])
  assert.is(top.code, 0)
  for (const command of ['serve', 'pack', 'inspect', 'push', 'pull', 'show', 'list', 'channel']) assert.match(top.stdout, `  ${command} `)
  const serve = await runCli(['serve', '--help'])
  assert.is(serve.code, 0)
  for (const flag of ['--host', '--port', '--store', '--token', '--prefix', '--max-body', '--header-timeout', '--request-timeout', '--idle-timeout', 'APPR_HEADER_TIMEOUT', 'APPR_REQUEST_TIMEOUT', 'APPR_IDLE_TIMEOUT', 'PORT', 'HOST', 'APPR_TOKEN', 'level:', 'memory', 'redis://', 'etcd://']) {
    assert.match(serve.stdout, flag)
  }
  assert.is((await runCli(['help', 'serve'])).stdout, serve.stdout)
  assert.is((await runCli(['frobnicate'])).code, 2)
  assert.is((await runCli(['serve', '--nope'])).code, 2)
  const bad = await runCli(['serve', '--store', 'bogus:x'])
  assert.is(bad.code, 1)
  assert.match(bad.stderr, "unknown store 'bogus:x'")
  assert.is((await runCli(['serve', '--port', 'http'])).code, 2)
  assert.match((await runCli(['--version'])).stdout, /^\d+\.\d+\.\d+/)
})

test('memory store: HOST/PORT env, one JSON log line per request without Authorization, SIGTERM exits 0', async () => {
  const served = await startServe(['--store', 'memory', '--max-body', '4096'], { PORT: '0', HOST: '127.0.0.1' })
  try {
    const tooBig = await postJson(`${served.url}/api/v1/packages/acme/big`, { blob: 'A'.repeat(5000), release: '1.0.0' })
    assert.is(tooBig.status, 413)
    assert.is(tooBig.body.code, 'payload-too-large')
    assert.match(served.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const r = await call(`${served.url}/cnr/version`, { headers: { authorization: 'super-secret-token' } })
    assert.is(r.status, 200)
    await postJson(`${served.url}/api/v1/packages/acme/x`, { blob: 'secret-body-text', release: '1.0.0' }, { authorization: 'super-secret-token' })
  } finally {
    assert.is(await served.stop('SIGTERM'), 0)
  }
  const lines = served.out.map((l) => JSON.parse(l) as Record<string, unknown>)
  const requests = lines.filter((l) => l.msg === 'request')
  assert.is(requests.length, 3)
  assert.equal(requests[1], { ...requests[1], method: 'GET', path: '/cnr/version', status: 200 })
  for (const key of ['time', 'bytes', 'ms', 'requestId', 'route']) assert.ok(key in requests[1]!, key)
  assert.is(requests[0]!.status, 413)
  assert.is(requests[2]!.method, 'POST')
  assert.not.match(served.out.join('\n'), 'super-secret-token')
  assert.not.match(served.out.join('\n'), 'secret-body-text')
  assert.ok(lines.some((l) => l.msg === 'stopped'))
})

test('static token (APPR_TOKEN): writes need it, reads do not', async () => {
  const served = await startServe(['--store', 'memory', '--port', '0'], { APPR_TOKEN: 'tok-123' })
  try {
    const A = `${served.url}/cnr/api/v1/packages`
    const blob = b64(await tarGz({ 'x/Chart.yaml': 'name: x\n' }))
    let r = await postJson(`${A}/acme/x`, { blob, release: '1.0.0' })
    assert.is(r.status, 401)
    assert.is(r.body.code, 'unauthorized-access')
    r = await postJson(`${A}/acme/x`, { blob, release: '1.0.0' }, { authorization: 'wrong' })
    assert.is(r.status, 401)
    r = await postJson(`${A}/acme/x`, { blob, release: '1.0.0' }, { authorization: 'tok-123' })
    assert.is(r.status, 200)
    r = await postJson(`${A}/acme/y`, { blob, release: '1.0.0' }, { authorization: 'Bearer tok-123' })
    assert.is(r.status, 200)
    r = await call(A)
    assert.is(r.status, 200)
    assert.equal(r.body.map((p: { name: string }) => p.name), ['acme/x', 'acme/y'])
  } finally {
    await served.stop()
  }
})

test('an empty token (--token "" or APPR_TOKEN="") is refused at start, not run open', async () => {
  for (const [args, env] of [
    [['--token', ''], {}],
    [[], { APPR_TOKEN: '' }],
    [['--token', '  '], {}],
  ] as const) {
    let served: Awaited<ReturnType<typeof startServe>> | undefined
    try {
      served = await startServe(['--store', 'memory', '--port', '0', ...args], env)
    } catch (e) {
      assert.match(String(e), 'exited with 2 before listening')
      assert.match(String(e), /empty token/)
      continue
    }
    await served.stop()
    assert.unreachable(`serve ${JSON.stringify(args)} ${JSON.stringify(env)} started without auth`)
  }
})

test('a non-ASCII token matches its UTF-8 bytes as sent; login with any user and the token as password', async () => {
  const token = 'clé-✓-トークン'
  const served = await startServe(['--store', 'memory', '--port', '0', '--token', token])
  try {
    const blob = b64(await tarGz({ 'x/Chart.yaml': 'name: x\n' }))
    // A raw request, so the Authorization header carries exactly these bytes (node:http's client
    // would re-encode a header string), as curl or the appr client send a UTF-8 token.
    const asSent = Buffer.from(token, 'utf8')
    let pushes = 0
    const push = (authorization: Buffer) =>
      new Promise<number>((resolve, reject) => {
        const body = Buffer.from(JSON.stringify({ blob, release: `1.0.${pushes++}`, media_type: 'helm' }))
        const { hostname, port } = new URL(served.url)
        const socket = connect(Number(port), hostname)
        let reply = ''
        socket.on('data', (d: Buffer) => (reply += d.toString('latin1')))
        socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0)))
        socket.on('error', reject)
        socket.end(
          Buffer.concat([
            Buffer.from(`POST /cnr/api/v1/packages/acme/x HTTP/1.1\r\nhost: ${hostname}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nauthorization: `),
            authorization,
            Buffer.from('\r\n\r\n'),
            body,
          ]),
        )
      })
    assert.is(await push(asSent), 200)
    assert.is(await push(Buffer.concat([Buffer.from('Bearer '), asSent])), 200)
    // The same text in another Unicode normal form is other bytes: no match.
    assert.is(await push(Buffer.from(token.normalize('NFD'))), 401)
    assert.is(await push(Buffer.from(`${token}x`)), 401)
    // The UTF-8 bytes read as text and encoded again (what comparing the latin1 header as UTF-8 did) are not the token either.
    assert.is(await push(Buffer.from(asSent.toString('latin1'), 'utf8')), 401)

    // What `appr login -u ANY -p TOKEN` sends.
    const login = (password: string) => postJson(`${served.url}/cnr/api/v1/users/login`, { user: { username: 'anyone', password } })
    let r = await login(token)
    assert.is(r.status, 200)
    assert.is(r.body.token, token)
    r = await login('wrong')
    assert.is(r.status, 401)
    assert.is(r.body.code, 'unauthorized-access')
    r = await login('')
    assert.is(r.status, 401)
  } finally {
    await served.stop()
  }
})

test('timeouts from flags and env: a bad value exits 2; a client that never finishes its head is cut off', async () => {
  for (const [args, env] of [
    [['--idle-timeout', 'soon'], {}],
    [['--header-timeout=-1'], {}],
    [[], { APPR_REQUEST_TIMEOUT: '' }],
  ] as const) {
    const r = await runCli(['serve', '--store', 'memory', '--port', '0', ...args], env)
    assert.is(r.code, 2, `${JSON.stringify(args)} ${JSON.stringify(env)}: ${r.stderr}`)
    assert.match(r.stderr, 'a number of seconds')
  }
  const served = await startServe(['--store', 'memory', '--port', '0', '--idle-timeout', '5'], { APPR_HEADER_TIMEOUT: '0.5' })
  try {
    const { hostname, port } = new URL(served.url)
    const started = Date.now()
    const socket = connect(Number(port), hostname)
    const trickle = setInterval(() => socket.writable && socket.write('a'), 100)
    socket.on('error', () => {})
    socket.write('GET /version HTTP/1.1\r\nhost: h\r\nx-slow: ')
    const limit = setTimeout(() => socket.destroy(), 8000)
    await new Promise((resolve) => socket.on('close', resolve))
    clearInterval(trickle)
    clearTimeout(limit)
    const held = Date.now() - started
    assert.ok(held >= 400 && held < 3000, `a head never finished was held ${held} ms with APPR_HEADER_TIMEOUT=0.5`)
    assert.is((await call(`${served.url}/version`)).status, 200)
  } finally {
    await served.stop()
  }
})

/** GET that reads at least `firstBytes`, then holds the rest until `resume()`. */
function pausedGet(url: string, firstBytes: number) {
  let resume!: () => void
  const gate = new Promise<void>((r) => (resume = r))
  let onStarted!: () => void
  let onFailed!: (e: unknown) => void
  const started = new Promise<void>((r, j) => {
    onStarted = r
    onFailed = j
  })
  const result = new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = httpRequest(url, (res) => {
      const chunks: Buffer[] = []
      let got = 0
      let gated = false
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        got += chunk.length
        if (!gated && got >= firstBytes) {
          gated = true
          res.pause()
          onStarted()
          void gate.then(() => res.resume())
        }
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
  result.catch(onFailed)
  return { started, resume: () => resume(), result }
}

test('level store: data survives a restart; SIGTERM lets an in-flight pull finish', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appr-serve-'))
  try {
    const served = await startServe(['--store', `level:${dir}`, '--port', '0'])
    const A = `${served.url}/cnr/api/v1/packages`
    // ~12 MiB of incompressible content: larger than loopback socket buffers, so the pull is
    // still being written when the signal arrives.
    const big = await tarGz({ 'big/Chart.yaml': 'name: big\n', 'big/data.bin': randomBytes(9 * 1024 * 1024).toString('base64') })
    const r = await postJson(`${A}/acme/big`, { blob: b64(big), release: '1.0.0', media_type: 'helm' })
    assert.is(r.status, 200, JSON.stringify(r.body))
    const shown = await call(`${A}/acme/big/1.0.0/helm`)
    const pull = pausedGet(`${A}/acme/big/1.0.0/helm/pull`, 64 * 1024)
    await pull.started
    const exit = served.stop('SIGTERM')
    await new Promise((r) => setTimeout(r, 300))
    assert.is(served.child.exitCode, null, 'the server waits for the in-flight pull')
    pull.resume()
    const pulled = await pull.result
    assert.is(pulled.status, 200)
    assert.is(createHash('sha256').update(pulled.body).digest('hex'), createHash('sha256').update(big).digest('hex'))
    assert.is(await exit, 0)
    // Records in LevelDB, blob bytes as plain files beside it (not mapped in with LevelDB's tables).
    assert.ok(existsSync(join(dir, 'kv', 'CURRENT')), 'LevelDB lives in <dir>/kv')
    const blobFiles = readdirSync(join(dir, 'blobs'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    assert.is(blobFiles.length, 1, 'one blob file under <dir>/blobs')

    const again = await startServe(['--store', `level:${dir}`, '--port', '0'])
    try {
      const after = await call(`${again.url}/cnr/api/v1/packages/acme/big/1.0.0/helm`)
      assert.is(after.status, 200)
      assert.equal(after.body, shown.body)
    } finally {
      assert.is(await again.stop('SIGINT'), 0)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
