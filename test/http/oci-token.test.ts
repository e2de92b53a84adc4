// The Bearer token flow of /v2/ on createHandler: challenges with realm, service and scope; the
// token endpoint exchanging Basic credentials (through `login`) or a held token; the anonymous
// token; appr-core's own OCI client going through the flow.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler, type HandlerOptions } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import { ociClient, ociDigestOf } from 'appr-core/oci'
import { rejectsOci } from '../oci/helpers.js'

// Two users, each with a password and a token of their own, as a library user would wire them.
const users = new Map([
  ['alice', { password: 'alice-pass', token: 'alice-token' }],
  ['bob', { password: 'bob-pass', token: 'bob-token' }],
])
const principalOf = (token: string) => [...users].find(([, u]) => u.token === token)?.[0]
const seen: { operation: string; principal: string | undefined }[] = []
const hooks: HandlerOptions<string> = {
  authenticate: (request) => {
    const header = request.headers.get('authorization')
    return header === null ? undefined : principalOf(header.replace(/^Bearer\s+/i, ''))
  },
  login: ({ username, password }) => (users.get(username)?.password === password ? users.get(username)!.token : undefined),
  // bob may only read.
  authorize: ({ principal, action, operation }) => {
    seen.push({ operation, principal })
    return action === 'read' || principal === 'alice'
  },
}

let server: RunningServer
let base: string
let host: string
test.before(async () => {
  server = await serve({ handler: createHandler(new Registry({ store: memoryStore() }), hooks), port: 0 })
  base = server.url
  host = new URL(base).host
})
test.after(async () => {
  await server.close()
})

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const codeOf = async (res: Response) => ((await res.json()) as { errors: { code: string }[] }).errors[0]!.code

test('a 401 on /v2/ is a Bearer challenge naming the realm, the service and the scope the request needs', async () => {
  const cases: [string, string, string | undefined][] = [
    ['POST', '/v2/acme/app/blobs/uploads/', 'repository:acme/app:pull,push'],
    ['PUT', '/v2/acme/deep/app/manifests/1.0.0', 'repository:acme/deep/app:pull,push'],
    ['DELETE', '/v2/acme/app/manifests/1.0.0', 'repository:acme/app:delete'],
    ['GET', '/v2/', undefined],
  ]
  for (const [method, path, scope] of cases) {
    const res = await fetch(`${base}${path}`, { method })
    assert.is(res.status, 401, `${method} ${path}`)
    assert.is(await codeOf(res), 'UNAUTHORIZED')
    const expected = `Bearer realm="http://${host}/v2/token",service="appr-core"${scope ? `,scope="${scope}"` : ''}`
    assert.is(res.headers.get('www-authenticate'), expected, `${method} ${path}`)
  }
  // Behind a TLS proxy the realm says https.
  const proxied = await fetch(`${base}/v2/`, { headers: { 'x-forwarded-proto': 'https' } })
  assert.match(proxied.headers.get('www-authenticate') ?? '', `realm="https://${host}/v2/token"`)
})

test('the token endpoint exchanges Basic credentials through login, and a token authenticate accepts; refuses anything else with 401', async () => {
  const get = (authorization?: string, query = '?service=appr-core&scope=repository:acme/app:pull,push') =>
    fetch(`${base}/v2/token${query}`, { headers: authorization ? { authorization } : {} })
  const byPassword = await get(basic('alice', 'alice-pass'))
  assert.is(byPassword.status, 200)
  assert.is(byPassword.headers.get('cache-control'), 'no-store')
  const body = (await byPassword.json()) as { token: string; access_token: string; expires_in: number; issued_at: string }
  assert.is(body.token, 'alice-token')
  assert.is(body.access_token, 'alice-token')
  assert.ok(body.expires_in >= 60 && !Number.isNaN(Date.parse(body.issued_at)))
  assert.is(((await (await get('Bearer bob-token')).json()) as { token: string }).token, 'bob-token')
  assert.is(((await (await get('bob-token')).json()) as { token: string }).token, 'bob-token', 'the appr form, a bare token')
  for (const bad of [basic('alice', 'wrong'), basic('nobody', 'alice-pass'), 'Bearer forged', `Basic ${Buffer.from('no-colon').toString('base64')}`]) {
    const res = await get(bad)
    assert.is(res.status, 401, bad)
    assert.is(await codeOf(res), 'UNAUTHORIZED')
  }
  // OAuth2 form (docker with an identity token, oras with ForceAttemptOAuth2).
  const form = (fields: Record<string, string>) =>
    fetch(`${base}/v2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })
  const oauth = (await (await form({ grant_type: 'password', username: 'bob', password: 'bob-pass', service: 'appr-core', scope: 'repository:a/b:pull' })).json()) as Record<string, unknown>
  assert.is(oauth.access_token, 'bob-token')
  const refreshed = (await (await form({ grant_type: 'refresh_token', refresh_token: 'alice-token', service: 'appr-core' })).json()) as Record<string, unknown>
  assert.is(refreshed.access_token, 'alice-token')
  assert.is((await form({ grant_type: 'refresh_token', refresh_token: 'forged' })).status, 401)
  assert.is((await form({ grant_type: 'client_credentials' })).status, 405)
})

test('no credentials get the anonymous token: it reads what anonymous callers may, answers the ping, and pushes nothing', async () => {
  const anonymous = (await (await fetch(`${base}/v2/token?scope=repository:acme/app:pull`)).json()) as { token: string }
  assert.type(anonymous.token, 'string')
  const bearer = { authorization: `Bearer ${anonymous.token}` }
  assert.is((await fetch(`${base}/v2/`, { headers: bearer })).status, 200)
  assert.is((await fetch(`${base}/v2/acme/app/tags/list`, { headers: bearer })).status, 404, 'a read runs (the repository does not exist)')
  const push = await fetch(`${base}/v2/acme/app/blobs/uploads/`, { method: 'POST', headers: bearer })
  assert.is(push.status, 401)
  // The anonymous token is no credential to exchange either: it gives itself back, nothing more.
  assert.is(((await (await fetch(`${base}/v2/token`, { headers: bearer })).json()) as { token: string }).token, anonymous.token)
})

test("appr-core's OCI client goes through the token flow: the principal is the user's, authorize decides per request", async () => {
  const bytes = new TextEncoder().encode('pushed through a Bearer token')
  const alice = ociClient({ url: base, auth: { username: 'alice', password: 'alice-pass' } })
  await alice.ping()
  seen.length = 0
  const pushed = await alice.pushBlob('acme/app', bytes)
  assert.is(pushed.digest, ociDigestOf(bytes))
  // The first request goes out bare (its 401 names the scope to fetch a token for), then every one carries alice's token.
  assert.is(seen[0]!.principal, undefined)
  assert.ok(seen.length >= 2 && seen.slice(1).every((s) => s.principal === 'alice'), JSON.stringify(seen))
  // bob's token reads, and is refused a push with 403 (authenticated, not allowed).
  const bob = ociClient({ url: base, auth: { username: 'bob', password: 'bob-pass' } })
  assert.is((await bob.headBlob('acme/app', pushed.digest))?.size, bytes.byteLength)
  await rejectsOci(bob.pushBlob('acme/app', bytes), 'DENIED', 403)
  // A token given as is works without the exchange; wrong credentials fail at the token endpoint.
  assert.ok(await ociClient({ url: base, auth: { token: 'alice-token' } }).pushBlob('acme/other', bytes))
  await rejectsOci(ociClient({ url: base, auth: { username: 'alice', password: 'nope' } }).pushBlob('acme/app', bytes), 'UNAUTHORIZED', 401)
  // Anonymous: the client fetches the anonymous token and reads.
  const anonymous = ociClient({ url: base })
  await anonymous.ping()
  assert.ok(await anonymous.headBlob('acme/app', pushed.digest))
  await rejectsOci(anonymous.pushBlob('acme/app', bytes), 'UNAUTHORIZED', 401)
})

test("ociAuth: 'basic' keeps the Basic challenge and serves no token endpoint; bearer without login exchanges only tokens", async () => {
  const registry = new Registry({ store: memoryStore() })
  const basicOnly = await serve({ handler: createHandler(registry, { ...hooks, ociAuth: { challenge: 'basic' } }), port: 0 })
  const noLogin = await serve({
    handler: createHandler(registry, { authenticate: hooks.authenticate!, ociAuth: { challenge: 'bearer', realm: 'https://auth.example/token', service: 'registry.example' } }),
    port: 0,
  })
  try {
    const challenged = await fetch(`${basicOnly.url}/v2/acme/app/blobs/uploads/`, { method: 'POST' })
    assert.is(challenged.headers.get('www-authenticate'), 'Basic realm="appr-core"')
    assert.is((await fetch(`${basicOnly.url}/v2/token`)).status, 404)
    const pushed = await ociClient({ url: basicOnly.url, auth: { username: 'x', password: 'alice-token' } })
      .pushBlob('acme/app', new Uint8Array([1]))
      .catch((e: unknown) => e)
    assert.ok(pushed instanceof Error, 'Basic with a password is not a token this authenticate knows')
    const res = await fetch(`${noLogin.url}/v2/acme/app/manifests/1.0.0`, { method: 'PUT' })
    assert.is(res.headers.get('www-authenticate'), 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:acme/app:pull,push"')
    assert.is((await fetch(`${noLogin.url}/v2/token`, { headers: { authorization: basic('alice', 'alice-pass') } })).status, 401)
    assert.is((await fetch(`${noLogin.url}/v2/token`, { headers: { authorization: 'Bearer alice-token' } })).status, 200)
  } finally {
    await basicOnly.close()
    await noLogin.close()
  }
})

test.run()
