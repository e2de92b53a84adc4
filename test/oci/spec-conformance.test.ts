// A port of the OCI distribution-spec conformance suite (opencontainers/distribution-spec,
// folder conformance/, Go + Ginkgo; not packaged in Debian). It follows one generation of the
// suite, the v1.1 one: setup.go and 03_discovery_test.go of commit b5f09eb, 01_pull_test.go of
// 47008ca, 02_push_test.go of 11b8e3f, 04_management_test.go of 3c7a4ac (image.go of that
// generation for the JSON shapes). The checks are written here in our own words; each keeps the
// suite's context and spec name (`Workflow / Context / name`) so the two can be compared line by
// line. Every spec of the suite is one check, setup and teardown included, in the suite's order,
// with the suite's expectations (status codes, headers, bodies) and its skip conditions.
//
// appr-core (createHandler over a memory Registry, served by node:http) must pass every check:
// one uvu test per check. The same checks then run against a real docker-registry (Debian's CNCF
// distribution 2.8) as a calibration of the port: it prints `docker-registry: N of M checks
// passed` and the failures, without failing (the issue reports 62 of 74 for the real suite).
//
// How the Go client behaves and this port mirrors: requests carry `User-Agent:
// distribution-spec-conformance-tests`; a body always travels with its own length (Go ignores a
// Content-Length header set by hand, so the suite's PUT that "sets" a length without a body sends
// `Content-Length: 0`), and POST/PUT/PATCH without a body send `Content-Length: 0`; a Location
// is followed as its path and query (reggie's GetRelativeLocation); redirects are not needed.
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import { startDockerRegistry } from '../helpers/servers.js'

// ---------------------------------------------------------------------------------------------
// Test data, shaped as the suite's setup.go builds it (Go's json.MarshalIndent with a tab).

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json'
const LAYER_TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
/** The suite's error code list: a 400 must name one of these. */
const SPEC_ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'MANIFEST_UNVERIFIED',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'TAG_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
]
const TEST_TAG = 'tagtest0'
const EMPTY_LAYER_TAG = 'emptylayer'
/** A reference no registry can hold: the suite expects 404 (not 400) for it. */
const NONEXISTENT_MANIFEST = '.INVALID_MANIFEST_NAME'
const ANNOTATION_KEY = 'org.opencontainers.conformance.test'
const ARTIFACT_TYPE_A = 'application/vnd.nhl.peanut.butter.bagel'
const ARTIFACT_TYPE_B = 'application/vnd.nba.strawberry.jam.croissant'
const ARTIFACT_TYPE_INDEX = 'application/vnd.food.stand'
// A small gzipped tarball (one text file), the suite's layer.
const LAYER_BASE64 =
  'H4sIAAAAAAAAA+3OQQrCMBCF4a49xXgBSUnaHMCTRBptQRNpp6i3t0UEV7oqIv7fYgbmzeJpHHSjVy0WZCa1c/MufWVe94N3RWlrZ72x3k/30nhbFWKWLPU0Dhp6keJ8im//PuU/6pZH2WVtYx8b0Sz7LjWSR5VLG6YRBumSzOlGtjkd+qDjMWiX07Befbs7AAAAAAAAAAAAAAAAAPyzO34MnqoAKAAA'

interface Content {
  readonly bytes: Uint8Array
  readonly length: string
  readonly digest: string
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`
const content = (bytes: Uint8Array): Content => ({ bytes, length: String(bytes.byteLength), digest: sha256(bytes) })
const goJson = (value: unknown) => content(new TextEncoder().encode(JSON.stringify(value, null, '\t')))
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64')
const randomAuthor = () => Array.from({ length: 16 }, () => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-'[randomInt(63)]).join('')

/** A descriptor as the suite's Go type marshals it: `newUnspecifiedField` is always there (null when unset). */
const descriptor = (mediaType: string, of: Content, extra: { data?: Uint8Array; unspecified?: Uint8Array } = {}) => ({
  mediaType,
  digest: of.digest,
  size: of.bytes.byteLength,
  ...(extra.data ? { data: base64(extra.data) } : {}),
  newUnspecifiedField: extra.unspecified ? base64(extra.unspecified) : null,
})

/** Everything one run pushes; fresh per run (the configs carry a random author, so digests differ between runs). */
function suiteData() {
  // The suite sizes its per-workflow arrays by a constant that ends up 16 (a bit flag, not a count).
  const configs = Array.from({ length: 16 }, () =>
    goJson({ author: randomAuthor(), architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  )
  const layer = content(new Uint8Array(Buffer.from(LAYER_BASE64, 'base64')))
  const layers = [descriptor(LAYER_TAR_GZIP, layer)]
  const configDescriptor = (config: Content) => descriptor(OCI_CONFIG, config, { data: config.bytes, unspecified: new TextEncoder().encode('hello world') })
  const manifests = configs.map((config) => goJson({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDescriptor(config), layers }))
  const emptyLayerManifest = goJson({ schemaVersion: 2, config: configDescriptor(configs[1]!), layers: [] })

  const chunked = content(new Uint8Array(randomBytes(42)))
  const emptyJson = content(new TextEncoder().encode('{}'))
  const emptyJsonDescriptor = descriptor(OCI_EMPTY, emptyJson)
  const refBlobA = content(new TextEncoder().encode('NHL Peanut Butter on my NHL bagel'))
  const refBlobB = content(new TextEncoder().encode('NBA Strawberry Jam on my NBA croissant'))
  const subject4 = descriptor(OCI_MANIFEST, manifests[4]!)
  const subject3 = descriptor(OCI_MANIFEST, manifests[3]!)
  const annotations = (value: string) => ({ [ANNOTATION_KEY]: value })
  // Artifacts whose subject is manifests[4]: the type in config.mediaType (A/B config) or in
  // artifactType (A/B layer); C layer is B layer's twin whose subject (manifests[3]) is never pushed before it.
  const configArtifact = (type: string, blob: Content, note: string) =>
    goJson({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(type, blob), layers: [emptyJsonDescriptor], subject: subject4, annotations: annotations(note) })
  const layerArtifact = (type: string, blob: Content, subject: typeof subject4, note?: string) =>
    goJson({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: type,
      config: emptyJsonDescriptor,
      layers: [descriptor(type, blob)],
      subject,
      ...(note === undefined ? {} : { annotations: annotations(note) }),
    })
  const refsAConfig = configArtifact(ARTIFACT_TYPE_A, refBlobA, 'test config a')
  const refsBConfig = configArtifact(ARTIFACT_TYPE_B, refBlobB, 'test config b')
  const refsALayer = layerArtifact(ARTIFACT_TYPE_A, refBlobA, subject4, 'test layer a')
  const refsBLayer = layerArtifact(ARTIFACT_TYPE_B, refBlobB, subject4, 'test layer b')
  const refsCLayer = layerArtifact(ARTIFACT_TYPE_B, refBlobB, subject3)
  const refsIndex = goJson({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    artifactType: ARTIFACT_TYPE_INDEX,
    manifests: [descriptor(OCI_MANIFEST, refsAConfig), descriptor(OCI_MANIFEST, refsALayer)],
    subject: subject4,
    annotations: annotations('test index'),
  })
  const annotationOf = new Map([
    [refsAConfig.digest, 'test config a'],
    [refsBConfig.digest, 'test config b'],
    [refsALayer.digest, 'test layer a'],
    [refsBLayer.digest, 'test layer b'],
    [refsIndex.digest, 'test index'],
  ])
  return {
    configs,
    manifests,
    layer,
    emptyLayerManifest,
    testBlobA: content(new Uint8Array(randomBytes(42))),
    chunks: splitChunks(chunked),
    emptyJson,
    refBlobA,
    refBlobB,
    refsAConfig,
    refsBConfig,
    refsALayer,
    refsBLayer,
    refsCLayer,
    refsIndex,
    annotationOf,
    dummyDigest: sha256(new TextEncoder().encode('hello world')),
  }
}

/** A blob cut in two chunks as the suite does: the first one byte longer than half. */
function splitChunks(blob: Content) {
  const cut = Math.floor(blob.bytes.byteLength / 2) + 1
  return {
    blob,
    first: blob.bytes.subarray(0, cut),
    second: blob.bytes.subarray(cut),
    firstRange: `0-${cut - 1}`,
    secondRange: `${cut}-${blob.bytes.byteLength - 1}`,
  }
}

// ---------------------------------------------------------------------------------------------
// The client side: raw node:http, so lengths and bodies are exactly what the Go client sends.

interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  header(name: string): string
  /** reggie's GetRelativeLocation: the Location's path and query ('' without a Location). */
  relativeLocation(): string
}

interface Call {
  readonly query?: Record<string, string>
  readonly headers?: Record<string, string>
  readonly body?: Uint8Array
}

function send(base: string, method: string, path: string, call: Call = {}): Promise<Answer> {
  const url = new URL(path || '/', base)
  for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v)
  const headers: Record<string, string> = { 'user-agent': 'distribution-spec-conformance-tests', ...call.headers }
  delete headers['content-length']
  if (call.body) headers['content-length'] = String(call.body.byteLength)
  else if (method === 'POST' || method === 'PUT' || method === 'PATCH') headers['content-length'] = '0'
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (chunk: Buffer) => parts.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const answer: Answer = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts),
          header: (name) => {
            const value = res.headers[name.toLowerCase()]
            return Array.isArray(value) ? (value[0] ?? '') : (value ?? '')
          },
          relativeLocation: () => {
            const location = answer.header('location')
            if (!location) return ''
            const parsed = new URL(location, base)
            return parsed.pathname + parsed.search
          },
        }
        resolve(answer)
      })
    })
    req.on('error', reject)
    req.end(call.body ? Buffer.from(call.body) : undefined)
  })
}

// ---------------------------------------------------------------------------------------------
// Expectations, in the suite's terms.

class Skipped extends Error {}
const skipUnless = (condition: boolean) => {
  if (!condition) throw new Skipped('skipped by the suite in this configuration')
}
const show = (a: Answer) => `${a.status} ${a.body.toString('utf8').slice(0, 300)}`
const expectStatus = (a: Answer, status: number) => assert.is(a.status, status, `expected ${status}, got ${show(a)}`)
const expectOneOf = (a: Answer, statuses: readonly number[]) => assert.ok(statuses.includes(a.status), `expected one of ${statuses.join('/')}, got ${show(a)}`)
const is2xx = (status: number) => status >= 200 && status < 300
const expect2xx = (a: Answer) => assert.ok(is2xx(a.status), `expected 2xx, got ${show(a)}`)
/** The teardown outcomes the suite accepts: success, or deletes disallowed (405), or (where it says so) already gone (404). */
const expectDeleted = (a: Answer, allowGone: boolean) =>
  assert.ok(is2xx(a.status) || a.status === 405 || (allowGone && a.status === 404), `expected 2xx/405${allowGone ? '/404' : ''}, got ${show(a)}`)
const expectHeader = (a: Answer, name: string, value: string) => assert.is(a.header(name), value, `${name} of ${show(a)}`)
const expectLocation = (a: Answer) => assert.ok(a.header('location') !== '', `no Location in ${show(a)}`)
/** A Docker-Content-Digest header, when present, must name `digest`. */
const expectDigestIfAny = (a: Answer, digest: string) => {
  if (a.header('docker-content-digest') !== '') expectHeader(a, 'docker-content-digest', digest)
}
/** The first spec error code of a JSON error body. */
function firstErrorCode(a: Answer): string {
  const body = JSON.parse(a.body.toString('utf8')) as { errors?: { code?: unknown }[] }
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, `no errors in ${show(a)}`)
  return String(body.errors?.[0]?.code)
}
function tagsOf(a: Answer): string[] {
  try {
    const tags = (JSON.parse(a.body.toString('utf8')) as { tags?: unknown }).tags
    return Array.isArray(tags) ? tags.map(String) : []
  } catch {
    return []
  }
}
interface ReferrersIndex {
  manifests: { digest: string; annotations?: Record<string, string> }[]
}
function referrersOf(a: Answer): ReferrersIndex {
  expectStatus(a, 200)
  expectHeader(a, 'content-type', OCI_INDEX)
  const index = JSON.parse(a.body.toString('utf8')) as Partial<ReferrersIndex>
  return { manifests: Array.isArray(index.manifests) ? index.manifests : [] }
}

// ---------------------------------------------------------------------------------------------
// The checks, in the suite's order.

/** One spec of the suite. `run` throws on failure, throws `Skipped` when the suite would skip it. */
interface Check {
  readonly title: string
  readonly run: () => Promise<void>
}

/** Where the checks run: the registry's base URL and the repository the suite's `OCI_NAMESPACE` names. */
interface Target {
  readonly base: () => string
  readonly namespace: string
}

function suiteChecks(target: Target): Check[] {
  const d = suiteData()
  const ns = target.namespace
  // The suite's default cross-mount repository: `conformance-<uuid>`, one path segment.
  const crossmount = `conformance-${crypto.randomUUID()}`
  const call = (method: string, path: string, c?: Call) => send(target.base(), method, path, c)
  const octets = (length: string) => ({ 'content-type': 'application/octet-stream', 'content-length': length })
  /** POST for a session, then PUT ?digest= with the bytes: the suite's "populate" step. */
  const pushBlob = async (blob: Content) => {
    const started = await call('POST', `/v2/${ns}/blobs/uploads/`)
    return call('PUT', started.relativeLocation(), { query: { digest: blob.digest }, headers: octets(blob.length), body: blob.bytes })
  }
  const putManifest = (reference: string, manifest: Content, mediaType = OCI_MANIFEST) =>
    call('PUT', `/v2/${ns}/manifests/${reference}`, { headers: { 'content-type': mediaType }, body: manifest.bytes })
  const getManifest = (method: 'GET' | 'HEAD', reference: string) => call(method, `/v2/${ns}/manifests/${reference}`, { headers: { accept: OCI_MANIFEST } })
  const deleteManifest = (reference: string) => call('DELETE', `/v2/${ns}/manifests/${reference}`)
  const deleteBlob = (digest: string) => call('DELETE', `/v2/${ns}/blobs/${digest}`)
  /** A PATCH of one chunk with its Content-Range. */
  const patchChunk = (location: string, bytes: Uint8Array, range: string) =>
    call('PATCH', location, { headers: { 'content-type': 'application/octet-stream', 'content-range': range }, body: bytes })
  const referrers = (digest: string, query?: Record<string, string>) => call('GET', `/v2/${ns}/referrers/${digest}`, query ? { query } : {})

  const checks: Check[] = []
  const spec = (title: string, run: () => Promise<void>) => checks.push({ title, run })

  // ----- 01_pull_test.go -----------------------------------------------------------------------
  let pullTag = ''
  spec('Pull / Setup / Populate registry with test blob', async () => expect2xx(await pushBlob(d.configs[0]!)))
  spec('Pull / Setup / Populate registry with test blob (config[1])', async () => expect2xx(await pushBlob(d.configs[1]!)))
  spec('Pull / Setup / Populate registry with test layer', async () => expect2xx(await pushBlob(d.layer)))
  spec('Pull / Setup / Populate registry with test manifest', async () => {
    pullTag = TEST_TAG
    expect2xx(await putManifest(pullTag, d.manifests[0]!))
  })
  spec('Pull / Setup / Populate registry with test manifest (manifest[1] by digest)', async () => expect2xx(await putManifest(d.manifests[1]!.digest, d.manifests[1]!)))
  // Runs only when the setup is replaced by OCI_TAG_NAME & co (never here).
  spec('Pull / Setup / Get tag name from environment', async () => skipUnless(false))

  spec('Pull / Pull blobs / HEAD request to nonexistent blob should result in 404 response', async () =>
    expectStatus(await call('HEAD', `/v2/${ns}/blobs/${d.dummyDigest}`), 404),
  )
  spec('Pull / Pull blobs / HEAD request to existing blob should yield 200', async () => {
    const a = await call('HEAD', `/v2/${ns}/blobs/${d.configs[0]!.digest}`)
    expectStatus(a, 200)
    expectDigestIfAny(a, d.configs[0]!.digest)
  })
  spec('Pull / Pull blobs / GET nonexistent blob should result in 404 response', async () => expectStatus(await call('GET', `/v2/${ns}/blobs/${d.dummyDigest}`), 404))
  spec('Pull / Pull blobs / GET request to existing blob URL should yield 200', async () =>
    expectStatus(await call('GET', `/v2/${ns}/blobs/${d.configs[0]!.digest}`), 200),
  )

  spec('Pull / Pull manifests / HEAD request to nonexistent manifest should return 404', async () =>
    expectStatus(await call('HEAD', `/v2/${ns}/manifests/${NONEXISTENT_MANIFEST}`), 404),
  )
  for (const i of [0, 1]) {
    spec(`Pull / Pull manifests / HEAD request to manifest[${i}] path (digest) should yield 200 response`, async () => {
      const a = await getManifest('HEAD', d.manifests[i]!.digest)
      expectStatus(a, 200)
      expectDigestIfAny(a, d.manifests[i]!.digest)
    })
  }
  spec('Pull / Pull manifests / HEAD request to manifest path (tag) should yield 200 response', async () => {
    assert.ok(pullTag !== '', 'no tag from the setup')
    const a = await getManifest('HEAD', pullTag)
    expectStatus(a, 200)
    expectDigestIfAny(a, d.manifests[0]!.digest)
  })
  spec('Pull / Pull manifests / GET nonexistent manifest should return 404', async () =>
    expectStatus(await call('GET', `/v2/${ns}/manifests/${NONEXISTENT_MANIFEST}`), 404),
  )
  for (const i of [0, 1]) {
    spec(`Pull / Pull manifests / GET request to manifest[${i}] path (digest) should yield 200 response`, async () =>
      expectStatus(await getManifest('GET', d.manifests[i]!.digest), 200),
    )
  }
  spec('Pull / Pull manifests / GET request to manifest path (tag) should yield 200 response', async () => {
    assert.ok(pullTag !== '', 'no tag from the setup')
    expectStatus(await getManifest('GET', pullTag), 200)
  })

  spec('Pull / Error codes / 400 response body should contain OCI-conforming JSON message', async () => {
    // A GET carrying a body, at a reference that is not a valid digest.
    const a = await call('GET', `/v2/${ns}/manifests/sha256:totallywrong`, { headers: { 'content-type': OCI_MANIFEST }, body: new TextEncoder().encode('blablabla') })
    expectOneOf(a, [400, 404])
    if (a.status === 400) assert.ok(SPEC_ERROR_CODES.includes(firstErrorCode(a)), `not a spec code: ${show(a)}`)
  })

  spec('Pull / Teardown / Delete manifest[0] created in setup', async () => expectDeleted(await deleteManifest(d.manifests[0]!.digest), false))
  spec('Pull / Teardown / Delete manifest[1] created in setup', async () => expectDeleted(await deleteManifest(d.manifests[1]!.digest), false))
  spec('Pull / Teardown / Delete config[0] blob created in setup', async () => expectDeleted(await deleteBlob(d.configs[0]!.digest), true))
  spec('Pull / Teardown / Delete config[1] blob created in setup', async () => expectDeleted(await deleteBlob(d.configs[1]!.digest), true))
  spec('Pull / Teardown / Delete layer blob created in setup', async () => expectDeleted(await deleteBlob(d.layer.digest), true))

  // ----- 02_push_test.go -----------------------------------------------------------------------
  let last: Answer | undefined
  let previous: Answer | undefined
  let emptyLayerLocation = ''
  let chunks = d.chunks

  spec('Push / Blob Upload Streamed / PATCH request with blob in body should yield 202 response', async () => {
    const started = await call('POST', `/v2/${ns}/blobs/uploads/`)
    expectLocation(started)
    const a = await call('PATCH', started.relativeLocation(), { headers: { 'content-type': 'application/octet-stream' }, body: d.testBlobA.bytes })
    expectStatus(a, 202)
    last = a
  })
  spec('Push / Blob Upload Streamed / PUT request to session URL with digest should yield 201 response', async () => {
    assert.ok(last, 'no previous response')
    // The suite "sets" Content-Length to the blob's length but sends no body: Go sends 0.
    const a = await call('PUT', last.relativeLocation(), { query: { digest: d.testBlobA.digest }, headers: { 'content-type': 'application/octet-stream' } })
    expectStatus(a, 201)
    expectLocation(a)
  })

  spec('Push / Blob Upload Monolithic / GET nonexistent blob should result in 404 response', async () =>
    expectStatus(await call('GET', `/v2/${ns}/blobs/${d.dummyDigest}`), 404),
  )
  spec('Push / Blob Upload Monolithic / POST request with digest and blob should yield a 201 or 202', async () => {
    const config = d.configs[1]!
    const a = await call('POST', `/v2/${ns}/blobs/uploads/`, { query: { digest: config.digest }, headers: octets(config.length), body: config.bytes })
    expectLocation(a)
    expectOneOf(a, [201, 202])
    last = a
  })
  spec('Push / Blob Upload Monolithic / GET request to blob URL from prior request should yield 200 or 404 based on response code', async () => {
    assert.ok(last, 'no previous response')
    const a = await call('GET', `/v2/${ns}/blobs/${d.configs[1]!.digest}`)
    expectStatus(a, last.status === 202 ? 404 : 200)
  })
  spec('Push / Blob Upload Monolithic / POST request should yield a session ID', async () => {
    const a = await call('POST', `/v2/${ns}/blobs/uploads/`)
    expectStatus(a, 202)
    last = a
  })
  spec('Push / Blob Upload Monolithic / PUT upload of a blob should yield a 201 Response', async () => {
    assert.ok(last, 'no previous response')
    const config = d.configs[1]!
    const a = await call('PUT', last.relativeLocation(), { query: { digest: config.digest }, headers: octets(config.length), body: config.bytes })
    expectLocation(a)
    expectStatus(a, 201)
  })
  spec('Push / Blob Upload Monolithic / GET request to existing blob should yield 200 response', async () =>
    expectStatus(await call('GET', `/v2/${ns}/blobs/${d.configs[1]!.digest}`), 200),
  )
  spec('Push / Blob Upload Monolithic / PUT upload of a layer blob should yield a 201 Response', async () => {
    const a = await pushBlob(d.layer)
    expectLocation(a)
    expectStatus(a, 201)
  })
  spec('Push / Blob Upload Monolithic / GET request to existing layer should yield 200 response', async () =>
    expectStatus(await call('GET', `/v2/${ns}/blobs/${d.layer.digest}`), 200),
  )

  spec('Push / Blob Upload Chunked / Out-of-order blob upload should return 416', async () => {
    const started = await call('POST', `/v2/${ns}/blobs/uploads/`, { headers: { 'content-length': '0' } })
    expectLocation(started)
    // A registry with a minimum chunk larger than our first chunk gets a bigger blob.
    const min = started.header('oci-chunk-min-length')
    if (min !== '') {
      assert.match(min, /^\d+$/)
      if (Number(min) > chunks.first.byteLength) chunks = splitChunks(content(new Uint8Array(randomBytes(Number(min) * 2 - 2))))
    }
    const a = await patchChunk(started.relativeLocation(), chunks.second, chunks.secondRange)
    expectStatus(a, 416)
  })
  spec('Push / Blob Upload Chunked / PATCH request with first chunk should return 202', async () => {
    const started = await call('POST', `/v2/${ns}/blobs/uploads/`, { headers: { 'content-length': '0' } })
    expectLocation(started)
    previous = started
    const a = await patchChunk(started.relativeLocation(), chunks.first, chunks.firstRange)
    expectStatus(a, 202)
    expectHeader(a, 'range', chunks.firstRange)
    last = a
  })
  spec('Push / Blob Upload Chunked / Retry previous blob chunk should return 416', async () => {
    assert.ok(previous, 'no previous response')
    const a = await patchChunk(previous.relativeLocation(), chunks.first, chunks.firstRange)
    expectStatus(a, 416)
  })
  spec('Push / Blob Upload Chunked / Get on stale blob upload should return 204 with a range and location', async () => {
    assert.ok(previous, 'no previous response')
    const a = await call('GET', previous.relativeLocation())
    expectStatus(a, 204)
    expectLocation(a)
    expectHeader(a, 'range', chunks.firstRange)
    last = a
  })
  spec('Push / Blob Upload Chunked / PATCH request with second chunk should return 202', async () => {
    assert.ok(last, 'no previous response')
    const a = await patchChunk(last.relativeLocation(), chunks.second, chunks.secondRange)
    expectStatus(a, 202)
    expectLocation(a)
    last = a
  })
  spec('Push / Blob Upload Chunked / PUT request with digest should return 201', async () => {
    assert.ok(last, 'no previous response')
    const a = await call('PUT', last.relativeLocation(), { query: { digest: chunks.blob.digest }, headers: octets('0') })
    expectStatus(a, 201)
    expectLocation(a)
  })

  spec('Push / Cross-Repository Blob Mount / Cross-mounting of a blob without the from argument should yield session id', async () => {
    const a = await call('POST', `/v2/${crossmount}/blobs/uploads/`, { query: { mount: d.dummyDigest } })
    expectStatus(a, 202)
    expectLocation(a)
  })
  spec("Push / Cross-Repository Blob Mount / POST request to mount another repository's blob should return 201 or 202", async () => {
    const a = await call('POST', `/v2/${crossmount}/blobs/uploads/`, { query: { mount: d.testBlobA.digest, from: ns } })
    expectOneOf(a, [201, 202])
    last = a
  })
  spec('Push / Cross-Repository Blob Mount / GET request to test digest within cross-mount namespace should return 200', async () => {
    assert.ok(last, 'no previous response')
    skipUnless(last.status === 201)
    assert.is(last.relativeLocation(), `/v2/${crossmount}/blobs/${d.testBlobA.digest}`)
    expectStatus(await call('GET', last.relativeLocation()), 200)
  })
  spec('Push / Cross-Repository Blob Mount / Cross-mounting of nonexistent blob should yield session id', async () => {
    assert.ok(last, 'no previous response')
    skipUnless(last.status === 202)
    assert.ok(last.relativeLocation().startsWith(`/v2/${crossmount}/blobs/uploads/`), last.relativeLocation())
  })
  // Both run only when OCI_AUTOMATIC_CROSSMOUNT is set (a registry that mounts without `from`): not here.
  spec('Push / Cross-Repository Blob Mount / Cross-mounting without from, and automatic content discovery enabled should return a 201', async () => skipUnless(false))
  spec('Push / Cross-Repository Blob Mount / Cross-mounting without from, and automatic content discovery disabled should return a 202', async () => skipUnless(false))

  spec('Push / Manifest Upload / GET nonexistent manifest should return 404', async () =>
    expectStatus(await call('GET', `/v2/${ns}/manifests/${NONEXISTENT_MANIFEST}`), 404),
  )
  spec('Push / Manifest Upload / PUT should accept a manifest upload', async () => {
    for (let i = 0; i < 4; i++) {
      const a = await putManifest(`test${i}`, d.manifests[1]!)
      expectLocation(a)
      expectStatus(a, 201)
    }
  })
  spec('Push / Manifest Upload / Registry should accept a manifest upload with no layers', async () => {
    const a = await putManifest(EMPTY_LAYER_TAG, d.emptyLayerManifest)
    // Anything but 201 is only a warning in the suite.
    if (a.status === 201) {
      emptyLayerLocation = a.header('location')
      expectLocation(a)
    }
  })
  spec('Push / Manifest Upload / GET request to manifest URL (digest) should yield 200 response', async () =>
    expectStatus(await getManifest('GET', d.manifests[1]!.digest), 200),
  )

  spec('Push / Teardown / Delete manifest created in tests', async () => {
    expectDeleted(await deleteManifest(d.manifests[1]!.digest), false)
    if (emptyLayerLocation !== '') expectDeleted(await deleteManifest(d.emptyLayerManifest.digest), false)
  })
  spec('Push / Teardown / Delete config blob created in tests', async () => expectDeleted(await deleteBlob(d.configs[1]!.digest), true))
  spec('Push / Teardown / Delete layer blob created in setup', async () => expectDeleted(await deleteBlob(d.layer.digest), true))

  // ----- 03_discovery_test.go ------------------------------------------------------------------
  let numTags = 4
  let tagList: string[] = []
  spec('Content Discovery / Setup / Populate registry with test blob', async () => expect2xx(await pushBlob(d.configs[2]!)))
  spec('Content Discovery / Setup / Populate registry with test layer', async () => expect2xx(await pushBlob(d.layer)))
  spec('Content Discovery / Setup / Populate registry with test tags', async () => {
    for (let i = 0; i < numTags; i++) expect2xx(await putManifest(`test${i}`, d.manifests[2]!))
    tagList = tagsOf(await call('GET', `/v2/${ns}/tags/list`))
  })
  // Runs only when OCI_TAG_LIST replaces the setup (never here).
  spec('Content Discovery / Setup / Populate registry with test tags (no push)', async () => skipUnless(false))
  spec('Content Discovery / Setup / References setup', async () => {
    const withSubject = async (a: Answer, subject: string) => {
      expect2xx(a)
      expectHeader(a, 'oci-subject', subject)
    }
    assert.is(d.emptyJson.digest, 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a')
    expect2xx(await pushBlob(d.emptyJson))
    // Referrers pushed before their subject.
    expect2xx(await pushBlob(d.refBlobA))
    await withSubject(await putManifest(d.refsAConfig.digest, d.refsAConfig), d.manifests[4]!.digest)
    await withSubject(await putManifest(d.refsALayer.digest, d.refsALayer), d.manifests[4]!.digest)
    await withSubject(await putManifest(d.refsIndex.digest, d.refsIndex, OCI_INDEX), d.manifests[4]!.digest)
    // The subject.
    expect2xx(await pushBlob(d.configs[4]!))
    expect2xx(await pushBlob(d.layer))
    expect2xx(await putManifest(TEST_TAG, d.manifests[4]!))
    // Referrers pushed after it, and one whose subject never arrives.
    expect2xx(await pushBlob(d.refBlobB))
    await withSubject(await putManifest(d.refsBConfig.digest, d.refsBConfig), d.manifests[4]!.digest)
    await withSubject(await putManifest(d.refsBLayer.digest, d.refsBLayer), d.manifests[4]!.digest)
    await withSubject(await putManifest(d.refsCLayer.digest, d.refsCLayer), d.manifests[3]!.digest)
  })

  spec('Content Discovery / Test content discovery endpoints (listing tags) / GET request to list tags should yield 200 response', async () => {
    const a = await call('GET', `/v2/${ns}/tags/list`)
    expectStatus(a, 200)
    tagList = tagsOf(a)
    numTags = tagList.length
  })
  spec('Content Discovery / Test content discovery endpoints (listing tags) / GET number of tags should be limitable by `n` query parameter', async () => {
    const n = Math.floor(numTags / 2)
    const a = await call('GET', `/v2/${ns}/tags/list`, { query: { n: String(n) } })
    expectStatus(a, 200)
    tagList = tagsOf(a)
    assert.is(tagList.length, n, `n=${n} answered ${JSON.stringify(tagList)}`)
  })
  spec('Content Discovery / Test content discovery endpoints (listing tags) / GET start of tag is set by `last` query parameter', async () => {
    const n = Math.floor(numTags / 2)
    tagList = tagsOf(await call('GET', `/v2/${ns}/tags/list`, { query: { n: String(n) } }))
    const lastTag = tagList[n - 1]
    assert.ok(lastTag !== undefined, `no tag at ${n - 1} in ${JSON.stringify(tagList)}`)
    const a = await call('GET', `/v2/${ns}/tags/list`, { query: { n: String(n), last: lastTag } })
    expectStatus(a, 200)
    // The suite then checks the list of the *first* page again (it never reads this answer's
    // tags): kept as it is, so the count compares with the suite's.
    assert.ok(tagList.length <= n)
    assert.ok(tagList.includes(lastTag))
  })

  const expectAnnotated = (index: ReferrersIndex) => {
    for (const m of index.manifests) {
      assert.is(Object.keys(m.annotations ?? {}).length, 1, `annotations of ${m.digest}`)
      assert.is(m.annotations?.[ANNOTATION_KEY], d.annotationOf.get(m.digest), `annotation of ${m.digest}`)
    }
  }
  spec('Content Discovery / Test content discovery endpoints (listing references) / GET request to nonexistent blob should result in empty 200 response', async () =>
    assert.is(referrersOf(await referrers(d.dummyDigest)).manifests.length, 0),
  )
  spec('Content Discovery / Test content discovery endpoints (listing references) / GET request to existing blob should yield 200', async () => {
    const index = referrersOf(await referrers(d.manifests[4]!.digest))
    assert.is(index.manifests.length, 5, JSON.stringify(index))
    assert.is.not(index.manifests[0]!.digest, index.manifests[1]!.digest)
    expectAnnotated(index)
  })
  spec('Content Discovery / Test content discovery endpoints (listing references) / GET request to existing blob with filter should yield 200', async () => {
    const a = await referrers(d.manifests[4]!.digest, { artifactType: ARTIFACT_TYPE_A })
    const index = referrersOf(a)
    // Filtering is optional; a registry that filters says so in OCI-Filters-Applied.
    if (a.header('oci-filters-applied') !== '') {
      assert.is(index.manifests.length, 2, JSON.stringify(index))
      expectHeader(a, 'oci-filters-applied', 'artifactType')
    } else assert.is(index.manifests.length, 5, JSON.stringify(index))
    expectAnnotated(index)
  })
  spec('Content Discovery / Test content discovery endpoints (listing references) / GET request to missing manifest should yield 200', async () => {
    const index = referrersOf(await referrers(d.manifests[3]!.digest))
    assert.is(index.manifests.length, 1, JSON.stringify(index))
    assert.is(index.manifests[0]!.digest, d.refsCLayer.digest)
  })

  spec('Content Discovery / Teardown / Delete created manifest & associated tags', async () => {
    const references = [
      d.refsIndex.digest,
      d.manifests[2]!.digest,
      d.manifests[4]!.digest,
      d.refsAConfig.digest,
      d.refsALayer.digest,
      TEST_TAG,
      d.refsBConfig.digest,
      d.refsBLayer.digest,
      d.refsCLayer.digest,
    ]
    for (const reference of references) expectDeleted(await deleteManifest(reference), true)
  })
  spec('Content Discovery / Teardown / Delete config blob created in tests', async () => expectDeleted(await deleteBlob(d.configs[2]!.digest), false))
  spec('Content Discovery / Teardown / Delete layer blob created in setup', async () => expectDeleted(await deleteBlob(d.layer.digest), false))
  spec('Content Discovery / Teardown / References teardown', async () => {
    for (const reference of [d.refsIndex.digest, d.refsAConfig.digest, d.refsALayer.digest, d.manifests[4]!.digest, d.refsBConfig.digest, d.refsBLayer.digest]) {
      expectDeleted(await deleteManifest(reference), true)
    }
    for (const digest of [d.configs[4]!.digest, d.refBlobA.digest, d.refBlobB.digest, d.emptyJson.digest]) expectDeleted(await deleteBlob(digest), true)
  })

  // ----- 04_management_test.go -----------------------------------------------------------------
  let tagToDelete = ''
  let tagsBefore = 0
  let blobDeleteAllowed = true
  spec('Content Management / Setup / Populate registry with test config blob', async () => expect2xx(await pushBlob(d.configs[3]!)))
  spec('Content Management / Setup / Populate registry with test layer', async () => expect2xx(await pushBlob(d.layer)))
  spec('Content Management / Setup / Populate registry with test tag', async () => {
    tagToDelete = TEST_TAG
    expect2xx(await putManifest(tagToDelete, d.manifests[3]!))
  })
  spec('Content Management / Setup / Check how many tags there are before anything gets deleted', async () => {
    const a = await call('GET', `/v2/${ns}/tags/list`)
    expectStatus(a, 200)
    const body = JSON.parse(a.body.toString('utf8')) as { tags?: unknown }
    tagsBefore = Array.isArray(body.tags) ? body.tags.length : 0
  })

  spec('Content Management / Manifest delete / DELETE request to manifest tag should return 202, unless tag deletion is disallowed (400/405)', async () => {
    const a = await deleteManifest(tagToDelete)
    expectOneOf(a, [400, 202, 405])
    if (a.status === 400) assert.is(firstErrorCode(a), 'UNSUPPORTED', `a refused tag delete must say UNSUPPORTED: ${show(a)}`)
  })
  spec('Content Management / Manifest delete / DELETE request to manifest (digest) should yield 202 response unless already deleted', async () =>
    expectOneOf(await deleteManifest(d.manifests[3]!.digest), [202, 404]),
  )
  spec('Content Management / Manifest delete / GET request to deleted manifest URL should yield 404 response, unless delete is disallowed', async () =>
    expectOneOf(await call('GET', `/v2/${ns}/manifests/${d.manifests[3]!.digest}`), [404, 200]),
  )
  spec('Content Management / Manifest delete / GET request to tags list should reflect manifest deletion', async () => {
    const a = await call('GET', `/v2/${ns}/tags/list`)
    expectStatus(a, 200)
    const body = JSON.parse(a.body.toString('utf8')) as { tags?: unknown }
    const now = Array.isArray(body.tags) ? body.tags.length : 0
    assert.ok(now < tagsBefore, `${now} tags after the delete, ${tagsBefore} before`)
  })

  spec('Content Management / Blob delete / DELETE request to blob URL should yield 202 response', async () => {
    expectOneOf(await deleteBlob(d.configs[3]!.digest), [202, 404, 405])
    const a = await deleteBlob(d.layer.digest)
    expectOneOf(a, [202, 404, 405])
    if (a.status === 405) blobDeleteAllowed = false
  })
  spec('Content Management / Blob delete / GET request to deleted blob URL should yield 404 response', async () => {
    skipUnless(blobDeleteAllowed)
    expectStatus(await call('GET', `/v2/${ns}/blobs/${d.configs[3]!.digest}`), 404)
  })
  return checks
}

/** Runs every check in order and sorts the outcomes (a failed check does not stop the run, as in Ginkgo). */
async function runAll(checks: readonly Check[]): Promise<{ passed: string[]; failed: { title: string; why: string }[]; skipped: string[] }> {
  const passed: string[] = []
  const failed: { title: string; why: string }[] = []
  const skipped: string[] = []
  for (const check of checks) {
    try {
      await check.run()
      passed.push(check.title)
    } catch (e) {
      if (e instanceof Skipped) skipped.push(check.title)
      else failed.push({ title: check.title, why: e instanceof Error ? e.message : String(e) })
    }
  }
  return { passed, failed, skipped }
}

// ---------------------------------------------------------------------------------------------
// appr-core: every check must pass.

// The suite's README example namespace (two segments, as an appr package name).
const NAMESPACE = 'myorg/myrepo'
let server: RunningServer | undefined
const apprChecks = suiteChecks({ base: () => server!.url, namespace: NAMESPACE })

test.before(async () => {
  server = await serve({ handler: createHandler(new Registry({ store: memoryStore() })), port: 0 })
})
const apprOutcomes = { passed: 0, skipped: 0 }
test.after(async () => {
  await server?.close()
  const ran = apprChecks.length - apprOutcomes.skipped
  console.log(`appr-core: ${apprOutcomes.passed} of ${ran} checks passed (${apprOutcomes.skipped} skipped by the suite's own conditions)`)
})

apprChecks.forEach((check, i) => {
  test(`appr-core [${i + 1}/${apprChecks.length}] ${check.title}`, async () => {
    try {
      await check.run()
      apprOutcomes.passed++
    } catch (e) {
      // A skip is the suite's own condition (an environment we do not set): nothing to assert.
      if (!(e instanceof Skipped)) throw e
      apprOutcomes.skipped++
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Calibration: the same checks on a real docker-registry (counts, not a failure).

test('calibration: the port run against docker-registry (CNCF distribution 2.8) reports its count', async () => {
  const peer = await startDockerRegistry({ suite: 'OCI spec conformance calibration' })
  if (!peer) return
  try {
    const checks = suiteChecks({ base: () => peer.url, namespace: NAMESPACE })
    const { passed, failed, skipped } = await runAll(checks)
    const ran = passed.length + failed.length
    console.log(`docker-registry: ${passed.length} of ${ran} checks passed (${skipped.length} skipped by the suite's own conditions)`)
    for (const f of failed) console.log(`  failed: ${f.title}\n          ${f.why.split('\n')[0]}`)
    // The port must not be blind: a real registry passes most of it, and every check ran or was skipped.
    assert.is(ran + skipped.length, checks.length)
    assert.ok(passed.length > ran / 2, `only ${passed.length} of ${ran}`)
  } finally {
    await peer.stop()
  }
})

test.run()
