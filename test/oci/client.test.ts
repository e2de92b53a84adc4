// appr-core/oci's client against a real docker-registry (CNCF distribution 2.8) started here:
// every call, paging, the spec errors the registry answers, Basic auth (htpasswd) and Bearer
// tokens (the registry's token auth, with a token service of the test), and a Helm chart pushed
// as an OCI artifact and read back with skopeo.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler } from 'appr-core/http'
import { serve } from 'appr-core/http/node'
import { inspectArchive } from 'appr-core/archive'
import {
  HELM_CHART_LAYER,
  HELM_CONFIG,
  OCI_EMPTY,
  OCI_MANIFEST,
  EMPTY_JSON,
  MONOLITHIC_POST_BYTES,
  type OciClient,
  type OciError,
  isOciError,
  ociClient,
  ociDigestOf,
  parseManifest,
  projectRelease,
} from 'appr-core/oci'
import { startTokenService } from '../helpers/oci-token.js'
import { type TestDockerRegistry, findBinary, freePort, skipOrFail, startDockerRegistry } from '../helpers/servers.js'
import { HTPASSWD } from './helpers.js'

const run = promisify(execFile)
const fixtures = new URL('../fixtures/', import.meta.url).pathname

const started: TestDockerRegistry[] = []
let registry: TestDockerRegistry | undefined
let client: OciClient

test.before(async () => {
  registry = await startDockerRegistry({ suite: 'oci client' })
  if (registry) {
    started.push(registry)
    client = ociClient({ url: registry.url, chunkBytes: 1000 })
  }
})
test.after(async () => {
  for (const r of started) await r.stop()
})

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed) & 0xff)
async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of stream) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}
async function* pieces(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size)
}
async function rejects(promise: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<unknown> {
  try {
    await promise
  } catch (e) {
    assert.ok(check(e), `${what}: ${e}`)
    return e
  }
  assert.unreachable(`${what}: expected a rejection`)
}
const ociCode = (code: string, status?: number) => (e: unknown) => isOciError(e) && e.code === code && (status === undefined || e.status === status)

/** Pushes a tiny image-like manifest (config + one layer) and returns its bytes and digest. */
async function pushManifest(c: OciClient, repo: string, tag: string, layer: Uint8Array) {
  const config = await c.pushBlob(repo, EMPTY_JSON)
  const blob = await c.pushBlob(repo, layer)
  const manifest = new TextEncoder().encode(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_EMPTY, ...config }, layers: [{ mediaType: 'application/octet-stream', ...blob }] }),
  )
  const digest = await c.putManifest(repo, tag, manifest, OCI_MANIFEST)
  return { manifest, digest, blob }
}

test('ping, monolithic push, HEAD, verified GET and ranges', async () => {
  if (!registry) return
  await client.ping()
  const data = bytes(3000, 1)
  const info = await client.pushBlob('acme/blobs', data, { digest: ociDigestOf(data) })
  assert.equal(info, { digest: ociDigestOf(data), size: 3000 })
  assert.equal(await client.headBlob('acme/blobs', info.digest), info)
  const blob = await client.getBlob('acme/blobs', info.digest)
  assert.ok(blob)
  assert.is(blob.size, 3000)
  assert.equal(await collect(blob.body), data)
  const range = await client.getBlob('acme/blobs', info.digest, { range: { start: 10, end: 19 } })
  assert.ok(range?.range)
  assert.equal(range.range, { start: 10, end: 19, total: 3000 })
  assert.equal(await collect(range.body), data.subarray(10, 20))
  const absent = ociDigestOf('absent')
  assert.is(await client.headBlob('acme/blobs', absent), undefined)
  assert.is(await client.getBlob('acme/blobs', absent), undefined)
  await rejects(client.pushBlob('acme/blobs', data, { digest: absent }), ociCode('DIGEST_INVALID'), 'a wrong expected digest is refused before sending')
})

test('pushBlob sends small bytes in the POST itself (one request where the registry takes it); ensureBlob asks first only for large ones', async () => {
  const apprCore = await serve({ handler: createHandler(new Registry({ store: memoryStore() })), port: 0 })
  try {
    for (const [peer, url] of [['appr-core', apprCore.url], ['docker-registry', registry?.url]] as const) {
      if (url === undefined) continue
      const sent: string[] = []
      const c = ociClient({
        url,
        fetch: (input, init) => {
          sent.push(`${init?.method ?? 'GET'} ${new URL(String(input)).search ? 'with query' : ''}`.trim())
          return fetch(input, init)
        },
      })
      const small = bytes(MONOLITHIC_POST_BYTES, 3)
      assert.equal(await c.pushBlob('acme/mono', small), { digest: ociDigestOf(small), size: small.byteLength })
      assert.equal(await collect((await c.getBlob('acme/mono', ociDigestOf(small)))!.body), small, `${peer}: the bytes arrived`)
      // appr-core takes the single-request upload; a registry answering 202 gets the bytes again in a PUT.
      if (peer === 'appr-core') assert.equal(sent.slice(0, 1), ['POST with query'], `${peer}: ${sent}`)
      else assert.ok(sent[0] === 'POST with query' && (sent.length === 2 || sent[1] === 'PUT with query'), `${peer}: ${sent}`)
      sent.length = 0
      await c.ensureBlob('acme/mono', small)
      assert.not.ok(sent.includes('HEAD'), `${peer}: small bytes are not asked about: ${sent}`)
      const large = bytes(MONOLITHIC_POST_BYTES + 1, 4)
      sent.length = 0
      await c.ensureBlob('acme/mono', large)
      assert.equal(sent, ['HEAD', 'POST', 'PUT with query'], `${peer}: a large absent blob is asked about, then uploaded in two requests`)
      sent.length = 0
      assert.equal(await c.ensureBlob('acme/mono', large), { digest: ociDigestOf(large), size: large.byteLength })
      assert.equal(sent, ['HEAD'], `${peer}: a large present blob costs one HEAD`)
    }
  } finally {
    await apprCore.close()
  }
})

test('chunked upload: PATCHes with Content-Range of chunkBytes, then PUT ?digest=', async () => {
  if (!registry) return
  for (const n of [0, 1, 999, 1000, 1001, 4321]) {
    const data = bytes(n, n)
    const info = await client.pushBlobStream('acme/chunks', pieces(data, 333))
    assert.equal(info, { digest: ociDigestOf(data), size: n })
    assert.equal(await collect((await client.getBlob('acme/chunks', info.digest))!.body), data)
  }
  // A failing source cancels the upload and surfaces its own error.
  async function* failing() {
    yield bytes(1500, 9)
    throw new Error('source broke')
  }
  await rejects(client.pushBlobStream('acme/chunks', failing()), (e) => (e as Error).message === 'source broke', 'source error')
})

test('cross-repository mount: 201 when the blob is there, else the started upload is cancelled', async () => {
  if (!registry) return
  const data = bytes(500, 3)
  const { digest } = await client.pushBlob('acme/source', data)
  assert.is(await client.mountBlob('acme/target', digest, 'acme/source'), true)
  assert.equal(await collect((await client.getBlob('acme/target', digest))!.body), data)
  assert.is(await client.mountBlob('acme/target', ociDigestOf('nowhere'), 'acme/source'), false)
})

test('manifests by tag and digest, HEAD, DELETE; tags and catalog paging', async () => {
  if (!registry) return
  const repo = 'acme/manifests'
  const { manifest, digest } = await pushManifest(client, repo, 'v1', bytes(100, 5))
  assert.is(digest, ociDigestOf(manifest))
  for (const ref of ['v1', digest]) {
    const got = await client.getManifest(repo, ref)
    assert.ok(got)
    assert.equal(got, { mediaType: OCI_MANIFEST, digest, bytes: manifest })
  }
  assert.equal(await client.headManifest(repo, 'v1'), { mediaType: OCI_MANIFEST, digest, size: manifest.byteLength })
  assert.is(await client.getManifest(repo, 'nope'), undefined)
  assert.is(await client.headManifest(repo, 'nope'), undefined)
  const tags = ['v2', 'a-1', 'Z_9', '1.0.0_b1', 'v1.x']
  for (const tag of tags) assert.is(await client.putManifest(repo, tag, manifest, OCI_MANIFEST), digest)
  const expected = [...tags, 'v1'].sort()
  // docker-registry 2.8 ignores n and last on tags lists and answers every tag unsorted, in
  // one page without a Link; the client then reports no next page. (Paging through Link is
  // exercised on the catalog below, which 2.8 does page.)
  const first = await client.tagsPage(repo, { n: 2 })
  assert.equal([...first.items].sort(), expected)
  assert.is(first.next, undefined)
  const all: string[] = []
  for await (const tag of client.tags(repo, { pageSize: 2 })) all.push(tag)
  assert.equal(all.sort(), expected)
  const repos: string[] = []
  let last: string | undefined
  let pages = 0
  do {
    const page = await client.catalogPage({ n: 1, ...(last === undefined ? {} : { last }) })
    assert.ok(page.items.length <= 1)
    repos.push(...page.items)
    last = page.next
    pages++
  } while (last !== undefined)
  assert.ok(pages >= 3, `${pages} pages`)
  assert.ok(repos.includes(repo) && repos.includes('acme/blobs'), repos.join(','))
  assert.equal(repos, [...repos].sort())
  assert.is(await client.deleteManifest(repo, digest), true)
  assert.is(await client.getManifest(repo, 'v1'), undefined)
  assert.is(await client.deleteManifest(repo, digest), false)
})

test('the registry’s spec errors come back as OciErrors with its code and status', async () => {
  if (!registry) return
  await rejects(client.tagsPage('acme/never-pushed'), ociCode('NAME_UNKNOWN', 404), 'tags of an unknown repository')
  const missing = { mediaType: 'application/octet-stream', digest: ociDigestOf('missing layer'), size: 13 }
  const config = await client.pushBlob('acme/errors', EMPTY_JSON)
  const bad = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_EMPTY, ...config }, layers: [missing] }))
  const e = (await rejects(client.putManifest('acme/errors', 'x', bad, OCI_MANIFEST), ociCode('MANIFEST_BLOB_UNKNOWN', 400), 'unknown layer')) as OciError
  assert.ok(e.errors.length >= 1)
  await rejects(client.putManifest('acme/errors', 'x', new TextEncoder().encode('not json'), OCI_MANIFEST), ociCode('MANIFEST_INVALID', 400), 'not a manifest')
  // Bad arguments never reach the registry.
  await rejects(client.headBlob('Acme/Upper', config.digest), ociCode('NAME_INVALID'), 'upper-case name')
  await rejects(client.headBlob('acme/x', 'sha256:XYZ'), ociCode('DIGEST_INVALID'), 'bad digest')
  await rejects(client.getManifest('acme/x', 'bad tag'), ociCode('TAG_INVALID'), 'bad tag')
  await rejects(client.putManifest('acme/x', ociDigestOf('other'), bad, OCI_MANIFEST), ociCode('DIGEST_INVALID'), 'digest reference of other bytes')
  const nowhere = ociClient({ url: `http://127.0.0.1:${await freePort()}` })
  await rejects(nowhere.ping(), (x) => isApprError(x, 'unavailable') && x.transient, 'unreachable registry')
})

test('Basic auth: answered on the registry’s challenge; wrong or missing credentials are UNAUTHORIZED', async () => {
  const secured = await startDockerRegistry({ suite: 'oci client basic auth', htpasswd: HTPASSWD })
  if (!secured) return
  started.push(secured)
  await rejects(ociClient({ url: secured.url }).ping(), ociCode('UNAUTHORIZED', 401), 'anonymous')
  await rejects(ociClient({ url: secured.url, auth: { username: 'appr', password: 'wrong' } }).ping(), ociCode('UNAUTHORIZED', 401), 'wrong password')
  const authed = ociClient({ url: secured.url, auth: { username: 'appr', password: 'appr-test-secret' } })
  await authed.ping()
  const { digest } = await pushManifest(authed, 'acme/basic', '1.0.0', bytes(2000, 7))
  assert.is((await authed.getManifest('acme/basic', '1.0.0'))?.digest, digest)
})

test('Bearer auth: the challenge’s realm gives a token for its scopes, reused per repository', async () => {
  const tokens = await startTokenService({ users: { appr: 'appr-test-secret' } })
  if (!tokens) return
  const secured = await startDockerRegistry({ suite: 'oci client token auth', token: tokens.registryConfig })
  if (!secured) return
  started.push(secured)
  try {
    await rejects(ociClient({ url: secured.url }).tagsPage('acme/bearer'), ociCode('UNAUTHORIZED', 401), 'anonymous token has no access')
    await rejects(
      ociClient({ url: secured.url, auth: { username: 'appr', password: 'nope' } }).tagsPage('acme/bearer'),
      (e) => isOciError(e) && e.status === 401,
      'the token endpoint refuses wrong credentials',
    )
    tokens.requests.length = 0
    const authed = ociClient({ url: secured.url, auth: { username: 'appr', password: 'appr-test-secret' } })
    const { digest } = await pushManifest(authed, 'acme/bearer', '2.0.0', bytes(1200, 8))
    assert.is((await authed.getManifest('acme/bearer', '2.0.0'))?.digest, digest)
    assert.equal(await collect((await authed.getBlob('acme/bearer', ociDigestOf(bytes(1200, 8))))!.body), bytes(1200, 8))
    assert.ok(tokens.requests.every((r) => r.user === 'appr'))
    // docker-registry's challenge lists the actions in no fixed order (push,pull or pull,push).
    const pushPull = (scope: string) => /^repository:acme\/bearer:(pull,push|push,pull)$/.test(scope)
    assert.ok(tokens.requests.some((r) => r.scopes.some(pushPull)), JSON.stringify(tokens.requests))
    // One token per repository and access kind: far fewer token requests than registry requests.
    assert.ok(tokens.requests.length <= 3, JSON.stringify(tokens.requests))
    // A token given directly is sent as is.
    const direct = ociClient({ url: secured.url, auth: { token: 'not-a-jwt' } })
    await rejects(direct.tagsPage('acme/bearer'), ociCode('UNAUTHORIZED', 401), 'a bad direct token')
  } finally {
    await tokens.stop()
  }
})

test('an appr Helm release pushed as a Helm OCI artifact reads back with skopeo as Helm writes it', async () => {
  if (!registry) return
  const skopeo = findBinary('skopeo')
  if (!skopeo) {
    skipOrFail('oci client skopeo', 'install skopeo (apt-get install skopeo)')
    return
  }
  const chart = readFileSync(join(fixtures, 'hello-0.1.0+b1.tgz'))
  const inspection = await inspectArchive(chart)
  assert.is(inspection.manifest?.kind, 'helm')
  const projected = projectRelease({
    package: 'charts/hello',
    release: '0.1.0+b1',
    created: '2026-01-01T00:00:00Z',
    formats: [{ format: 'helm', blob: { digest: inspection.ociDigest, size: inspection.size }, chartYaml: inspection.manifest?.document }],
  })
  const [helm] = projected.formats
  assert.ok(helm)
  await client.pushBlob('charts/hello', helm.config.bytes, { digest: helm.config.digest })
  await client.pushBlobStream('charts/hello', pieces(chart, 100))
  assert.is(await client.putManifest('charts/hello', projected.tag, projected.manifest.bytes, OCI_MANIFEST), projected.manifest.digest)

  const ref = `docker://${registry.host}/charts/hello:${projected.tag}`
  const raw = await run(skopeo, ['inspect', '--raw', '--tls-verify=false', ref], { encoding: 'buffer' })
  assert.equal(new Uint8Array(raw.stdout), projected.manifest.bytes)
  const manifest = parseManifest(new Uint8Array(raw.stdout))
  assert.is(manifest.mediaType, OCI_MANIFEST)
  assert.is(manifest.config?.mediaType, HELM_CONFIG)
  assert.equal(manifest.layers.map((l) => [l.mediaType, l.digest, l.size]), [[HELM_CHART_LAYER, inspection.ociDigest, chart.byteLength]])
  assert.is(manifest.annotations['org.opencontainers.image.title'], 'hello')
  assert.is(manifest.annotations['org.opencontainers.image.version'], '0.1.0+b1')
  const config = JSON.parse(new TextDecoder().decode(helm.config.bytes))
  assert.equal(config, {
    name: 'hello',
    home: 'https://example.org/hello',
    version: '0.1.0+b1',
    description: 'A tiny chart for the OCI tests',
    maintainers: [{ name: 'Appr Core', email: 'appr@example.org' }],
    apiVersion: 'v2',
    appVersion: '1.0',
    type: 'application',
  })
  const tags = await run(skopeo, ['list-tags', '--tls-verify=false', `docker://${registry.host}/charts/hello`])
  assert.equal(JSON.parse(tags.stdout).Tags, ['0.1.0_b1'])
  // The chart layer is the appr blob byte for byte.
  assert.equal(await collect((await client.getBlob('charts/hello', inspection.ociDigest))!.body), new Uint8Array(chart))
})

test.run()
