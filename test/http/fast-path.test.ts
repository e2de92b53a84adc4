// The node listener's fast path (request views and replies written directly) against the fetch
// handler: the same requests, in the same order, to two registries that start alike (same clock,
// same bytes), one answered by `handler(new Request(…))`, the other over HTTP through
// `serve`; status, headers (less those node:http adds for the connection) and body bytes must be
// identical. Then the fallbacks: a route or middleware that answers a WHATWG Response.
import { request as httpRequest } from 'node:http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler, type HandlerOptions } from 'appr-core/http'
import { createNodeListener, type RunningServer, serve } from 'appr-core/http/node'
import { coreOf, fetchMiddleware, fetchOf } from '../../src/http/core.js'
import { withCors } from '../../src/http/middleware/cors.js'
import { withHead } from '../../src/http/middleware/head.js'
import { b64, chart } from './helpers.js'

/** Headers node:http adds for the connection, which a `Response` does not carry. */
const CONNECTION_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding'])

interface Exchange {
  readonly method: string
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: string | Uint8Array
}

interface Seen {
  readonly status: number
  readonly headers: [string, string][]
  readonly body: string
}

const sorted = (entries: Iterable<[string, string]>): [string, string][] =>
  [...entries].filter(([name]) => !CONNECTION_HEADERS.has(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

async function viaFetch(handler: (request: Request) => Promise<Response>, { method, path, headers, body }: Exchange): Promise<Seen> {
  const init: RequestInit & { duplex?: 'half' } = { method, ...(headers && { headers }), ...(body !== undefined && { body: body as BodyInit, duplex: 'half' }) }
  const response = await handler(new Request(`http://127.0.0.1${path}`, init))
  const bytes = Buffer.from(await response.arrayBuffer())
  const seen: [string, string][] = []
  for (const [name, value] of response.headers) if (name !== 'set-cookie') seen.push([name, value])
  for (const cookie of response.headers.getSetCookie()) seen.push(['set-cookie', cookie])
  return { status: response.status, headers: sorted(seen), body: bytes.toString('latin1') }
}

function viaNode(port: number, { method, path, headers, body }: Exchange): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const seen: [string, string][] = []
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) seen.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!])
        resolve({ status: res.statusCode ?? 0, headers: sorted(seen), body: Buffer.concat(chunks).toString('latin1') })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** OCI upload sessions have random ids: the same exchange names a different one on each side. */
function maskUploadIds(seen: Seen): Seen {
  const id = seen.headers.find(([name]) => name === 'docker-upload-uuid')?.[1]
  if (id === undefined) return seen
  return { ...seen, headers: seen.headers.map(([name, value]) => [name, value.replaceAll(id, '<id>')]) }
}

const clock = () => new Date('2026-01-02T03:04:05.000Z')
const options: HandlerOptions = {
  events: true,
  maxBodyBytes: 256 * 1024,
  ui: { script: 'console.log(1)', style: 'body{}' },
  login: ({ username, password }) => (username === 'u' && password === 'p' ? 'token-1' : undefined),
}

let fetchSide: (request: Request) => Promise<Response>
let nodeSide: RunningServer
test.before(async () => {
  fetchSide = createHandler(new Registry({ store: memoryStore(), clock, events: true }), options)
  const handler = createHandler(new Registry({ store: memoryStore(), clock, events: true }), options)
  assert.ok(coreOf(handler), 'createHandler attaches its core, so serve takes the fast path')
  nodeSide = await serve({ handler, port: 0 })
})
test.after(async () => {
  await nodeSide.close()
})

async function same(exchange: Exchange): Promise<Seen> {
  const a = maskUploadIds(await viaFetch(fetchSide, exchange))
  const b = maskUploadIds(await viaNode(nodeSide.port, exchange))
  const what = `${exchange.method} ${exchange.path}`
  assert.is(b.status, a.status, `${what}: status`)
  assert.equal(b.headers, a.headers, `${what}: headers`)
  assert.is(b.body, a.body, `${what}: body`)
  return a
}

const json = { 'content-type': 'application/json' }
const P = '/api/v1/packages'

test('every appr route answers the same bytes on both paths: pushes, reads, channels, errors, HEAD, OPTIONS', async () => {
  const v1 = await chart('app', '1.0.0')
  const v2 = await chart('app', '2.0.0')
  const v3 = await chart('app', '3.0.0')
  const exchanges: Exchange[] = [
    { method: 'GET', path: '/version' },
    { method: 'GET', path: '/cnr/version', headers: { origin: 'https://ui.example' } },
    // Pushes: JSON (appr's), form-urlencoded, raw gzip with the fields in the query.
    { method: 'POST', path: `${P}/ns/app`, headers: json, body: JSON.stringify({ blob: b64(v1), release: '1.0.0', media_type: 'helm' }) },
    {
      method: 'POST',
      path: `${P}/ns/app`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ blob: b64(v2), release: '2.0.0', media_type: 'helm', metadata: '{"a":1}' }).toString(),
    },
    { method: 'POST', path: `${P}/ns/app?release=3.0.0&media_type=helm`, headers: { 'content-type': 'application/gzip' }, body: v3 },
    { method: 'POST', path: P, headers: json, body: JSON.stringify({ package: 'ns/other', blob: b64(v1), release: '1.0.0' }) },
    // Push errors: conflict, no release, not JSON, bad base64, a bad name, too large (413).
    { method: 'POST', path: `${P}/ns/app`, headers: json, body: JSON.stringify({ blob: b64(v1), release: '1.0.0', media_type: 'helm' }) },
    { method: 'POST', path: `${P}/ns/app`, headers: json, body: JSON.stringify({ blob: b64(v1) }) },
    { method: 'POST', path: `${P}/ns/app`, headers: json, body: '{"blob": ' },
    { method: 'POST', path: `${P}/ns/app`, headers: json, body: JSON.stringify({ blob: '!!!', release: '4.0.0' }) },
    { method: 'POST', path: `${P}/NS!/app`, headers: json, body: JSON.stringify({ blob: b64(v1), release: '1.0.0' }) },
    { method: 'POST', path: `${P}/ns/big?release=1.0.0`, headers: { 'content-type': 'application/gzip' }, body: new Uint8Array(300 * 1024) },
    // Reads.
    { method: 'GET', path: P },
    { method: 'GET', path: `${P}?namespace=ns&media_type=helm` },
    { method: 'GET', path: `${P}/search?q=app` },
    { method: 'GET', path: `${P}/ns/app` },
    { method: 'GET', path: `${P}/ns/app?media_type=helm` },
    { method: 'GET', path: `${P}/ns/app/1.0.0` },
    { method: 'GET', path: `${P}/ns/app/1.0.0/helm` },
    { method: 'GET', path: `${P}/ns/app/1.0.0/helm?contents=true` },
    { method: 'GET', path: `${P}/ns/app/default/helm` },
    { method: 'GET', path: `${P}/ns/app/1.0.0/helm/pull` },
    { method: 'GET', path: `${P}/ns/app/2.0.0/helm/pull?format=json` },
    { method: 'GET', path: `${P}/ns/app/3.0.0/helm/pull/json` },
    { method: 'HEAD', path: `${P}/ns/app/1.0.0/helm/pull` },
    { method: 'HEAD', path: `${P}/ns/app/1.0.0/helm` },
    { method: 'HEAD', path: `${P}/ns/nothing/1.0.0/helm` },
    { method: 'GET', path: `${P}/ns/app/9.9.9/helm` },
    { method: 'GET', path: `${P}/ns/app/1.0.0/kpm/pull` },
    // Channels.
    { method: 'POST', path: `${P}/ns/app/channels/stable/1.0.0` },
    { method: 'POST', path: `${P}/ns/app/channels/stable/2.0.0` },
    { method: 'GET', path: `${P}/ns/app/channels` },
    { method: 'GET', path: `${P}/ns/app/channels/stable` },
    { method: 'DELETE', path: `${P}/ns/app/channels/stable/1.0.0` },
    { method: 'DELETE', path: `${P}/ns/app/channels/stable` },
    { method: 'GET', path: `${P}/ns/app/channels/stable` },
    // Signatures (none), delete, then the release is gone.
    { method: 'GET', path: `${P}/ns/app/1.0.0/helm/signatures` },
    { method: 'POST', path: `${P}/ns/app/1.0.0/helm/signatures`, headers: json, body: '[]' },
    { method: 'DELETE', path: `${P}/ns/app/3.0.0/helm` },
    { method: 'GET', path: `${P}/ns/app/3.0.0/helm` },
    // Routing: OPTIONS and CORS, 405, 404, bad percent-encoding, dot segments, encoded names.
    { method: 'OPTIONS', path: `${P}/ns/app`, headers: { origin: 'https://ui.example', 'access-control-request-headers': 'X-Custom' } },
    { method: 'OPTIONS', path: `${P}/ns/app/1.0.0/helm/pull` },
    { method: 'PUT', path: `${P}/ns/app`, headers: { origin: 'https://ui.example', vary: 'x' } },
    { method: 'PATCH', path: '/version' },
    { method: 'GET', path: '/nothing/here' },
    { method: 'GET', path: `${P}/ns/%zz` },
    { method: 'GET', path: `${P}/ns/app/../app/1.0.0/helm` },
    { method: 'GET', path: `${P}/ns/app/%2e%2e/app/1.0.0/helm` },
    { method: 'GET', path: `${P}/%6es/app/1.0.0/helm?x=%20y+z&x='"<>{}|^\\` },
    { method: 'GET', path: `${P}/ns/app/1.0.0/helm?contents=True#fragment` },
    { method: 'GET', path: `/cnr${P}/ns/app/1.0.0/helm/`, headers: { 'x-many': 'a', 'X-Many': 'b' } },
    // Paged listing, namespaces (a Link to the next page), the web UI.
    { method: 'GET', path: `${P}?limit=1` },
    { method: 'GET', path: `${P}?limit=0` },
    { method: 'GET', path: '/api/v1/namespaces?limit=1' },
    { method: 'GET', path: '/ui/' },
    { method: 'HEAD', path: '/ui/app.js' },
    { method: 'GET', path: '/ui/app.js', headers: { 'accept-encoding': 'gzip' } },
    { method: 'GET', path: '/ui/app.css', headers: { origin: 'https://ui.example' } },
    // Login, events, Helm.
    { method: 'POST', path: '/api/v1/users/login', headers: json, body: JSON.stringify({ user: { username: 'u', password: 'p' } }) },
    { method: 'POST', path: '/api/v1/users/login', headers: json, body: JSON.stringify({ user: { username: 'u', password: 'x' } }) },
    { method: 'GET', path: '/api/v1/events?limit=3' },
    { method: 'GET', path: '/api/v1/events?limit=x' },
    { method: 'GET', path: '/helm/ns/index.yaml' },
    { method: 'GET', path: '/helm/index.yaml' },
    { method: 'GET', path: '/helm/ns/charts/app/1.0.0/app-1.0.0.tgz' },
    { method: 'GET', path: '/helm/ns/charts/app/1.0.0/wrong.tgz' },
  ]
  for (const exchange of exchanges) await same(exchange)
  // Conditional Helm requests, with the ETags each side gave.
  const index = await same({ method: 'GET', path: '/helm/ns/index.yaml' })
  const etag = index.headers.find(([name]) => name === 'etag')![1]
  await same({ method: 'GET', path: '/helm/ns/index.yaml', headers: { 'if-none-match': etag } })
  await same({ method: 'HEAD', path: '/helm/ns/index.yaml' })
})

test('OCI routes answer the same bytes on both paths', async () => {
  const config = new TextEncoder().encode('{}')
  const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(config).digest('hex')}`
  const layer = new Uint8Array(1000).map((_, i) => i % 251)
  const layerDigest = `sha256:${(await import('node:crypto')).createHash('sha256').update(layer).digest('hex')}`
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest, size: config.byteLength },
    layers: [{ mediaType: 'application/octet-stream', digest: layerDigest, size: layer.byteLength }],
  })
  const exchanges: Exchange[] = [
    { method: 'GET', path: '/v2/' },
    { method: 'GET', path: '/v2' },
    { method: 'POST', path: `/v2/team/img/blobs/uploads/?digest=${digest}`, headers: { 'content-type': 'application/octet-stream' }, body: config },
    { method: 'POST', path: '/v2/team/img/blobs/uploads/' },
    { method: 'POST', path: `/v2/team/img/blobs/uploads/?digest=${layerDigest}`, headers: { 'content-type': 'application/octet-stream' }, body: layer },
    { method: 'HEAD', path: `/v2/team/img/blobs/${layerDigest}` },
    { method: 'GET', path: `/v2/team/img/blobs/${layerDigest}` },
    { method: 'GET', path: `/v2/team/img/blobs/${layerDigest}`, headers: { range: 'bytes=10-19' } },
    { method: 'GET', path: `/v2/team/img/blobs/${layerDigest}`, headers: { range: 'bytes=5000-' } },
    { method: 'PUT', path: '/v2/team/img/manifests/v1', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest },
    { method: 'GET', path: '/v2/team/img/manifests/v1' },
    { method: 'HEAD', path: '/v2/team/img/manifests/v1' },
    { method: 'GET', path: '/v2/team/img/manifests/v2' },
    { method: 'GET', path: '/v2/team/img/tags/list?n=10' },
    { method: 'GET', path: '/v2/team/img/tags/list?n=x' },
    { method: 'GET', path: '/v2/_catalog' },
    { method: 'GET', path: `/v2/team/img/referrers/${digest}` },
    { method: 'DELETE', path: '/v2/team/img/tags/list' },
    { method: 'GET', path: '/v2/team/img/blobs/sha256:00' },
    { method: 'GET', path: '/v2/%zz/blobs/x' },
    { method: 'OPTIONS', path: '/v2/team/img/manifests/v1', headers: { origin: 'https://ui.example' } },
  ]
  for (const exchange of exchanges) await same(exchange)
})

test('fallbacks: a route answering a Response and a fetch-style middleware work on the node path', async () => {
  // A core whose route answers a WHATWG Response with two cookies, wrapped by a middleware
  // written against fetch that adds a header, then by HEAD and CORS.
  const stamp = fetchMiddleware((next) => async (request) => {
    const response = await next(request)
    response.headers.set('x-stamp', request.headers.get('x-in') ?? 'none')
    return response
  })
  const route = async (request: { method: string; path: string }) => {
    const headers = new Headers({ 'content-type': 'text/plain' })
    headers.append('set-cookie', 'a=1')
    headers.append('set-cookie', 'b=2')
    return new Response(`${request.method} ${request.path}`, { status: 200, headers })
  }
  const handler = fetchOf(withCors(withHead(stamp(route))))
  const server = await serve({ handler, port: 0 })
  try {
    for (const exchange of [
      { method: 'GET', path: '/x?y=1', headers: { 'x-in': 'hello' } },
      { method: 'HEAD', path: '/x' },
      { method: 'POST', path: '/p', body: 'data', headers: { origin: 'https://o.example' } },
    ]) {
      const a = await viaFetch(handler, exchange)
      const b = await viaNode(server.port, exchange)
      assert.is(b.status, a.status)
      assert.equal(b.headers, a.headers)
      assert.is(b.body, a.body)
      assert.ok(a.headers.some(([name, value]) => name === 'set-cookie' && value === 'b=2'))
    }
  } finally {
    await server.close()
  }
  // A plain fetch function (no core) still runs through the WHATWG bridge.
  const plain = async (request: Request) => new Response(`plain ${new URL(request.url).pathname}`)
  assert.is(coreOf(plain), undefined)
  const bridge = await serve({ handler: plain, port: 0 })
  try {
    const seen = await viaNode(bridge.port, { method: 'GET', path: '/z' })
    assert.is(seen.body, 'plain /z')
  } finally {
    await bridge.close()
  }
  assert.type(createNodeListener(handler), 'function')
})

test.run()
