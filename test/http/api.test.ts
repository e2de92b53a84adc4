/**
 * Every route of the appr API over real loopback HTTP (node listener, ephemeral port), under
 * `/cnr` and at the root: status, headers and every field the appr client reads.
 */
import { createHash } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { VERSION } from 'appr-core/http'
import { manifestDigest } from 'appr-core/trust'
import { b64, call, chart, makeRegistry, postJson, start } from './helpers.js'

const pkgJson = await import('../../package.json', { with: { type: 'json' } })

for (const prefix of ['/cnr', '']) {
  const test = suite(`api under '${prefix || '/'}'`)
  const ctx: { base: string; close: () => Promise<void> } = { base: '', close: async () => {} }
  const blobs: Record<string, Uint8Array> = {}

  test.before(async () => {
    const { registry } = await makeRegistry()
    const server = await start(registry)
    ctx.base = `${server.url}${prefix}`
    ctx.close = () => server.close()
    blobs.nginx100 = await chart('nginx', '1.0.0')
    blobs.nginx110 = await chart('nginx', '1.1.0')
    blobs.nginx200rc = await chart('nginx', '2.0.0-rc.1')
    blobs.redis = await chart('redis', '3.0.0')
  })
  test.after(() => ctx.close())

  const A = () => `${ctx.base}/api/v1/packages`
  const digest = (bytes: Uint8Array) => createHash('sha256').update(gunzipSync(bytes)).digest('hex')

  test('GET /version reports the appr API level as the reference does (0.7.4), and our version apart; HEAD works; CORS header present', async () => {
    const r = await call(`${ctx.base}/version`)
    assert.is(r.status, 200)
    // The appr client shows `appr-api` as the API level the server speaks: the reference's 0.7.4.
    assert.equal(r.body, { 'appr-api': '0.7.4', 'appr-core': VERSION })
    assert.is(VERSION, pkgJson.default.version)
    assert.is(r.headers.get('access-control-allow-origin'), '*')
    assert.is(r.headers.get('content-type'), 'application/json')
    const head = await fetch(`${ctx.base}/version/`, { method: 'HEAD' })
    assert.is(head.status, 200)
    assert.is(head.headers.get('content-length'), String(JSON.stringify(r.body).length))
    assert.is((await head.arrayBuffer()).byteLength, 0)
    const withOrigin = await fetch(`${ctx.base}/version`, { headers: { origin: 'https://ui.example' } })
    assert.is(withOrigin.headers.get('access-control-allow-origin'), 'https://ui.example')
  })

  test('push: JSON (client shape), form-urlencoded, full media type, default kpm, force', async () => {
    let r = await postJson(`${A()}/acme/nginx?force=false`, {
      blob: b64(blobs.nginx100!),
      release: '1.0.0',
      media_type: 'helm',
      name: 'acme/nginx',
      organization: 'acme',
      package: 'nginx',
      metadata: { source: 'test' },
    })
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body, { status: 'ok' })
    assert.is(r.headers.get('access-control-allow-origin'), '*')

    r = await postJson(`${A()}/acme/nginx`, {
      blob: b64(blobs.nginx110!),
      release: '1.1.0',
      media_type: 'application/vnd.appr.package-manifest.helm.v0.json',
    })
    assert.is(r.status, 200, JSON.stringify(r.body))

    const form = new URLSearchParams({ blob: b64(blobs.nginx200rc!), release: '2.0.0-rc.1', media_type: 'helm' })
    r = await call(`${A()}/acme/nginx/`, { method: 'POST', body: form })
    assert.is(r.status, 200, JSON.stringify(r.body))

    // No media_type: appr's default kpm. Second format on 1.0.0.
    r = await postJson(`${A()}/acme/nginx`, { blob: b64(blobs.nginx100!), release: '1.0.0' })
    assert.is(r.status, 200, JSON.stringify(r.body))

    r = await postJson(`${A()}/library/redis`, { blob: b64(blobs.redis!), release: '3.0.0', media_type: 'docker-compose' })
    assert.is(r.status, 200)

    // Duplicate without force: 409; with ?force=True, body force true or "true": ok.
    r = await postJson(`${A()}/library/redis`, { blob: b64(blobs.redis!), release: '3.0.0', media_type: 'docker-compose' })
    assert.is(r.status, 409)
    assert.is(r.body.code, 'package-exists')
    r = await postJson(`${A()}/library/redis?force=True`, { blob: b64(blobs.redis!), release: '3.0.0', media_type: 'docker-compose' })
    assert.is(r.status, 200)
    r = await postJson(`${A()}/library/redis`, { blob: b64(blobs.redis!), release: '3.0.0', media_type: 'docker-compose', force: true })
    assert.is(r.status, 200)
    r = await postJson(`${A()}/library/redis`, { blob: b64(blobs.redis!), release: '3.0.0', media_type: 'docker-compose', force: 'true' })
    assert.is(r.status, 200)
  })

  test('list: all, by namespace, by media_type, by query', async () => {
    let r = await call(A())
    assert.is(r.status, 200)
    assert.is(r.headers.get('access-control-allow-origin'), '*')
    const names = r.body.map((p: { name: string }) => p.name).sort()
    assert.equal(names, ['acme/nginx', 'library/redis'])
    const nginx = r.body.find((p: { name: string }) => p.name === 'acme/nginx')
    assert.is(nginx.default, '2.0.0-rc.1')
    assert.equal(nginx.releases, ['2.0.0-rc.1', '1.1.0', '1.0.0'])
    assert.equal(nginx.manifests, ['helm'])
    assert.is(nginx.visibility, 'public')
    assert.type(nginx.created_at, 'string')

    r = await call(`${A()}?namespace=library`)
    assert.equal(r.body.map((p: { name: string }) => p.name), ['library/redis'])
    r = await call(`${A()}/?media_type=docker-compose`)
    assert.equal(r.body.map((p: { name: string }) => p.name), ['library/redis'])
    r = await call(`${A()}?media_type=helm`)
    assert.equal(r.body.map((p: { name: string }) => p.name), ['acme/nginx'])
    r = await call(`${A()}?query=ngi`)
    assert.equal(r.body.map((p: { name: string }) => p.name), ['acme/nginx'])
    r = await call(`${A()}?query=${encodeURIComponent('(')}`)
    assert.is(r.status, 200)
    assert.equal(r.body, [])
  })

  test('search', async () => {
    let r = await call(`${A()}/search?q=redis`)
    assert.is(r.status, 200)
    assert.equal(r.body, ['library/redis'])
    r = await call(`${A()}/search/?q=a`)
    assert.equal([...r.body].sort(), ['acme/nginx', 'library/redis'])
    r = await call(`${A()}/search`)
    assert.equal(r.body, [])
  })

  test('show: release queries, formats, the fields the client reads', async () => {
    let r = await call(`${A()}/acme/nginx/1.1.0/helm`)
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.is(r.body.package, 'acme/nginx')
    assert.is(r.body.release, '1.1.0')
    assert.is(r.body.mediaType, 'application/vnd.appr.package-manifest.helm.v0.json')
    assert.is(r.body.content.digest, digest(blobs.nginx110!))
    assert.is(r.body.content.size, blobs.nginx110!.byteLength)
    assert.is(r.body.content.mediaType, 'application/vnd.appr.package.helm.v0.tar+gzip')
    assert.type(r.body.created_at, 'string')
    assert.equal(r.body.channels, [])

    r = await call(`${A()}/acme/nginx/default/helm`)
    assert.is(r.body.release, '2.0.0-rc.1')
    r = await call(`${A()}/acme/nginx/${encodeURIComponent('>=1.0.0,<1.1.0')}/helm`)
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.is(r.body.release, '1.0.0')
    r = await call(`${A()}/acme/nginx/1.0.0/kpm`)
    assert.is(r.body.mediaType, 'application/vnd.appr.package-manifest.kpm.v0.json')
    r = await call(`${A()}/acme/nginx/1.1.0/-`)
    assert.is(r.body.release, '1.1.0')
    r = await call(`${A()}/acme/nginx/1.0.0/helm`)
    assert.equal(r.body.metadata, { source: 'test' })
    assert.is(r.body.package_manifest, undefined, 'the package manifest is opt-in')
  })

  test('show ?contents=true adds the package manifest read from the blob', async () => {
    const r = await call(`${A()}/acme/nginx/1.1.0/helm?contents=true`)
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.is(r.body.release, '1.1.0')
    assert.is(r.body.content.digest, digest(blobs.nginx110!))
    assert.is(r.body.package_manifest.kind, 'helm')
    assert.is(r.body.package_manifest.path, 'nginx/Chart.yaml')
    assert.is(r.body.package_manifest.name, 'nginx')
    assert.is(r.body.package_manifest.version, '1.1.0')
  })

  test('releases and manifests', async () => {
    let r = await call(`${A()}/acme/nginx`)
    assert.is(r.status, 200)
    assert.ok(Array.isArray(r.body))
    assert.is(r.body.length, 4)
    // appr's fields, plus appr-core's manifest digest (docs/trust.md), which a client can recompute.
    for (const m of r.body) {
      assert.equal(Object.keys(m).sort(), ['content', 'created_at', 'manifest_digest', 'mediaType', 'metadata', 'package', 'release'])
      assert.is(m.manifest_digest, manifestDigest(m))
    }
    r = await call(`${A()}/acme/nginx?media_type=kpm`)
    assert.equal(r.body.map((m: { release: string }) => m.release), ['1.0.0'])
    r = await call(`${A()}/acme/nginx?media_type=jsonnet`)
    assert.is(r.status, 200)
    assert.equal(r.body, [])
    r = await call(`${A()}/acme/nginx/1.0.0`)
    assert.is(r.status, 200)
    assert.equal(r.body.map((m: { mediaType: string }) => m.mediaType).sort(), [
      'application/vnd.appr.package-manifest.helm.v0.json',
      'application/vnd.appr.package-manifest.kpm.v0.json',
    ])
  })

  test('pull: gzip bytes with headers, /json and ?format=json', async () => {
    let res = await fetch(`${A()}/acme/nginx/1.1.0/helm/pull`)
    assert.is(res.status, 200)
    assert.is(res.headers.get('content-type'), 'application/x-gzip')
    assert.is(res.headers.get('content-length'), String(blobs.nginx110!.byteLength))
    assert.is(res.headers.get('content-disposition'), 'attachment; filename="acme_nginx_1.1.0.tar.gz"')
    assert.equal(new Uint8Array(await res.arrayBuffer()), blobs.nginx110)

    res = await fetch(`${A()}/acme/nginx/1.1.0/helm/pull?format=tgz`)
    assert.is(res.headers.get('content-type'), 'application/x-gzip')
    await res.arrayBuffer()

    for (const url of [`${A()}/acme/nginx/1.1.0/helm/pull/json`, `${A()}/acme/nginx/1.1.0/helm/pull?format=json`]) {
      const r = await call(url)
      assert.is(r.status, 200)
      assert.is(r.headers.get('content-type'), 'application/json')
      assert.equal(r.body, {
        package: 'acme/nginx',
        blob: b64(blobs.nginx110!),
        release: '1.1.0',
        media_type: 'helm',
        filename: 'acme_nginx_1.1.0.tar.gz',
      })
    }
    const head = await fetch(`${A()}/acme/nginx/1.1.0/helm/pull/json`, { method: 'HEAD' })
    const full = await (await fetch(`${A()}/acme/nginx/1.1.0/helm/pull/json`)).text()
    assert.is(Number(head.headers.get('content-length')), Buffer.byteLength(full))
  })

  test('blob by digest: bytes and JSON', async () => {
    const d = digest(blobs.nginx100!)
    let res = await fetch(`${A()}/acme/nginx/blobs/sha256/${d}`)
    assert.is(res.status, 200)
    assert.is(res.headers.get('content-type'), 'application/x-gzip')
    assert.is(res.headers.get('content-disposition'), `attachment; filename="acme_nginx_${d.slice(0, 8)}.tar.gz"`)
    assert.equal(new Uint8Array(await res.arrayBuffer()), blobs.nginx100)
    for (const url of [`${A()}/acme/nginx/blobs/sha256/${d}/json`, `${A()}/acme/nginx/blobs/sha256/${d}?format=json`]) {
      const r = await call(url)
      assert.is(r.status, 200)
      assert.equal(r.body, { package: 'acme/nginx', blob: b64(blobs.nginx100!), release: d, filename: `acme_nginx_${d.slice(0, 8)}.tar.gz` })
    }
    // Another package's digest, and the sha256 of the gzip bytes: 404 package-not-found.
    let r = await call(`${A()}/acme/nginx/blobs/sha256/${digest(blobs.redis!)}`)
    assert.is(r.status, 404)
    assert.is(r.body.code, 'package-not-found')
    r = await call(`${A()}/acme/nginx/blobs/sha256/${createHash('sha256').update(blobs.nginx100!).digest('hex')}`)
    assert.is(r.status, 404)
    res = await fetch(`${A()}/acme/nginx/blobs/sha256/${d}`, { method: 'HEAD' })
    assert.is(res.headers.get('content-length'), String(blobs.nginx100!.byteLength))
  })

  test('channels: add, show, list, remove release, delete', async () => {
    let r = await call(`${A()}/acme/nginx/channels/stable/1.0.0`, { method: 'POST' })
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body, { name: 'stable', current: '1.0.0', releases: ['1.0.0'] })
    r = await call(`${A()}/acme/nginx/channels/stable/1.1.0`, { method: 'POST' })
    assert.equal(r.body, { name: 'stable', current: '1.1.0', releases: ['1.1.0', '1.0.0'] })
    // Adding an older release makes it current.
    r = await call(`${A()}/acme/nginx/channels/stable/1.0.0`, { method: 'POST' })
    assert.is(r.body.current, '1.0.0')
    r = await call(`${A()}/acme/nginx/channels/beta/2.0.0-rc.1`, { method: 'POST' })
    assert.is(r.status, 200)

    r = await call(`${A()}/acme/nginx/channels/stable`)
    assert.equal(r.body, { name: 'stable', current: '1.0.0', releases: ['1.1.0', '1.0.0'] })
    r = await call(`${A()}/acme/nginx/channels/`)
    assert.is(r.status, 200)
    assert.equal(
      [...r.body].sort((a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1)),
      [
        { name: 'beta', current: '2.0.0-rc.1', releases: ['2.0.0-rc.1'] },
        { name: 'stable', current: '1.0.0', releases: ['1.1.0', '1.0.0'] },
      ],
    )
    // show reports channels whose current is this release.
    r = await call(`${A()}/acme/nginx/1.0.0/helm`)
    assert.equal(r.body.channels, ['stable'])

    r = await call(`${A()}/acme/nginx/channels/stable/1.0.0`, { method: 'DELETE' })
    assert.is(r.status, 200)
    assert.equal(r.body, { status: 'deleted', package: 'acme/nginx', name: 'stable', release: '1.0.0' })
    r = await call(`${A()}/acme/nginx/channels/stable`)
    assert.equal(r.body, { name: 'stable', current: '1.1.0', releases: ['1.1.0'] })
    // Removing a release that is not in the channel is still 200.
    r = await call(`${A()}/acme/nginx/channels/stable/1.0.0`, { method: 'DELETE' })
    assert.is(r.status, 200)

    r = await call(`${A()}/acme/nginx/channels/beta`, { method: 'DELETE' })
    assert.is(r.status, 200)
    assert.equal(r.body, { channel: 'beta', package: 'acme/nginx', action: 'delete' })
    r = await call(`${A()}/acme/nginx/channels/beta`)
    assert.is(r.status, 404)
    assert.is(r.body.code, 'channel-not-found')
  })

  test('delete release: the manifest, then the release, then the package', async () => {
    let r = await call(`${A()}/acme/nginx/1.0.0/kpm`, { method: 'DELETE' })
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body, { status: 'deleted', package: 'acme/nginx', release: '1.0.0' })
    r = await call(`${A()}/acme/nginx/1.0.0/kpm`)
    assert.is(r.status, 404)
    r = await call(`${A()}/acme/nginx/1.0.0/helm`)
    assert.is(r.status, 200)

    // Deleting the channel's last release removes it from the channel (we do better than appr).
    r = await call(`${A()}/acme/nginx/1.1.0/helm`, { method: 'DELETE' })
    assert.is(r.status, 200)
    r = await call(`${A()}/acme/nginx/channels/stable`)
    assert.is(r.status, 404)

    for (const rel of ['1.0.0', '2.0.0-rc.1']) {
      r = await call(`${A()}/acme/nginx/${rel}/helm`, { method: 'DELETE' })
      assert.is(r.status, 200)
    }
    r = await call(`${A()}/acme/nginx`)
    assert.is(r.status, 404)
    assert.is(r.body.code, 'package-not-found')
    r = await call(`${A()}/acme/nginx/channels`)
    assert.is(r.status, 404)
    r = await call(A())
    assert.equal(r.body.map((p: { name: string }) => p.name), ['library/redis'])
  })

  test.run()
}

const paging = suite('list pages')
paging('a list spanning several registry pages is one JSON array, in order, with every filter', async () => {
  const { registry } = await makeRegistry()
  const calls: unknown[] = []
  const small = new Proxy(registry, {
    get: (target, key) =>
      key === 'list'
        ? (options: object) => {
            calls.push(options)
            return target.list({ ...options, limit: 2 })
          }
        : typeof Reflect.get(target, key) === 'function'
          ? (Reflect.get(target, key) as (...a: unknown[]) => unknown).bind(target)
          : Reflect.get(target, key),
  })
  const server = await start(small)
  try {
    const A = `${server.url}/api/v1/packages`
    const names = ['a/one', 'a/two', 'b/three', 'b/four', 'c/five']
    for (const name of names) {
      const r = await postJson(`${A}/${name}`, { blob: b64(await chart(name.split('/')[1]!, '1.0.0')), release: '1.0.0', media_type: 'helm' })
      assert.is(r.status, 200)
    }
    let res = await fetch(A)
    assert.is(res.headers.get('content-type'), 'application/json')
    const all = (await res.json()) as { name: string }[]
    assert.equal(all.map((p) => p.name), [...names].sort())
    assert.ok(calls.length >= 3, 'several pages were read')
    res = await fetch(`${A}?namespace=b`)
    assert.equal(((await res.json()) as { name: string }[]).map((p) => p.name), ['b/four', 'b/three'])
    res = await fetch(`${A}?namespace=zzz`)
    assert.equal(await res.json(), [])
  } finally {
    await server.close()
  }
})
paging.run()

const raw = suite('raw push')
raw('a raw gzip body with fields in the query is stored and pulled back byte for byte', async () => {
  const { registry } = await makeRegistry()
  const server = await start(registry)
  try {
    const A = `${server.url}/cnr/api/v1/packages`
    const blob = new Uint8Array(await chart('raw', '1.0.0'))
    const meta = encodeURIComponent(JSON.stringify({ from: 'raw' }))
    let r = await call(`${A}/acme/raw?release=1.0.0&media_type=helm&metadata=${meta}`, {
      method: 'POST',
      headers: { 'content-type': 'application/gzip' },
      body: blob,
    })
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body, { status: 'ok' })
    r = await call(`${A}/acme/raw/1.0.0/helm`)
    assert.equal(r.body.metadata, { from: 'raw' })
    assert.is(r.body.content.size, blob.byteLength)
    const pulled = new Uint8Array(await (await fetch(`${A}/acme/raw/1.0.0/helm/pull`)).arrayBuffer())
    assert.equal(pulled, blob)
    // Same package again without force: 409; with ?force=true: ok.
    const again = { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: blob }
    assert.is((await call(`${A}/acme/raw?release=1.0.0&media_type=helm`, again)).status, 409)
    assert.is((await call(`${A}/acme/raw?release=1.0.0&media_type=helm&force=true`, again)).status, 200)
  } finally {
    await server.close()
  }
})
raw.run()
