/**
 * Bad input over loopback HTTP: every case gets appr's error shape with the right code and
 * status, never a 500, and a failed push stores nothing. Also options: envelope, prefix, CORS,
 * auth hooks, login, unexpected exceptions.
 */
import { request as httpRequest } from 'node:http'
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ApprError } from 'appr-core'
import { createHandler } from 'appr-core/http'
import { serve } from 'appr-core/http/node'
import { type JsonBody, b64, call, chart, makeRegistry, postJson, start } from './helpers.js'

const ctx = { base: '', close: async () => {}, good: '' }
const LIMIT = 64 * 1024

test.before(async () => {
  const { registry } = await makeRegistry()
  const server = await start(registry, { maxBodyBytes: LIMIT })
  ctx.base = `${server.url}/cnr/api/v1/packages`
  ctx.close = () => server.close()
  ctx.good = b64(await chart('web', '1.0.0'))
  // A release with two formats (for the ambiguous '-') and one channel-less package.
  for (const media_type of ['helm', 'kpm']) {
    const r = await postJson(`${ctx.base}/acme/web`, { blob: ctx.good, release: '1.0.0', media_type })
    assert.is(r.status, 200)
  }
})
test.after(() => ctx.close())

function expectError(r: { status: number; body: JsonBody }, status: number, code: string | string[]): void {
  const codes = Array.isArray(code) ? code : [code]
  assert.ok(codes.includes(r.body?.code), `code ${JSON.stringify(r.body)} not in ${codes}`)
  assert.is(r.status, status, JSON.stringify(r.body))
  assert.type(r.body.message, 'string')
  assert.type(r.body.details, 'object')
}

async function packageNames(): Promise<string[]> {
  return (await call(ctx.base)).body.map((p: { name: string }) => p.name).sort()
}

test('unknown routes are 404 resource-not-found, wrong methods 405 with Allow', async () => {
  const root = ctx.base.replace('/cnr/api/v1/packages', '')
  expectError(await call(`${root}/nope`), 404, 'resource-not-found')
  expectError(await call(`${root}/cnr/api/v1/nope`), 404, 'resource-not-found')
  expectError(await call(`${root}/cnr/api/v1/packages/a/b/1.0.0/helm/pull/xml`), 404, 'resource-not-found')
  expectError(await call(`${root}/cnr/api//v1/packages`), 404, 'resource-not-found')
  // Login is absent unless a login hook is configured.
  expectError(await call(`${root}/api/v1/users/login`, { method: 'POST', body: '{}' }), 404, 'resource-not-found')
  let r = await call(`${root}/version`, { method: 'DELETE' })
  expectError(r, 405, 'method-not-allowed')
  assert.is(r.headers.get('allow'), 'GET')
  r = await call(ctx.base, { method: 'PUT', body: '{}' })
  expectError(r, 405, 'method-not-allowed')
  assert.is(r.headers.get('allow'), 'GET, POST')
  expectError(await call(`${ctx.base}/acme/web/1.0.0/helm/pull`, { method: 'POST' }), 405, 'method-not-allowed')
  const options = await fetch(`${ctx.base}/acme/web/channels/x`, { method: 'OPTIONS', headers: { origin: 'https://ui' } })
  assert.is(options.status, 204)
  assert.is(options.headers.get('access-control-allow-methods'), 'GET, DELETE, HEAD, OPTIONS')
  assert.is(options.headers.get('access-control-allow-origin'), 'https://ui')
  expectError(await call(`${ctx.base}/acme/%E0%A4%A/1.0.0`), 400, 'invalid-usage')
})

test('push bodies: malformed, empty, array, missing fields, bad base64, not gzip: 4xx, nothing stored', async () => {
  const before = await packageNames()
  const url = `${ctx.base}/acme/bad`
  const raw = (body: string, type = 'application/json') => call(url, { method: 'POST', headers: { 'content-type': type }, body })
  expectError(await raw('{"blob": '), 400, 'invalid-usage')
  expectError(await raw(''), 400, 'invalid-usage')
  expectError(await raw('[1,2]'), 400, 'invalid-usage')
  expectError(await raw('null'), 400, 'invalid-usage')
  expectError(await raw('"text"'), 400, 'invalid-usage')
  expectError(await postJson(url, { blob: ctx.good }), 422, 'invalid-release')
  expectError(await postJson(url, { blob: ctx.good, release: null }), 422, 'invalid-release')
  expectError(await postJson(url, { release: '1.0.0' }), 422, 'invalid-parameters')
  expectError(await postJson(url, { blob: 42, release: '1.0.0' }), 422, 'invalid-parameters')
  expectError(await postJson(url, { blob: ctx.good, release: '1.0.0', media_type: 7 }), 422, 'invalid-parameters')
  expectError(await postJson(url, { blob: 'not base64!!', release: '1.0.0' }), 422, 'invalid-parameters')
  expectError(await postJson(url, { blob: 'abcde', release: '1.0.0' }), 422, 'invalid-parameters')
  expectError(await postJson(url, { blob: b64(new TextEncoder().encode('plain text, not gzip')), release: '1.0.0' }), 400, 'invalid-usage')
  expectError(await postJson(url, { blob: '', release: '1.0.0' }), 400, 'invalid-usage')
  // Raw pushes are checked the same way before anything is stored.
  expectError(await call(`${url}?release=1.0.0`, { method: 'POST', headers: { 'content-type': 'application/gzip' }, body: 'not gzip' }), 400, 'invalid-usage')
  expectError(await call(url, { method: 'POST', headers: { 'content-type': 'application/gzip' }, body: 'x' }), 422, 'invalid-release')
  expectError(await raw('blob=%%%&release=1.0.0', 'application/x-www-form-urlencoded'), 422, 'invalid-parameters')
  assert.equal(await packageNames(), before)
})

test('bad names, releases, queries; absent channel; ambiguous format; duplicate push', async () => {
  const before = await packageNames()
  expectError(await postJson(`${ctx.base}/_bad/name`, { blob: ctx.good, release: '1.0.0' }), 422, 'invalid-parameters')
  expectError(await postJson(`${ctx.base}/acme/bad%2Fname`, { blob: ctx.good, release: '1.0.0' }), 422, 'invalid-parameters')
  for (const release of ['v1.0.0', '1.0', 'abc']) {
    expectError(await postJson(`${ctx.base}/acme/bad`, { blob: ctx.good, release }), 422, 'invalid-release')
  }
  assert.equal(await packageNames(), before)
  expectError(await call(`${ctx.base}/acme/web/${encodeURIComponent('>>1')}/helm`), 422, 'invalid-release')
  expectError(await call(`${ctx.base}/acme/web/abc/helm/pull`), 422, 'invalid-release')
  expectError(await call(`${ctx.base}/acme/web/9.9.9/helm`), 404, 'package-release-not-found')
  expectError(await call(`${ctx.base}/acme/nothere/1.0.0/helm`), 404, 'package-not-found')
  expectError(await call(`${ctx.base}/acme/nothere`), 404, 'package-not-found')
  expectError(await call(`${ctx.base}/acme/web/1.0.0/-`), 400, 'invalid-usage')
  expectError(await call(`${ctx.base}/acme/web/1.0.0/-/pull`), 400, 'invalid-usage')
  expectError(await call(`${ctx.base}/acme/web/channels/nope`), 404, 'channel-not-found')
  expectError(await call(`${ctx.base}/acme/web/channels/nope`, { method: 'DELETE' }), 404, 'channel-not-found')
  expectError(await call(`${ctx.base}/acme/web/channels/nope/1.0.0`, { method: 'DELETE' }), 404, 'channel-not-found')
  expectError(await call(`${ctx.base}/acme/web/channels/stable/9.9.9`, { method: 'POST' }), 404, 'package-release-not-found')
  expectError(await call(`${ctx.base}/acme/web/channels/stable/x.y`, { method: 'POST' }), 422, 'invalid-release')
  // A channel takes an exact release: a query names no release, so 404 as the reference answers.
  for (const query of ['>1.0', '1.x', '^1.0.0', '>=1.0.0,<2']) {
    const r = await call(`${ctx.base}/acme/web/channels/stable/${encodeURIComponent(query)}`, { method: 'POST' })
    expectError(r, 404, 'package-release-not-found')
    assert.is(r.body.details.release, query)
  }
  // A bad release names its input `release`, as the reference does.
  for (const url of [`${ctx.base}/acme/web/${encodeURIComponent('>>1')}/helm`, `${ctx.base}/acme/web/channels/stable/x.y`]) {
    const r = await call(url, { method: url.includes('channels') ? 'POST' : 'GET' })
    assert.ok(r.body.details.release !== undefined && r.body.details.version === undefined, JSON.stringify(r.body))
  }
  const badPush = await postJson(`${ctx.base}/acme/bad`, { blob: ctx.good, release: 'v1' })
  assert.equal(badPush.body.details, { release: 'v1' })
  expectError(await call(`${ctx.base}/acme/nothere/channels/stable/1.0.0`, { method: 'POST' }), 404, 'package-not-found')
  expectError(await call(`${ctx.base}/acme/web/blobs/sha256/${'0'.repeat(64)}`), 404, 'package-not-found')
  expectError(await postJson(`${ctx.base}/acme/web`, { blob: ctx.good, release: '1.0.0', media_type: 'helm' }), 409, 'package-exists')
  expectError(await postJson(`${ctx.base}/acme/web?force=false`, { blob: ctx.good, release: '1.0.0', media_type: 'helm', force: 'no' }), 409, 'package-exists')
})

/** Sends a body through node:http so we control Content-Length and chunking. */
function rawPost(url: string, headers: Record<string, string>, chunks: Buffer[]): Promise<{ status: number; body: JsonBody }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)))
    for (const chunk of chunks) req.write(chunk)
    req.end()
  })
}

test('oversized bodies: 413 payload-too-large by Content-Length and while reading; nothing stored', async () => {
  const before = await packageNames()
  const big = JSON.stringify({ blob: 'A'.repeat(LIMIT), release: '1.0.0' })
  // Declared length over the limit: refused before reading.
  let r = await rawPost(`${ctx.base}/acme/huge`, { 'content-length': String(big.length) }, [Buffer.from(big)])
  expectError(r, 413, 'payload-too-large')
  assert.is(r.body.details.limit, LIMIT)
  // Chunked, no Content-Length: refused once the count passes the limit.
  const chunks = Array.from({ length: 8 }, (_, i) => Buffer.from(big.slice(i * (big.length / 8), (i + 1) * (big.length / 8) + (i === 7 ? 8 : 0))))
  r = await rawPost(`${ctx.base}/acme/huge`, { 'transfer-encoding': 'chunked' }, chunks)
  expectError(r, 413, 'payload-too-large')
  assert.equal(await packageNames(), before)
})

test('property: arbitrary push bodies never give a 5xx and store nothing', async () => {
  const before = await packageNames()
  const body = fc.oneof(
    fc.string(),
    fc.json(),
    fc.record({ blob: fc.oneof(fc.string(), fc.base64String(), fc.constant(ctx.good)), release: fc.oneof(fc.string(), fc.constant('v1'), fc.integer()), media_type: fc.oneof(fc.string(), fc.constant('-'), fc.constant('helm')) }, { requiredKeys: [] }),
  )
  await fc.assert(
    fc.asyncProperty(body, fc.constantFrom('acme/fuzz', 'Acme/Fuzz', '-x/y', 'a/b%20c'), async (payload, pkg) => {
      const r = await call(`${ctx.base}/${pkg}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof payload === 'string' ? payload : JSON.stringify(payload),
      })
      if (r.status === 200) {
        // A valid push slipped through (good blob + valid release): remove it again.
        const release = (payload as { release: string }).release
        const format = (payload as { media_type?: string }).media_type || 'kpm'
        await call(`${ctx.base}/${pkg}/${release}/${encodeURIComponent(format)}`, { method: 'DELETE' })
        return
      }
      assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${JSON.stringify(r.body)}`)
      assert.type(r.body.code, 'string')
    }),
    { numRuns: 60 },
  )
  assert.equal(await packageNames(), before)
})

test('unexpected exceptions: 500 internal-error without internals; onError sees them', async () => {
  const seen: unknown[] = []
  const exploding = new Proxy({} as never, {
    get: () => async () => {
      throw new Error('connect ECONNREFUSED /secret/path/db.sqlite')
    },
  })
  const server = await serve({ handler: createHandler(exploding, { onError: (e) => seen.push(e) }), port: 0 })
  try {
    const r = await call(`${server.url}/api/v1/packages/a/b`)
    expectError(r, 500, 'internal-error')
    assert.not.match(JSON.stringify(r.body), 'secret')
    assert.is(seen.length, 1)
  } finally {
    await server.close()
  }
})

test('a store outage is 503 unavailable with Retry-After when transient', async () => {
  const down = new Proxy({} as never, {
    get: () => async () => {
      throw new ApprError('unavailable', 'the store is closed', { transient: true })
    },
  })
  const server = await serve({ handler: createHandler(down), port: 0 })
  try {
    const r = await call(`${server.url}/api/v1/packages`)
    expectError(r, 503, 'unavailable')
    assert.is(r.headers.get('retry-after'), '1')
  } finally {
    await server.close()
  }
})

test('options: quay error envelope, custom prefix, CORS off', async () => {
  const { registry } = await makeRegistry()
  const server = await start(registry, { errorEnvelope: 'quay', prefix: '/appr/', cors: false })
  try {
    const r = await call(`${server.url}/appr/api/v1/packages/acme/none`)
    assert.is(r.status, 404)
    assert.is(r.body.error.code, 'package-not-found')
    assert.type(r.body.error.message, 'string')
    assert.is(r.headers.get('access-control-allow-origin'), null)
    assert.is((await call(`${server.url}/cnr/version`)).status, 404)
    assert.is((await call(`${server.url}/version`)).status, 404)
    assert.is((await call(`${server.url}/appr/version`)).status, 200)
  } finally {
    await server.close()
  }
})

test('auth hooks: authenticate + authorize, default policy, login route', async () => {
  const { registry } = await makeRegistry()
  const blob = ctx.good
  const calls: string[] = []
  const server = await start(registry, {
    authenticate: (req) => (req.headers.get('authorization') === 'tok-alice' ? 'alice' : req.headers.get('authorization') === 'tok-bob' ? 'bob' : undefined),
    authorize: ({ principal, action, operation, package: pkg }) => {
      calls.push(`${principal ?? '-'} ${action} ${operation} ${pkg ?? ''}`)
      if (action === 'read') return true
      return principal === 'alice' || (principal === 'bob' && pkg?.startsWith('bob/') === true)
    },
    login: ({ username, password }) => (username === 'alice' && password === 'pw' ? 'tok-alice' : undefined),
  })
  const A = `${server.url}/cnr/api/v1/packages`
  try {
    expectError(await postJson(`${A}/acme/x`, { blob, release: '1.0.0' }), 401, 'unauthorized-access')
    expectError(await postJson(`${A}/acme/x`, { blob, release: '1.0.0' }, { authorization: 'tok-bob' }), 403, 'forbidden')
    assert.is((await postJson(`${A}/bob/x`, { blob, release: '1.0.0' }, { authorization: 'tok-bob' })).status, 200)
    assert.is((await postJson(`${A}/acme/x`, { blob, release: '1.0.0' }, { authorization: 'tok-alice' })).status, 200)
    assert.is((await call(`${A}/acme/x/1.0.0/kpm`)).status, 200)
    expectError(await call(`${A}/acme/x/1.0.0/kpm`, { method: 'DELETE' }), 401, 'unauthorized-access')
    assert.ok(calls.includes('alice write push acme/x'))
    assert.ok(calls.includes('- read show acme/x'))

    let r = await postJson(`${server.url}/cnr/api/v1/users/login`, { user: { username: 'alice', password: 'pw' } })
    assert.is(r.status, 200)
    assert.equal(r.body, { token: 'tok-alice' })
    expectError(await postJson(`${server.url}/api/v1/users/login`, { user: { username: 'alice', password: 'no' } }), 401, 'unauthorized-access')
    r = await postJson(`${server.url}/api/v1/users/login`, { nothing: true })
    expectError(r, 422, 'invalid-parameters')
  } finally {
    await server.close()
  }

  // Default policy with authenticate only: reads open, writes need a principal.
  const open = await start((await makeRegistry()).registry, { authenticate: (req) => req.headers.get('authorization') ?? undefined })
  try {
    const B = `${open.url}/api/v1/packages`
    expectError(await postJson(`${B}/acme/y`, { blob, release: '1.0.0' }), 401, 'unauthorized-access')
    assert.is((await postJson(`${B}/acme/y`, { blob, release: '1.0.0' }, { authorization: 'anything' })).status, 200)
    assert.is((await call(`${B}/acme/y`)).status, 200)
  } finally {
    await open.close()
  }
})

test.run()
