// The handler's `ui` option: /ui at the host's root whatever the prefix, the page's <meta> naming
// where the API and the Helm view are, and nothing at /ui without the option.
import { gunzipSync } from 'node:zlib'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHandler, type HandlerOptions, UI_CSP } from 'appr-core/http'
import { makeRegistry } from './helpers.js'

const assets = { script: 'console.log("app")', style: 'body{}' }

async function configOf(options: HandlerOptions): Promise<unknown> {
  const { registry } = await makeRegistry()
  const response = await createHandler(registry, { ...options, ui: assets })(new Request('http://x/ui/'))
  assert.is(response.status, 200)
  assert.is(response.headers.get('content-security-policy'), UI_CSP)
  const meta = /<meta name="appr-ui" content="([^"]*)">/.exec(await response.text())
  return JSON.parse(meta![1]!.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code))))
}

test('the page tells the app where the API and the Helm view are', async () => {
  assert.equal(await configOf({}), { api: '/api/v1', helm: '/helm', oci: true })
  assert.equal(await configOf({ prefix: '/cnr', helm: false, oci: false }), { api: '/cnr/api/v1', helm: null, oci: false })
  assert.equal(await configOf({ prefix: ['/registry/'] }), { api: '/registry/api/v1', helm: '/registry/helm', oci: true })
})

test('assets are served as given, cacheable by version; HEAD works; no ui option, no /ui', async () => {
  const { registry } = await makeRegistry()
  const handler = createHandler(registry, { ui: assets, prefix: '/cnr' })
  const page = await (await handler(new Request('http://x/ui'))).text()
  const version = /app\.js\?v=([0-9a-f]{16})/.exec(page)?.[1]
  assert.ok(version, 'the page names the script by version')
  const script = await handler(new Request(`http://x/ui/app.js?v=${version}`))
  assert.is(await script.text(), assets.script)
  assert.is(script.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  const head = await handler(new Request('http://x/ui/app.css', { method: 'HEAD' }))
  assert.is(head.status, 200)
  assert.is(await head.text(), '')
  assert.is((await handler(new Request('http://x/ui/app.js', { method: 'POST' }))).status, 405)
  assert.is((await createHandler(registry)(new Request('http://x/ui'))).status, 404)
})

test('assets go gzipped to clients that accept it, plain to others', async () => {
  const { registry } = await makeRegistry()
  const big = { script: `export const x = ${JSON.stringify('appr '.repeat(2000))}`, style: 'body{}' }
  const handler = createHandler(registry, { ui: big })
  for (let i = 0; i < 2; i++) {
    const zipped = await handler(new Request('http://x/ui/app.js', { headers: { 'accept-encoding': 'gzip, deflate, br' } }))
    assert.is(zipped.headers.get('content-encoding'), 'gzip')
    assert.is(zipped.headers.get('vary'), 'Accept-Encoding')
    assert.match(zipped.headers.get('etag') ?? '', /-gz"$/, 'the gzipped variant has its own ETag')
    const bytes = new Uint8Array(await zipped.arrayBuffer())
    assert.is(Number(zipped.headers.get('content-length')), bytes.byteLength)
    assert.ok(bytes.byteLength < big.script.length / 10, `compressed (${bytes.byteLength} bytes)`)
    assert.is(gunzipSync(bytes).toString(), big.script)
  }
  const plain = await handler(new Request('http://x/ui/app.js', { headers: { 'accept-encoding': 'identity' } }))
  assert.is(plain.headers.get('content-encoding'), null)
  assert.is(await plain.text(), big.script)
})

test.run()
