// GET /v2/<name>/referrers/<digest> in pages: `n` and `last`, a `Link: <…>; rel="next"` header
// while referrers remain (distribution-spec v1.1, "Listing Referrers"), the artifactType filter
// kept in it, bad paging parameters refused, and the page bounded in count and in bytes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler } from 'appr-core/http'
import { EMPTY_JSON, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, ociDigestOf } from 'appr-core/oci'

const enc = new TextEncoder()
const REPO = 'acme/signed'
const registry = new Registry({ store: memoryStore() })
const handler = createHandler(registry)
const config = { mediaType: OCI_EMPTY, digest: ociDigestOf(EMPTY_JSON), size: EMPTY_JSON.byteLength }

async function call(path: string) {
  const res = await handler(new Request(`http://127.0.0.1${path}`))
  const text = await res.text()
  return { status: res.status, headers: res.headers, bytes: text.length, body: JSON.parse(text) as { manifests?: { digest: string; artifactType?: string }[]; errors?: { code: string }[] } }
}

/** A subject and `count` referrers of it, of the artifact types given in turn, each with an annotation of `pad` characters. */
async function referrersOf(subjectTag: string, count: number, types: readonly string[], pad = 0): Promise<{ subject: string; digests: string[] }> {
  const subject = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [], annotations: { tag: subjectTag } }))
  const { digest } = await registry.ociManifests.put(REPO, subjectTag, subject, OCI_MANIFEST)
  const digests: string[] = []
  for (let i = 0; i < count; i++) {
    const bytes = enc.encode(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: types[i % types.length], config, layers: [], subject: { mediaType: OCI_MANIFEST, digest, size: subject.byteLength }, annotations: { i: String(i), pad: 'x'.repeat(pad) } }),
    )
    digests.push((await registry.ociManifests.put(REPO, ociDigestOf(bytes), bytes, OCI_MANIFEST)).digest)
  }
  return { subject: digest, digests: digests.sort() }
}

/** Follows `Link: <…>; rel="next"` from `path`; returns each page's digests and headers. */
async function pages(path: string) {
  const out: { digests: string[]; filters: string | null; bytes: number }[] = []
  for (let next: string | undefined = path; next !== undefined; ) {
    const page = await call(next)
    assert.is(page.status, 200, JSON.stringify(page.body))
    assert.is(page.headers.get('content-type'), OCI_INDEX)
    out.push({ digests: (page.body.manifests ?? []).map((m) => m.digest), filters: page.headers.get('oci-filters-applied'), bytes: page.bytes })
    const link = page.headers.get('link')
    next = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)![1]!
    assert.ok(out.length < 50, 'the pages end')
  }
  return out
}

await registry.ociBlobs.finishUpload(REPO, (await registry.ociBlobs.startUpload(REPO)).id, config.digest, (async function* () {
  yield EMPTY_JSON
})())

test('n pages the referrers in digest order, each page with a Link to the next until the last; without n, one page', async () => {
  const { subject, digests } = await referrersOf('v1', 7, ['application/vnd.example.signature', 'application/vnd.example.sbom'])
  const paged = await pages(`/v2/${REPO}/referrers/${subject}?n=3`)
  assert.equal(paged.map((p) => p.digests.length), [3, 3, 1])
  assert.equal(paged.flatMap((p) => p.digests), digests, 'every referrer once, in digest order')
  const first = await call(`/v2/${REPO}/referrers/${subject}?n=3`)
  assert.is(first.headers.get('link'), `</v2/${REPO}/referrers/${subject}?n=3&last=${encodeURIComponent(digests[2]!)}>; rel="next"`)
  const whole = await pages(`/v2/${REPO}/referrers/${subject}`)
  assert.equal(whole.map((p) => p.digests), [digests])
  // Exactly n left: no Link to an empty page.
  assert.equal((await pages(`/v2/${REPO}/referrers/${subject}?n=7`)).length, 1)
  assert.equal((await call(`/v2/${REPO}/referrers/${subject}?n=3&last=${digests[5]}`)).body.manifests?.map((m) => m.digest), [digests[6]])
})

test('the artifactType filter stays in the Link; the last matching page has none, though others follow', async () => {
  const sbom = 'application/vnd.example.sbom'
  const { subject } = await referrersOf('v2', 9, [sbom, 'application/vnd.example.signature', 'application/vnd.example.signature'])
  const filtered = await pages(`/v2/${REPO}/referrers/${subject}?artifactType=${encodeURIComponent(sbom)}&n=2`)
  assert.equal(filtered.map((p) => p.digests.length), [2, 1])
  assert.ok(filtered.every((p) => p.filters === 'artifactType'))
  const all = (await call(`/v2/${REPO}/referrers/${subject}`)).body.manifests ?? []
  assert.equal(
    filtered.flatMap((p) => p.digests),
    all.filter((m) => m.artifactType === sbom).map((m) => m.digest),
  )
})

test('bad paging parameters are spec errors; n=0 is an empty page', async () => {
  const { subject } = await referrersOf('v3', 2, ['application/vnd.example.signature'])
  for (const n of ['-1', 'abc', '1.5']) {
    const bad = await call(`/v2/${REPO}/referrers/${subject}?n=${n}`)
    assert.is(bad.status, 400)
    assert.is(bad.body.errors?.[0]?.code, 'PAGINATION_NUMBER_INVALID')
  }
  const last = await call(`/v2/${REPO}/referrers/${subject}?last=nope`)
  assert.is(last.status, 400)
  assert.is(last.body.errors?.[0]?.code, 'DIGEST_INVALID')
  const none = await call(`/v2/${REPO}/referrers/${subject}?n=0`)
  assert.equal([none.body.manifests, none.headers.get('link')], [[], null])
})

test('a page holds at most 1,000 referrers and about 4 MiB of descriptors', async () => {
  const many = await referrersOf('v4', 1001, ['application/vnd.example.signature'])
  const counted = await registry.ociManifests.referrers(REPO, many.subject, { n: 5000 })
  assert.is(counted.items.length, 1000)
  assert.is(counted.next, many.digests[999])
  assert.equal((await registry.ociManifests.referrers(REPO, many.subject, { last: counted.next! })).items.map((m) => m.digest), [many.digests[1000]!])
  // Referrers whose annotations are 600 KB each: a page stops before 4 MiB.
  const large = await referrersOf('v5', 9, ['application/vnd.example.sbom'], 600_000)
  const paged = await pages(`/v2/${REPO}/referrers/${large.subject}`)
  assert.ok(paged.length > 1, 'more than one page')
  assert.ok(paged.every((p) => p.bytes <= 4 * 1024 * 1024 + 64 * 1024), `page sizes ${paged.map((p) => p.bytes)}`)
  assert.equal(paged.flatMap((p) => p.digests), large.digests)
})

test.run()
