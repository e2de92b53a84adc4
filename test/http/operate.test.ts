/**
 * What createHandler offers operators: /healthz and /readyz outside the API prefixes and
 * without credentials, request ids, one log line per request (principal, route template, 5xx at
 * error with the error's code), and /metrics in Prometheus text that a strict parser accepts,
 * with counters that move and no label naming a package.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ApprError, isApprError, type KvStore, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler, type HandlerOptions, type RegistryApi, type RequestLogger } from 'appr-core/http'
import { createMetrics } from 'appr-core/metrics'
import { fetchRequestView } from '../../src/http/request-view.js'
import { withObservation } from '../../src/http/middleware/observe.js'
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js'
import { b64, chart } from './helpers.js'

const H = 'http://registry.test'

/** A logger that keeps its lines (level, message, fields). */
function keptLogger(): RequestLogger & { lines: { level: string; msg: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = []
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => {
    lines.push({ level, msg, fields })
  }
  return { lines, info: at('info'), warn: at('warn'), error: at('error') }
}

/** Sends a request through `handler` and reads the whole answer (a log line is written once the body is done). */
async function send(handler: (r: Request) => Promise<Response>, path: string, init: RequestInit = {}) {
  const response = await handler(new Request(`${H}${path}`, init))
  const text = await response.text()
  return { status: response.status, headers: response.headers, text }
}

const pushInit = async (name: string, headers: Record<string, string> = {}): Promise<RequestInit> => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ blob: b64(await chart(name, '1.0.0')), release: '1.0.0', media_type: 'helm' }),
})

test('health endpoints: off by default; on, at the root only, open to anyone, 503 with the reason when the store fails', async () => {
  const registry = new Registry({ store: memoryStore() })
  assert.is((await send(createHandler(registry), '/healthz')).status, 404)

  const refuseAll: Pick<HandlerOptions<string>, 'authenticate' | 'authorize'> = { authenticate: () => undefined, authorize: () => false }
  const handler = createHandler(registry, { health: true, ...refuseAll })
  assert.is((await send(handler, '/api/v1/packages')).status, 401, 'the API itself is closed')
  const healthz = await send(handler, '/healthz')
  assert.is(healthz.status, 200)
  assert.is(healthz.headers.get('cache-control'), 'no-store')
  assert.is((await send(handler, '/readyz?verbose=1')).status, 200)
  assert.is((await send(handler, '/healthz', { method: 'HEAD' })).status, 200)
  assert.is((await send(handler, '/cnr/healthz')).status, 404, 'not under an API prefix (the router answers)')
  assert.is((await send(handler, '/healthz', { method: 'POST' })).status, 404)

  // A store that fails, and one that never answers: 503 naming why.
  const failing = createHandler(registry, { health: { ready: () => Promise.reject(new ApprError('unavailable', 'redis is down', { transient: true })) } })
  const down = await send(failing, '/readyz')
  assert.is(down.status, 503)
  assert.match(down.text, 'redis is down')
  assert.is((await send(failing, '/healthz')).status, 200, 'the process itself is up')
  const hanging = createHandler(registry, { health: { ready: () => new Promise(() => {}), readyTimeoutMs: 20 } })
  const slow = await send(hanging, '/readyz')
  assert.is(slow.status, 503)
  assert.match(slow.text, 'did not answer within 20 ms')

  // The default check is a round trip to the registry's own store.
  await registry.close()
  const closed = await send(createHandler(registry, { health: true }), '/readyz')
  assert.is(closed.status, 503)
})

test('request ids: a sane X-Request-Id is echoed, anything else replaced by a fresh one', async () => {
  const logger = keptLogger()
  const handler = createHandler(new Registry({ store: memoryStore() }), { logger })
  const given = await send(handler, '/version', { headers: { 'x-request-id': 'abc-123.x' } })
  assert.is(given.headers.get('x-request-id'), 'abc-123.x')
  const insane = await send(handler, '/version', { headers: { 'x-request-id': `a b\u0001${'x'.repeat(200)}` } })
  assert.match(insane.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/)
  const none = await send(handler, '/version')
  const fresh = none.headers.get('x-request-id') ?? ''
  assert.match(fresh, /^[0-9a-f-]{36}$/)
  assert.is.not(fresh, insane.headers.get('x-request-id'))
  assert.equal(
    logger.lines.map((l) => l.fields.requestId),
    ['abc-123.x', insane.headers.get('x-request-id'), fresh],
  )
  assert.ok(logger.lines.every((l) => l.fields.route === '/version' && l.fields.status === 200 && l.level === 'info'))
  // OCI's own router and envelope: its refusals are logged with their code too.
  const oci = await send(handler, '/v2/acme/web/nowhere/at/all')
  assert.is(oci.status, 404)
  assert.equal([logger.lines[3]?.fields.route, logger.lines[3]?.fields.code], ['(none)', 'resource-not-found'])
  // Without a logger or metrics the handler adds nothing.
  assert.is((await send(createHandler(new Registry({ store: memoryStore() })), '/version')).headers.get('x-request-id'), null)
})

test('log lines: route template, operation, principal, masked secrets; 4xx at info with the code, 5xx at error', async () => {
  const logger = keptLogger()
  const registry = new Registry({ store: memoryStore() })
  // A registry whose show fails unexpectedly, and whose manifests answers a transient 503.
  const failures: Record<string, () => Promise<never>> = {
    show: () => Promise.reject(new Error('disk on fire')),
    manifests: () => Promise.reject(new ApprError('unavailable', 'store down', { transient: true })),
  }
  const broken = new Proxy(registry, {
    get(target, property) {
      if (typeof property === 'string' && property in failures) return failures[property]
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  }) as RegistryApi
  const handler = createHandler<{ name: string }>(broken, {
    logger,
    authenticate: (request) => (request.headers.get('authorization') === 'sekret-token' ? { name: 'alice' } : undefined),
  })
  assert.is((await send(handler, '/api/v1/packages/acme/web', await pushInit('web', { authorization: 'sekret-token' }))).status, 200)
  assert.is((await send(handler, '/api/v1/packages/acme/web', await pushInit('web'))).status, 401)
  assert.is((await send(handler, '/api/v1/packages/acme/web/1.0.0/helm')).status, 500)
  assert.is((await send(handler, '/api/v1/packages/acme/web/1.0.0')).status, 503)
  assert.is((await send(handler, '/nowhere?token=sekret-token&page=2')).status, 404)

  const [push, refused, crashed, unavailable, nowhere] = logger.lines
  assert.is(logger.lines.length, 5)
  assert.equal(
    { level: push!.level, msg: push!.msg, route: push!.fields.route, operation: push!.fields.operation, principal: push!.fields.principal, status: push!.fields.status, method: push!.fields.method },
    { level: 'info', msg: 'request', route: '/api/v1/packages/:ns/:name', operation: 'push', principal: 'alice', status: 200, method: 'POST' },
  )
  assert.is(push!.fields.path, '/api/v1/packages/acme/web')
  assert.ok((push!.fields.bytes as number) > 0 && typeof push!.fields.ms === 'number')
  assert.equal([refused!.level, refused!.fields.code, refused!.fields.principal], ['info', 'unauthorized-access', undefined])
  assert.equal([crashed!.level, crashed!.fields.code, crashed!.fields.status], ['error', 'internal-error', 500])
  assert.is((crashed!.fields.err as Error).message, 'disk on fire', 'the unexpected error reaches the log, with its stack')
  assert.equal([unavailable!.level, unavailable!.fields.code], ['error', 'unavailable'])
  assert.equal([nowhere!.fields.route, nowhere!.fields.code, nowhere!.fields.path], ['(none)', 'resource-not-found', '/nowhere?token=***&page=2'])
  assert.not.match(JSON.stringify(logger.lines), 'sekret-token')
})

test('metrics: a strict parser reads /metrics; requests, operations, store round trips, blob bytes and cache hits move; no label names a package', async () => {
  const metrics = createMetrics()
  const registry = new Registry({ store: metrics.store(memoryStore()) })
  metrics.caches(registry)
  const handler = createHandler(registry, { metrics, health: true })
  const secretName = 'zebrapkg'
  const archive = await chart(secretName, '1.0.0')

  const before = parsePrometheus((await send(handler, '/metrics')).text)
  assert.ok(sampleValue(before, 'process_cpu_user_seconds_total') > 0, 'process metrics')
  assert.ok(before.has('nodejs_eventloop_lag_seconds'))
  assert.is(sampleValue(before, 'appr_http_requests_total'), 0)

  const pushed = await send(handler, `/api/v1/packages/acme/${secretName}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ blob: b64(archive), release: '1.0.0', media_type: 'helm' }),
  })
  assert.is(pushed.status, 200, pushed.text)
  for (let i = 0; i < 3; i++) assert.is((await send(handler, `/api/v1/packages/acme/${secretName}/1.0.0/helm/pull`)).status, 200)
  assert.is((await send(handler, `/api/v1/packages/acme/${secretName}-nope/1.0.0/helm`)).status, 404)
  assert.is((await send(handler, '/readyz')).status, 200)

  const text = (await send(handler, '/metrics')).text
  const after = parsePrometheus(text)
  const route = '/api/v1/packages/:ns/:name/:release/:format/pull'
  assert.is(sampleValue(after, 'appr_http_requests_total', { method: 'POST', route: '/api/v1/packages/:ns/:name', status: '200' }), 1)
  assert.is(sampleValue(after, 'appr_http_requests_total', { method: 'GET', route, status: '200' }), 3)
  assert.is(sampleValue(after, 'appr_http_request_duration_seconds_count', { method: 'GET', route, status: '200' }), 3)
  assert.is(sampleValue(after, 'appr_http_requests_total', { route: '/readyz' }), 1)
  assert.is(sampleValue(after, 'appr_operations_total', { operation: 'push', outcome: 'ok' }), 1)
  assert.is(sampleValue(after, 'appr_operations_total', { operation: 'show', outcome: 'package-not-found' }), 1)
  assert.ok(sampleValue(after, 'appr_store_request_duration_seconds_count', { adapter: 'memory', op: 'commit' }) >= 1)
  assert.ok(sampleValue(after, 'appr_store_request_duration_seconds_count', { adapter: 'memory', op: 'get' }) >= 1, 'the readiness round trip')
  assert.ok(sampleValue(after, 'appr_blob_bytes_total', { direction: 'in', store: 'kv' }) >= archive.byteLength)
  assert.ok(sampleValue(after, 'appr_cache_requests_total', { cache: 'blobs', result: 'hit' }) >= 1, 'the second and third pulls come from the blob cache')
  assert.is(sampleValue(after, 'appr_store_errors_total'), 0)
  assert.ok(!text.includes(secretName), 'no label value carries a package name')
  assert.ok(!text.includes('acme'))

  // Counters only grow: a second scrape reports the same totals, not the deltas again.
  const again = parsePrometheus((await send(handler, '/metrics')).text)
  assert.is(
    sampleValue(again, 'appr_cache_requests_total', { cache: 'blobs', result: 'hit' }),
    sampleValue(after, 'appr_cache_requests_total', { cache: 'blobs', result: 'hit' }),
  )

  // One registry per createMetrics: a second server counts nothing of the first's.
  const other = createMetrics({ processMetrics: false })
  const otherText = (await send(createHandler(new Registry({ store: memoryStore() }), { metrics: other }), '/metrics')).text
  const otherParsed = parsePrometheus(otherText)
  assert.is(sampleValue(otherParsed, 'appr_http_requests_total'), 0)
  assert.not.ok(otherParsed.has('process_cpu_user_seconds_total'))
})

test('a streamed body is logged when it ends, fails or is released unread; a Response gets the id in a copy of its headers', async () => {
  const logger = keptLogger()
  async function* chunks(fail: boolean) {
    yield new Uint8Array(3)
    if (fail) throw new Error('disk gone mid-stream')
    yield new Uint8Array(4)
  }
  let answer: () => Response | { status: number; headers: Record<string, string>; body: AsyncIterable<Uint8Array> }
  const observed = withObservation(async () => answer(), { exchanges: new WeakMap(), logger })
  const view = () => fetchRequestView(new Request(`${H}/x`))
  const drain = async (body: AsyncIterable<Uint8Array>) => {
    for await (const _ of body);
  }

  answer = () => ({ status: 200, headers: {}, body: chunks(false) })
  const ended = await observed(view())
  assert.is(logger.lines.length, 0, 'nothing is logged before the body has gone out')
  await drain((ended as { body: AsyncIterable<Uint8Array> }).body)
  assert.equal([logger.lines[0]?.level, logger.lines[0]?.fields.bytes, logger.lines[0]?.fields.aborted], ['info', 7, undefined])

  answer = () => ({ status: 200, headers: {}, body: chunks(true) })
  const failed = await observed(view())
  await drain((failed as { body: AsyncIterable<Uint8Array> }).body).catch(() => {})
  assert.equal([logger.lines[1]?.level, logger.lines[1]?.fields.bytes, (logger.lines[1]?.fields.err as Error | undefined)?.message], ['error', 3, 'disk gone mid-stream'])

  answer = () => ({ status: 200, headers: {}, body: chunks(false) })
  const released = await observed(view())
  // What the node listener does for a client gone before the body: the iterator's return, unread.
  await (released as { body: AsyncIterable<Uint8Array> }).body[Symbol.asyncIterator]().return?.()
  assert.equal([logger.lines[2]?.fields.bytes, logger.lines[2]?.fields.aborted], [0, true])

  // A WHATWG Response (immutable headers, as fetch() returns) keeps its body and gains the id.
  answer = () => Response.redirect('http://elsewhere.test/', 302)
  const redirected = (await observed(fetchRequestView(new Request(`${H}/x`, { headers: { 'x-request-id': 'r-1' } })))) as Response
  assert.is(redirected.status, 302)
  assert.is(redirected.headers.get('location'), 'http://elsewhere.test/')
  assert.is(redirected.headers.get('x-request-id'), 'r-1')
  answer = () => new Response('hello')
  const streamed = (await observed(view())) as Response
  assert.is(await streamed.text(), 'hello')
  assert.equal(logger.lines.slice(3).map((l) => [l.fields.status, l.fields.bytes]), [[302, 0], [200, 5]])
})

test('metrics: store errors and commit conflicts are counted by adapter', async () => {
  const metrics = createMetrics({ processMetrics: false })
  const raw = memoryStore()
  const store = metrics.store(raw)
  await store.commit({ puts: [{ key: 'k', value: new Uint8Array([1]) }] })
  const result = await store.commit({ checks: [{ key: 'k', version: null }], puts: [{ key: 'k', value: new Uint8Array([2]) }] })
  assert.is(result.ok, false)
  await store.close()
  await store.get('k').catch(() => {})
  const parsed = parsePrometheus((await metrics.exposition()).body)
  assert.is(sampleValue(parsed, 'appr_store_commit_conflicts_total', { adapter: 'memory' }), 1)
  assert.is(sampleValue(parsed, 'appr_store_errors_total', { adapter: 'memory', op: 'get' }), 1)
})

/**
 * A memory store where another writer rewrites (same bytes, new version) every key a commit
 * checks, right before the commit, while `interfere` says so: the commit then conflicts, as it
 * would against a real concurrent writer, without depending on timing.
 */
function contendedStore(raw: KvStore, interfere: () => boolean): KvStore {
  return {
    ...raw,
    name: raw.name,
    capabilities: raw.capabilities,
    async commit(commit) {
      if (interfere()) {
        for (const check of commit.checks ?? []) {
          if (check.version === null) continue
          const entry = await raw.get(check.key)
          if (entry) await raw.commit({ puts: [{ key: check.key, value: entry.value }] })
        }
      }
      return raw.commit(commit)
    },
  }
}

test('metrics: mutations by outcome and retried, and their retries, agree with the conflicts', async () => {
  const metrics = createMetrics({ processMetrics: false })
  let interfering = 0
  const store = metrics.store(contendedStore(memoryStore(), () => interfering-- > 0))
  const registry = new Registry({ store, maxRetries: 2, onMutation: metrics.onMutation })
  const read = async () => parsePrometheus((await metrics.exposition()).body)
  const mutations = (parsed: ReturnType<typeof parsePrometheus>, outcome: string, retried: string) => sampleValue(parsed, 'appr_mutations_total', { outcome, retried })

  const zero = await read()
  assert.is(mutations(zero, 'gave-up', 'yes'), 0, 'every series is there before anything happened')
  assert.is(sampleValue(zero, 'appr_mutation_retries_total'), 0)

  await registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: await chart('web', '1.0.0') })
  interfering = 1 // the first attempt conflicts, the second commits
  await registry.channels.add('acme/web', 'stable', '1.0.0')
  interfering = 99 // every attempt conflicts: 1 + maxRetries of them
  const gaveUp = await registry.channels.add('acme/web', 'beta', '1.0.0').then(
    () => undefined,
    (error: unknown) => error,
  )
  assert.ok(isApprError(gaveUp, 'resource-in-use'))
  interfering = 0
  const missing = await registry.delete('acme/nope', '1.0.0', 'helm').then(
    () => undefined,
    (error: unknown) => error,
  )
  assert.ok(isApprError(missing), 'its own error: a failed mutation')

  const parsed = await read()
  assert.is(mutations(parsed, 'committed', 'no'), 1, 'the push')
  assert.is(mutations(parsed, 'committed', 'yes'), 1, 'the channel that won on its second attempt')
  assert.is(mutations(parsed, 'gave-up', 'yes'), 1)
  assert.is(mutations(parsed, 'failed', 'no'), 1)
  assert.is(sampleValue(parsed, 'appr_mutation_retries_total'), 1 + 2)
  assert.is(sampleValue(parsed, 'appr_store_commit_conflicts_total', { adapter: 'memory' }), 1 + 3)
  for (const sample of parsed.get('appr_mutations_total')?.samples ?? []) assert.equal(Object.keys(sample.labels).sort(), ['outcome', 'retried'])
})

test('the strict parser refuses what Prometheus would', () => {
  const ok = '# HELP a_total x\n# TYPE a_total counter\na_total{l="v\\"q"} 1\n'
  assert.is(sampleValue(parsePrometheus(ok), 'a_total', { l: 'v"q' }), 1)
  for (const bad of [
    'a_total 1\n', // no family
    '# TYPE a counter\na{l="v"} 1\na{l="v"} 2\n', // series twice
    '# TYPE a counter\na{l=v} 1\n', // unquoted
    '# TYPE a counter\na 1', // no final newline
    '# TYPE a counter\na -1\n', // negative counter
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 0\n', // not cumulative
    '# TYPE a gauge\na one\n',
  ]) {
    assert.throws(() => parsePrometheus(bad), undefined, bad)
  }
})

test.run()
