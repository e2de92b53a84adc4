// The OCI Distribution API at /v2/ of createHandler, over a memory registry: endpoint by
// endpoint with the spec's statuses and headers, then real clients: appr-core's own OCI client,
// and skopeo copying between appr-core and a real docker-registry (CNCF distribution 2.8).
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import { EMPTY_JSON, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, ociClient, ociDigestOf, parseManifest, pullRelease, pushRelease } from 'appr-core/oci'
import { type TestDockerRegistry, findBinary, skipOrFail, startDockerRegistry } from '../helpers/servers.js'

const run = promisify(execFile)
const fixtures = new URL('../fixtures/', import.meta.url).pathname
const chart = new Uint8Array(readFileSync(join(fixtures, 'hello-0.1.0+b1.tgz')))
const kubeUi = new Uint8Array(readFileSync(join(fixtures, 'kube-ui.tar.gz')))
const enc = new TextEncoder()

let server: RunningServer
let base: string
const registry = new Registry({ store: memoryStore() })
test.before(async () => {
  server = await serve({ handler: createHandler(registry), port: 0 })
  base = server.url
})
test.after(async () => {
  await server.close()
})

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, init)
  const bytes = new Uint8Array(await res.arrayBuffer())
  let body: { errors?: { code?: string }[]; [key: string]: unknown } | undefined
  try {
    body = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    body = undefined
  }
  return { status: res.status, headers: res.headers, bytes, body }
}
const errorCode = (r: { body: { errors?: { code?: string }[] } | undefined }) => r.body?.errors?.[0]?.code

test('GET /v2/ answers 200 {} with the API version header; unknown /v2 paths are spec errors; appr still answers beside', async () => {
  const ping = await call('/v2/')
  assert.is(ping.status, 200)
  assert.equal(ping.body, {})
  assert.is(ping.headers.get('docker-distribution-api-version'), 'registry/2.0')
  const unknown = await call('/v2/acme/app/nothing/here')
  assert.is(unknown.status, 404)
  assert.ok(Array.isArray(unknown.body?.errors), JSON.stringify(unknown.body))
  const method = await call('/v2/acme/app/tags/list', { method: 'POST' })
  assert.is(method.status, 405)
  assert.is(errorCode(method), 'UNSUPPORTED')
  assert.match(method.headers.get('allow') ?? '', 'GET')
  assert.is((await call('/version')).status, 200)
  assert.is((await call('/cnr/version')).status, 200)
})

test('uploads: POST, PATCH with and without Content-Range, status, PUT ?digest=; monolithic POST ?digest=; cancel; mount', async () => {
  const data = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff)
  const digest = ociDigestOf(data)
  const started = await call('/v2/acme/app/blobs/uploads/', { method: 'POST' })
  assert.is(started.status, 202)
  const location = started.headers.get('location')!
  assert.match(location, /^\/v2\/acme\/app\/blobs\/uploads\/[0-9a-f-]{36}$/)
  assert.ok(started.headers.get('docker-upload-uuid'))
  const first = await call(location, { method: 'PATCH', headers: { 'content-range': '0-999', 'content-type': 'application/octet-stream' }, body: data.subarray(0, 1000) })
  assert.is(first.status, 202)
  assert.is(first.headers.get('range'), '0-999')
  const wrong = await call(location, { method: 'PATCH', headers: { 'content-range': '500-999' }, body: data.subarray(500, 1000) })
  assert.is(wrong.status, 416)
  assert.is(errorCode(wrong), 'RANGE_INVALID')
  const second = await call(first.headers.get('location')!, { method: 'PATCH', body: data.subarray(1000, 2000) })
  assert.is(second.headers.get('range'), '0-1999')
  const status = await call(location)
  assert.is(status.status, 204)
  assert.is(status.headers.get('range'), '0-1999')
  const done = await call(`${location}?digest=${digest}`, { method: 'PUT', body: data.subarray(2000) })
  assert.is(done.status, 201)
  assert.is(done.headers.get('docker-content-digest'), digest)
  assert.is(done.headers.get('location'), `/v2/acme/app/blobs/${digest}`)
  assert.is((await call(location)).status, 404)

  const head = await fetch(`${base}/v2/acme/app/blobs/${digest}`, { method: 'HEAD' })
  assert.is(head.status, 200)
  assert.is(head.headers.get('content-length'), '3000')
  assert.is(head.headers.get('docker-content-digest'), digest)
  const full = await call(`/v2/acme/app/blobs/${digest}`)
  assert.equal(full.bytes, data)
  const partial = await call(`/v2/acme/app/blobs/${digest}`, { headers: { range: 'bytes=10-19' } })
  assert.is(partial.status, 206)
  assert.is(partial.headers.get('content-range'), 'bytes 10-19/3000')
  assert.equal(partial.bytes, data.subarray(10, 20))
  const outside = await call(`/v2/acme/app/blobs/${digest}`, { headers: { range: 'bytes=5000-' } })
  assert.is(outside.status, 416)
  assert.is(outside.headers.get('content-range'), 'bytes */3000')

  const mono = enc.encode('monolithic')
  const monoDone = await call(`/v2/acme/app/blobs/uploads/?digest=${ociDigestOf(mono)}`, { method: 'POST', body: mono })
  assert.is(monoDone.status, 201)
  const badDigest = await call(`/v2/acme/app/blobs/uploads/?digest=${ociDigestOf('other')}`, { method: 'POST', body: mono })
  assert.is(badDigest.status, 400)
  assert.is(errorCode(badDigest), 'DIGEST_INVALID')

  const mounted = await call(`/v2/acme/copy/blobs/uploads/?mount=${digest}&from=acme/app`, { method: 'POST' })
  assert.is(mounted.status, 201)
  assert.is(mounted.headers.get('location'), `/v2/acme/copy/blobs/${digest}`)
  const notMounted = await call(`/v2/acme/copy/blobs/uploads/?mount=${ociDigestOf('nope')}&from=acme/app`, { method: 'POST' })
  assert.is(notMounted.status, 202)
  const cancelled = await call(notMounted.headers.get('location')!, { method: 'DELETE' })
  assert.is(cancelled.status, 204)
  assert.is((await call(notMounted.headers.get('location')!)).status, 404)

  assert.is((await call(`/v2/acme/copy/blobs/${digest}`, { method: 'DELETE' })).status, 202)
  const gone = await call(`/v2/acme/copy/blobs/${digest}`)
  assert.is(gone.status, 404)
  assert.is(errorCode(gone), 'BLOB_UNKNOWN')
  assert.is(errorCode(await call('/v2/acme/app/blobs/sha256:xyz')), 'DIGEST_INVALID')
})

test('manifests by tag and digest, with their media type; tags and catalog with Link paging; DELETE', async () => {
  const client = ociClient({ url: base })
  const config = await client.pushBlob('deep/a/b/repo', EMPTY_JSON)
  const manifest = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_EMPTY, ...config }, layers: [] }))
  for (const tag of ['v3', 'v1', 'v2']) await client.putManifest('deep/a/b/repo', tag, manifest, OCI_MANIFEST)
  const got = await call('/v2/deep/a/b/repo/manifests/v1')
  assert.is(got.status, 200)
  assert.is(got.headers.get('content-type'), OCI_MANIFEST)
  assert.is(got.headers.get('docker-content-digest'), ociDigestOf(manifest))
  assert.equal(got.bytes, manifest)
  const page = await call('/v2/deep/a/b/repo/tags/list?n=2')
  assert.equal(page.body, { name: 'deep/a/b/repo', tags: ['v1', 'v2'] })
  assert.is(page.headers.get('link'), '</v2/deep/a/b/repo/tags/list?n=2&last=v2>; rel="next"')
  const all: string[] = []
  for await (const tag of client.tags('deep/a/b/repo', { pageSize: 1 })) all.push(tag)
  assert.equal(all, ['v1', 'v2', 'v3'])
  const repositories = (await call('/v2/_catalog')).body?.repositories
  assert.ok(Array.isArray(repositories) && repositories.includes('deep/a/b/repo'), JSON.stringify(repositories))
  assert.is(errorCode(await call('/v2/deep/a/b/repo/tags/list?n=x')), 'PAGINATION_NUMBER_INVALID')
  assert.is(errorCode(await call('/v2/no/such/tags/list')), 'NAME_UNKNOWN')
  const missing = await call('/v2/deep/a/b/repo/manifests/nope')
  assert.is(missing.status, 404)
  assert.is(errorCode(missing), 'MANIFEST_UNKNOWN')
  // A reference that cannot be a tag is not found (the conformance suite's nonexistent manifest); a PUT there is TAG_INVALID.
  for (const method of ['GET', 'HEAD']) assert.is((await call('/v2/deep/a/b/repo/manifests/.INVALID_MANIFEST_NAME', { method })).status, 404, method)
  const badTag = await call('/v2/deep/a/b/repo/manifests/.INVALID_MANIFEST_NAME', { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: manifest })
  assert.is(errorCode(badTag), 'TAG_INVALID')
  assert.is((await call(`/v2/deep/a/b/repo/manifests/${ociDigestOf(manifest)}`, { method: 'DELETE' })).status, 202)
  assert.is((await call('/v2/deep/a/b/repo/manifests/v1')).status, 404)
  const invalid = await call('/v2/deep/a/b/repo/manifests/x', { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: '{"schemaVersion":2}' })
  assert.is(invalid.status, 400)
  assert.is(errorCode(invalid), 'MANIFEST_INVALID')
})

test('referrers: a manifest with a subject is listed under it (filtered by artifactType) and answered with OCI-Subject', async () => {
  const client = ociClient({ url: base })
  const config = await client.pushBlob('acme/signed', EMPTY_JSON)
  const subject = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_EMPTY, ...config }, layers: [] }))
  const subjectDigest = await client.putManifest('acme/signed', 'v1', subject, OCI_MANIFEST)
  const descriptor = { mediaType: OCI_MANIFEST, digest: subjectDigest, size: subject.byteLength }
  const referrer = (artifactType: string) =>
    enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config: { mediaType: OCI_EMPTY, ...config }, layers: [], subject: descriptor, annotations: { kind: artifactType } }))
  const signature = referrer('application/vnd.example.signature')
  const sbom = referrer('application/vnd.example.sbom')
  for (const bytes of [signature, sbom]) {
    const put = await call(`/v2/acme/signed/manifests/${ociDigestOf(bytes)}`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: bytes })
    assert.is(put.status, 201)
    assert.is(put.headers.get('oci-subject'), subjectDigest)
  }
  const all = await call(`/v2/acme/signed/referrers/${subjectDigest}`)
  assert.is(all.status, 200)
  assert.is(all.headers.get('content-type'), OCI_INDEX)
  const manifests = (all.body?.manifests ?? []) as { digest: string; artifactType?: string; annotations?: Record<string, string> }[]
  assert.equal(manifests.map((m) => m.digest).sort(), [ociDigestOf(signature), ociDigestOf(sbom)].sort())
  assert.equal(manifests.find((m) => m.digest === ociDigestOf(sbom))?.annotations, { kind: 'application/vnd.example.sbom' })
  const filtered = await call(`/v2/acme/signed/referrers/${subjectDigest}?artifactType=application/vnd.example.sbom`)
  assert.is(filtered.headers.get('oci-filters-applied'), 'artifactType')
  assert.equal(((filtered.body?.manifests ?? []) as { digest: string }[]).map((m) => m.digest), [ociDigestOf(sbom)])
  assert.equal((await call(`/v2/acme/signed/referrers/${ociDigestOf('nothing')}`)).body?.manifests, [])
  await call(`/v2/acme/signed/manifests/${ociDigestOf(sbom)}`, { method: 'DELETE' })
  const left = ((await call(`/v2/acme/signed/referrers/${subjectDigest}`)).body?.manifests ?? []) as { digest: string }[]
  assert.equal(left.map((m) => m.digest), [ociDigestOf(signature)])
})

/** Runs `body` with skopeo and a throwaway docker-registry (skipped, or failed under CI, without them). */
async function withPeer(
  body: (tools: { skopeo: string; peer: TestDockerRegistry; here: string; copy: (from: string, to: string, all?: boolean) => Promise<unknown> }) => Promise<void>,
): Promise<void> {
  const skopeo = findBinary('skopeo')
  if (!skopeo) {
    skipOrFail('oci /v2/ with skopeo', 'install skopeo (apt-get install skopeo)')
    return
  }
  const peer: TestDockerRegistry | undefined = await startDockerRegistry({ suite: 'oci /v2/ with docker-registry' })
  if (!peer) return
  const copy = (from: string, to: string, all = false) =>
    // biome-ignore format: flag list
    run(skopeo, ['copy', ...(all ? ['--all'] : []), '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${from}`, `docker://${to}`])
  try {
    await body({ skopeo, peer, here: new URL(base).host, copy })
  } finally {
    await peer.stop()
  }
}

test('skopeo copies releases between appr-core and docker-registry, both ways, byte for byte', () =>
  withPeer(async ({ skopeo, peer, here, copy }) => {
    const local = ociClient({ url: base })
    const remote = ociClient({ url: peer.url })
    // A Helm chart pushed into appr-core, read with skopeo, copied out and back under another name.
    const pushed = await pushRelease(local, { repository: 'charts/hello', package: 'charts/hello', release: '0.1.0+b1', formats: [{ format: 'helm', blob: chart }] })
    const raw = await run(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${here}/charts/hello:0.1.0_b1`], { encoding: 'buffer' })
    assert.is(ociDigestOf(new Uint8Array(raw.stdout)), pushed.digest)
    assert.equal(JSON.parse((await run(skopeo, ['list-tags', '--tls-verify=false', `docker://${here}/charts/hello`])).stdout).Tags, ['0.1.0_b1'])
    await copy(`${here}/charts/hello:0.1.0_b1`, `${peer.host}/mirror/hello:0.1.0_b1`)
    assert.equal((await pullRelease(remote, 'mirror/hello', '0.1.0_b1')).formats[0]!.blob, chart)
    await copy(`${peer.host}/mirror/hello:0.1.0_b1`, `${here}/back/hello:0.1.0_b1`)
    const back = await pullRelease(local, 'back/hello', '0.1.0_b1')
    assert.is(back.digest, pushed.digest)
    assert.equal(back.formats[0]!.blob, chart)

    // A multi-format release pushed straight into docker-registry, copied into appr-core with --all.
    const multi = await pushRelease(remote, { repository: 'acme/multi', package: 'acme/multi', release: '2.0.0', formats: [{ format: 'kpm', blob: kubeUi }, { format: 'helm', blob: chart }] })
    assert.is(multi.mediaType, OCI_INDEX)
    await copy(`${peer.host}/acme/multi:2.0.0`, `${here}/acme/multi:2.0.0`, true)
    const copied = await pullRelease(local, 'acme/multi', '2.0.0')
    assert.is(copied.digest, multi.digest, 'the index digest survives the copy')
    assert.equal(copied.formats.map((f) => [f.format, f.blob]), [['helm', chart], ['kpm', kubeUi]])
    assert.is(parseManifest((await local.getManifest('acme/multi', '2.0.0'))!.bytes).manifests.length, 2)
  }),
)

test('skopeo copies an appr-pushed release to docker-registry and back: the digests appr-core serves survive, and the copy is a release again', () =>
  withPeer(async ({ skopeo, peer, here, copy }) => {
    await registry.push({ package: 'appr/hello', release: '1.0.0', format: 'helm', blob: chart })
    await registry.push({ package: 'appr/multi', release: '3.0.0', format: 'helm', blob: chart })
    await registry.push({ package: 'appr/multi', release: '3.0.0', format: 'kpm', blob: kubeUi })
    await registry.channels.add('appr/multi', 'stable', '3.0.0')
    for (const [pkg, tag, mediaType] of [['appr/hello', '1.0.0', OCI_MANIFEST], ['appr/multi', '3.0.0', OCI_INDEX]] as const) {
      const served = (await registry.ociManifests.get(pkg, tag))!
      assert.is(served.mediaType, mediaType)
      const raw = await run(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${here}/${pkg}:${tag}`], { encoding: 'buffer' })
      assert.is(ociDigestOf(new Uint8Array(raw.stdout)), served.digest)
      await copy(`${here}/${pkg}:${tag}`, `${peer.host}/peer/${pkg}:${tag}`, true)
      assert.is((await ociClient({ url: peer.url }).headManifest(`peer/${pkg}`, tag))?.digest, served.digest, `${pkg} keeps its digest in docker-registry`)
      const back = `copy/${pkg.split('/')[1]}`
      await copy(`${peer.host}/peer/${pkg}:${tag}`, `${here}/${back}:${tag}`, true)
      assert.is((await registry.ociManifests.head(back, tag))?.digest, served.digest, `${pkg} keeps its digest back in appr-core`)
      // The copy is an appr release again, pulled byte for byte through the appr API.
      for (const m of await registry.manifests(pkg, tag)) {
        const format = m.mediaType.split('.')[3]!
        const pulled = await registry.pull(back, { release: tag, format })
        const parts: Uint8Array[] = []
        for await (const part of pulled.stream) parts.push(part)
        const bytes = new Uint8Array(Buffer.concat(parts))
        assert.equal(bytes, format === 'helm' ? chart : kubeUi)
        assert.is(pulled.digest, m.content.digest)
      }
    }
    assert.equal(JSON.parse((await run(skopeo, ['list-tags', '--tls-verify=false', `docker://${here}/appr/multi`])).stdout).Tags, ['3.0.0', 'stable'])
  }),
)

test.run()
