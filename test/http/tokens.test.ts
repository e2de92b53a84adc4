/**
 * Scoped tokens (`scopedTokens`) enforced by the handler's auth check, scope × route family:
 * appr, OCI (/v2/), Helm, the change feed, with public and private reads, namespace globs,
 * appr's 401/403 codes (OCI's UNAUTHORIZED/DENIED) and the token file's validation.
 */
import { createHash } from 'node:crypto'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler, parseTokens, scopedTokens, type TokenSpec } from 'appr-core/http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { b64, chart } from './helpers.js'

const TOKENS: TokenSpec[] = [
  { name: 'reader', token: 'tok-read', scopes: ['read'] },
  { name: 'writer', token: 'tok-write', scopes: ['write'] },
  { name: 'admin', sha256: createHash('sha256').update('tok-admin').digest('hex'), scopes: ['admin'] },
  { name: 'acme-writer', token: 'tok-acme-write', scopes: ['write'], namespaces: ['acme-*'] },
  { name: 'acme-reader', token: 'tok-acme-read', scopes: ['read'], namespaces: ['ACME-W*'] },
]
const WHO = { anonymous: undefined, wrong: 'tok-nope', reader: 'tok-read', writer: 'tok-write', admin: 'tok-admin', acmeWriter: 'tok-acme-write', acmeReader: 'tok-acme-read' } as const
type Who = keyof typeof WHO

interface Probe {
  readonly method: string
  readonly path: string
  readonly body?: () => Promise<string>
}
const push = (pkg: string): Probe => ({
  method: 'POST',
  path: `/cnr/api/v1/packages/${pkg}?force=true`,
  body: async () => JSON.stringify({ blob: b64(await chart('app', '1.0.0')), release: '1.0.0', media_type: 'helm' }),
})
const PROBES = {
  apprRead: { method: 'GET', path: '/cnr/api/v1/packages/acme-web/app' },
  apprList: { method: 'GET', path: '/cnr/api/v1/packages' },
  apprListNs: { method: 'GET', path: '/cnr/api/v1/packages?namespace=acme-web' },
  apprWrite: push('acme-web/app'),
  apprWriteOther: push('other/app'),
  ociRead: { method: 'GET', path: '/v2/acme-web/app/tags/list' },
  ociWrite: { method: 'POST', path: '/v2/acme-web/app/blobs/uploads/' },
  ociWriteOther: { method: 'POST', path: '/v2/other/app/blobs/uploads/' },
  helmRead: { method: 'GET', path: '/cnr/helm/acme-web/index.yaml' },
  events: { method: 'GET', path: '/api/v1/events' },
} satisfies Record<string, Probe>
type ProbeName = keyof typeof PROBES

// ok = allowed (whatever the route then answers), 401/403 = refused by the auth check.
type Outcome = 'ok' | 401 | 403
const row = (outcomes: string): Record<ProbeName, Outcome> => {
  const parts = outcomes.split(/\s+/).map((o) => (o === 'ok' ? 'ok' : (Number(o) as 401 | 403)))
  return Object.fromEntries(Object.keys(PROBES).map((name, i) => [name, parts[i]!])) as Record<ProbeName, Outcome>
}
//                       apprRead list listNs write other ociRead ociWrite ociOther helm events
const PUBLIC: Record<Who, Record<ProbeName, Outcome>> = {
  anonymous: row('ok       ok   ok     401   401   ok      401      401      ok   401'),
  wrong: row('ok       ok   ok     401   401   ok      401      401      ok   401'),
  reader: row('ok       ok   ok     403   403   ok      403      403      ok   ok'),
  writer: row('ok       ok   ok     ok    ok    ok      ok       ok       ok   ok'),
  admin: row('ok       ok   ok     ok    ok    ok      ok       ok       ok   ok'),
  acmeWriter: row('ok       ok   ok     ok    403   ok      ok       403      ok   403'),
  acmeReader: row('ok       ok   ok     403   403   ok      403      403      ok   403'),
}
const PRIVATE: Record<Who, Record<ProbeName, Outcome>> = {
  anonymous: row('401      401  401    401   401   401     401      401      401  401'),
  wrong: row('401      401  401    401   401   401     401      401      401  401'),
  reader: row('ok       ok   ok     403   403   ok      403      403      ok   ok'),
  writer: row('ok       ok   ok     ok    ok    ok      ok       ok       ok   ok'),
  admin: row('ok       ok   ok     ok    ok    ok      ok       ok       ok   ok'),
  acmeWriter: row('ok       403  ok     ok    403   ok      ok       403      ok   403'),
  acmeReader: row('ok       403  ok     403   403   ok      403      403      ok   403'),
}

async function matrix(privateReads: boolean, expected: Record<Who, Record<ProbeName, Outcome>>): Promise<void> {
  const registry = new Registry({ store: memoryStore(), events: true })
  await registry.push({ package: 'acme-web/app', release: '0.1.0', format: 'helm', blob: await chart('app', '0.1.0') })
  const handler = createHandler(registry, { events: true, ...scopedTokens(TOKENS, { privateReads }) })
  for (const [who, token] of Object.entries(WHO) as [Who, string | undefined][]) {
    for (const [name, probe] of Object.entries(PROBES) as [ProbeName, Probe][]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (token !== undefined) headers.authorization = token
      const response = await handler(new Request(`http://registry${probe.path}`, { method: probe.method, headers, ...(probe.body && { body: await probe.body() }) }))
      const text = await response.text()
      const want = expected[who][name]
      const where = `${privateReads ? 'private' : 'public'} ${who} ${name}: ${response.status} ${text.slice(0, 200)}`
      if (want === 'ok') {
        assert.ok(response.status !== 401 && response.status !== 403, where)
        assert.ok(response.status < 500, where)
        continue
      }
      assert.is(response.status, want, where)
      const body = JSON.parse(text) as { code?: string; message?: string; errors?: { code: string }[] }
      if (probe.path.startsWith('/v2/')) {
        assert.is(body.errors?.[0]?.code, want === 401 ? 'UNAUTHORIZED' : 'DENIED', where)
        if (want === 401) assert.match(response.headers.get('www-authenticate') ?? '', /^(Basic|Bearer) /, where)
      } else {
        assert.is(body.code, want === 401 ? 'unauthorized-access' : 'forbidden', where)
        // A token that matches nobody is told so; no token at all is asked for one.
        if (want === 401) assert.match(body.message ?? '', who === 'wrong' ? 'not valid' : 'authentication required', where)
      }
    }
  }
}

test('public reads: every scope × appr, OCI, Helm and the feed', () => matrix(false, PUBLIC))
test('private reads: anonymous refused everywhere; namespace tokens only where a namespace is named', () => matrix(true, PRIVATE))

test('tokens travel as the appr client, Bearer and Basic send them; login answers any user with a token as password', async () => {
  const { authenticate, login } = scopedTokens(TOKENS)
  const req = (authorization: string) => new Request('http://r/', { headers: { authorization } })
  assert.is((await authenticate(req('tok-write')))?.name, 'writer')
  assert.is((await authenticate(req('Bearer tok-admin')))?.name, 'admin')
  assert.is((await authenticate(req(`Basic ${Buffer.from('anyone:tok-read').toString('base64')}`)))?.name, 'reader')
  assert.is(await authenticate(req(`Basic ${Buffer.from('tok-read').toString('base64')}`)), undefined)
  assert.is(await authenticate(req('tok-writ')), undefined)
  assert.is(await authenticate(req('tok-writee')), undefined)
  const admin = await authenticate(req('tok-admin'))
  assert.equal([...(admin?.scopes ?? [])].sort(), ['admin', 'read', 'write'])
  const input = (password: string) => ({ username: 'x', password, request: new Request('http://r/') })
  assert.is(await login(input('tok-acme-read')), 'tok-acme-read')
  assert.is(await login(input('nope')), undefined)
})

test('a bad tokens file is refused naming the entry', () => {
  assert.equal(parseTokens({ tokens: [{ name: 'a', token: 't', scopes: ['read'] }] }).length, 1)
  assert.equal(parseTokens([{ name: 'a', token: 't', scopes: ['read'] }]).length, 1)
  for (const [bad, message] of [
    [{ tokens: [{ name: 'a', token: 't', scopes: ['read'] }, { name: 'b', token: 't', scopes: ['root'] }] }, 'at token 1 (scopes.0)'],
    [{ tokens: 'x' }, 'expected a list of tokens'],
    [[{ name: 'a', scopes: ['read'] }], 'exactly one of token and sha256'],
    [[{ name: 'a', token: 't', sha256: 'ab', scopes: ['read'] }], 'sha256'],
    [[{ name: 'a', token: ' ', scopes: ['read'] }], 'must not be empty'],
    [[{ name: 'a', token: 't', scopes: ['read'], namespaces: ['a/b'] }], 'namespace glob'],
    [[{ name: 'a', token: 't', scopes: ['read'], extra: 1 }], 'extra'],
    [
      [
        { name: 'a', token: 't', scopes: ['read'] },
        { name: 'a', token: 'u', scopes: ['read'] },
      ],
      "two tokens are named 'a'",
    ],
  ] as const) {
    assert.throws(() => parseTokens(bad), (e: Error) => e.message.includes(message) && (e as { code?: string }).code === 'invalid-parameters', JSON.stringify(bad))
  }
})

test('without authorize hooks, admin routes are never open', async () => {
  const { authCheck } = await import('../../src/http/middleware/auth.js')
  const { fetchRequestView } = await import('../../src/http/request-view.js')
  const endpoint = { operation: 'admin-stats', action: 'admin', run: async () => new Response() } as const
  const open = authCheck({})
  await open(fetchRequestView(new Request('http://r/')), { operation: 'list', run: endpoint.run }, '')
  try {
    await open(fetchRequestView(new Request('http://r/')), endpoint, '')
    assert.unreachable('an admin route ran without authentication')
  } catch (e) {
    assert.is((e as { code?: string }).code, 'unauthorized-access')
  }
})

test.run()
