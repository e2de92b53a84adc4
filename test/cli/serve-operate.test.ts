/**
 * `appr-core serve` as an operator runs it, against real processes: a Redis or etcd that is not
 * there at start (exit 1 with a clear message, or `--wait-for-store` until it comes), /readyz
 * following the store, /metrics scraped and parsed, JSON logs in which no token ever appears.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { findBinary, freePort, skipOrFail } from '../helpers/servers.js'
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js'
import { b64, call, postJson, tarGz } from '../http/helpers.js'
import { runCli, startServe } from './serve-helpers.js'

type Line = Record<string, unknown>
const parseLines = (out: readonly string[]): Line[] => out.map((l) => JSON.parse(l) as Line)

for (const [adapter, spec] of [
  ['redis', (port: number) => `redis://127.0.0.1:${port}`],
  ['etcd', (port: number) => `etcd://127.0.0.1:${port}`],
] as const) {
  test(`${adapter} not running at start: exit 1 with a message naming the store, a JSON error line, no "listening"`, async () => {
    const port = await freePort()
    const r = await runCli(['serve', '--store', spec(port), '--port', '0'])
    assert.is(r.code, 1, r.stderr)
    assert.match(r.stderr, `cannot reach the store ${adapter}://127.0.0.1:${port}`)
    assert.match(r.stderr, '--wait-for-store')
    const lines = parseLines(r.stdout.split('\n').filter((l) => l !== ''))
    assert.ok(
      lines.some((l) => l.level === 'error' && l.msg === 'store unreachable' && typeof l.reason === 'string' && typeof l.time === 'string'),
      r.stdout,
    )
    assert.not.ok(lines.some((l) => l.msg === 'listening'))
  })
}

test('bad operate flags exit 2 naming the flag', async () => {
  const level = await runCli(['serve', '--store', 'memory', '--log-level', 'loud'])
  assert.is(level.code, 2)
  assert.match(level.stderr, 'log-level')
  assert.match(level.stderr, 'expected one of fatal, error, warn, info, debug, trace, silent')
  const wait = await runCli(['serve', '--store', 'memory', '--wait-for-store', 'soon'])
  assert.is(wait.code, 2)
  assert.match(wait.stderr, 'wait-for-store')
  assert.match(wait.stderr, 'expected a duration')
  const env = await runCli(['serve', '--store', 'memory'], { APPR_DRAIN_TIMEOUT: '-1' })
  assert.is(env.code, 2)
  assert.match(env.stderr, 'APPR_DRAIN_TIMEOUT')
})

test('--wait-for-store: serve retries until Redis comes up; /readyz follows the store down and up', async () => {
  const bin = findBinary('redis-server')
  if (!bin) return skipOrFail('serve --wait-for-store', 'install redis-server')
  const port = await freePort()
  let redis: ChildProcess | undefined
  const startRedis = (): ChildProcess =>
    spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' })
  let served: Awaited<ReturnType<typeof startServe>> | undefined
  try {
    const onLine = (line: string): void => {
      // The first failed attempt: now the store comes up.
      if (redis === undefined && line.includes('"store not reachable yet"')) redis = startRedis()
    }
    served = await startServe(['--store', `redis://127.0.0.1:${port}`, '--port', '0', '--wait-for-store', '2m'], {}, { onLine })
    const waiting = parseLines(served.out).find((l) => l.msg === 'store not reachable yet')
    assert.ok(waiting, 'a retry was logged before listening')
    assert.is(waiting!.level, 'warn')
    assert.is((await call(`${served.url}/healthz`)).status, 200)
    assert.is((await call(`${served.url}/readyz`)).status, 200)

    redis!.kill('SIGKILL')
    await once(redis!, 'exit')
    const down = await call(`${served.url}/readyz`)
    assert.is(down.status, 503)
    assert.match(String(down.body), 'not ready')
    assert.is((await call(`${served.url}/healthz`)).status, 200, 'the process itself is fine')
    redis = startRedis()
    // Readiness comes back on its own once the client reconnects (bounded retries, not a timing).
    let status = 0
    for (let i = 0; i < 200 && status !== 200; i++) {
      status = (await call(`${served.url}/readyz`)).status
      if (status !== 200) await new Promise((r) => setTimeout(r, 100))
    }
    assert.is(status, 200)
  } finally {
    assert.is(await served?.stop('SIGTERM'), 0)
    if (redis && redis.exitCode === null) {
      redis.kill('SIGKILL')
      await once(redis, 'exit')
    }
  }
})

test('--metrics and logs: /metrics parses and counts; lines carry request ids and the principal; the token never appears', async () => {
  const token = 'tok-9f8e7d6c5b4a'
  const served = await startServe(['--store', 'memory', '--port', '0', '--metrics', '--token', token])
  let metricsText = ''
  try {
    const A = `${served.url}/cnr/api/v1/packages`
    const blob = b64(await tarGz({ 'web/Chart.yaml': 'name: web\n' }))
    assert.is((await postJson(`${A}/acme/web`, { blob, release: '1.0.0' }, { authorization: token })).status, 200)
    assert.is((await postJson(`${A}/acme/web`, { blob, release: '1.0.1' }, { authorization: `Bearer ${token}` })).status, 200)
    const basic = `Basic ${Buffer.from(`me:${token}`).toString('base64')}`
    assert.is((await postJson(`${A}/acme/web`, { blob, release: '1.0.2' }, { authorization: basic })).status, 200)
    assert.is((await postJson(`${A}/acme/web`, { blob, release: '1.0.3' }, { authorization: 'wrong' })).status, 401)
    const login = await postJson(`${served.url}/cnr/api/v1/users/login`, { user: { username: 'me', password: token } })
    assert.is(login.status, 200)
    const echoed = await call(`${A}?token=${token}`, { headers: { 'x-request-id': 'trace-42' } })
    assert.is(echoed.headers.get('x-request-id'), 'trace-42')
    const scraped = await fetch(`${served.url}/metrics`)
    assert.match(scraped.headers.get('content-type') ?? '', 'text/plain')
    metricsText = await scraped.text()
  } finally {
    assert.is(await served.stop('SIGTERM'), 0)
  }
  const metrics = parsePrometheus(metricsText)
  assert.is(sampleValue(metrics, 'appr_http_requests_total', { method: 'POST', route: '/api/v1/packages/:ns/:name', status: '200' }), 3)
  assert.is(sampleValue(metrics, 'appr_operations_total', { operation: 'push', outcome: 'unauthorized-access' }), 1)
  assert.ok(sampleValue(metrics, 'appr_store_request_duration_seconds_count', { adapter: 'memory', op: 'commit' }) >= 3)
  assert.is(sampleValue(metrics, 'appr_mutations_total', { outcome: 'committed', retried: 'no' }), 3, 'serve hands the registry its onMutation')
  assert.ok(sampleValue(metrics, 'process_resident_memory_bytes') > 0)

  const all = served.out.join('\n') + served.err.join('')
  assert.not.match(all, token)
  const lines = parseLines(served.out)
  for (const line of lines) {
    assert.type(line.time, 'string')
    assert.type(line.level, 'string')
    assert.type(line.msg, 'string')
  }
  const requests = lines.filter((l) => l.msg === 'request')
  assert.equal(
    requests.filter((l) => l.method === 'POST' && l.status === 200).map((l) => [l.operation, l.principal]),
    [['push', 'token'], ['push', 'token'], ['push', 'token'], ['login', undefined]],
    'the pushes name their principal; login is public and has none',
  )
  const traced = requests.find((l) => l.requestId === 'trace-42')
  assert.ok(traced, 'the client request id is logged')
  assert.match(String(traced!.path), 'token=***')
  assert.ok(new Set(requests.map((l) => l.requestId)).size === requests.length, 'every request has its own id')
  const order = lines.map((l) => l.msg).filter((m) => m !== 'request')
  assert.equal(order, ['listening', 'shutting down', 'stopped'])
})

test.run()
