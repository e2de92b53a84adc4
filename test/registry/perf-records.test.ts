// The fast record checks (records.ts, oci-records.ts) against their zod schemas: whenever a fast check accepts
// a JSON value, zod accepts it too and gives the very same output (fields, order, values); a
// value the fast check is unsure of is left to zod. Random records are valid ones bent by
// mutations: extra, missing or retyped fields, long strings, odd numbers, `__proto__` keys.
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError } from '../../src/errors/index.js'
import {
  BlobRecordType,
  ChannelRecordType,
  decode,
  ManifestRecordType,
  ObjectRecordType,
  PackageBlobType,
  PackageRecordType,
  type RecordType,
} from '../../src/registry/records.js'
import { OciBlobRecordType, OciLinkRecordType, OciManifestRecordType, OciRepoRecordType, OciTagRecordType } from '../../src/registry/oci-records.js'

const hex = fc.stringMatching(/^[a-f0-9]{64}$/)
const text = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('1.0.0', 'helm', 'a'.repeat(64), 'x'.repeat(129), 'y'.repeat(257), 'z'.repeat(601)))
const json: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 2 })
const number = fc.oneof(fc.integer({ min: -2, max: 3 }), fc.constantFrom(2 ** 53, 2 ** 53 - 1, 1.5, -0, 0))
const map = (value: fc.Arbitrary<unknown>) => fc.dictionary(fc.oneof(text, fc.constant('__proto__')), value, { maxKeys: 3 })

const manifest = fc.record(
  {
    package: text,
    release: text,
    mediaType: text,
    content: fc.record({ mediaType: text, size: number, digest: fc.oneof(hex, text), urls: fc.array(text, { maxLength: 2 }) }, { requiredKeys: ['mediaType', 'size', 'digest'] }),
    metadata: fc.oneof(fc.constant(null), json),
    created_at: text,
  },
  { requiredKeys: ['package', 'release', 'mediaType', 'content', 'created_at'] },
)
// Mostly well-formed heads (bent ones come from `manifest` above and from the mutations below), so
// the fast path is exercised on records that carry them.
const short = fc.string({ maxLength: 8 })
const cleanManifest = fc.record({
  package: short,
  release: short,
  mediaType: short,
  content: fc.record({ mediaType: short, size: fc.nat(), digest: hex, urls: fc.constant([]) }),
  metadata: fc.oneof(fc.constant(null), json),
  created_at: short,
})
const head = fc.record({
  manifest: fc.oneof({ weight: 4, arbitrary: cleanManifest }, { weight: 1, arbitrary: manifest }),
  ociDigest: short,
  size: fc.oneof({ weight: 4, arbitrary: fc.nat() }, { weight: 1, arbitrary: number }),
  object: short,
})

const records: Record<string, [RecordType<unknown>, fc.Arbitrary<Record<string, unknown>>]> = {
  package: [
    PackageRecordType as RecordType<unknown>,
    fc.record(
      { name: text, created_at: text, releases: map(map(fc.oneof(hex, text))), channels: map(text), heads: fc.dictionary(fc.constantFrom('helm', 'kpm', '__proto__'), head, { maxKeys: 2 }) },
      { requiredKeys: ['name', 'created_at', 'releases', 'channels'] },
    ),
  ],
  manifest: [ManifestRecordType as RecordType<unknown>, manifest],
  channel: [ChannelRecordType as RecordType<unknown>, fc.record({ name: text, current: text, releases: fc.array(text, { maxLength: 3 }) })],
  blob: [BlobRecordType as RecordType<unknown>, fc.record({ digest: hex, ociDigest: text, size: number, object: text, refs: number })],
  pblob: [PackageBlobType as RecordType<unknown>, fc.record({ refs: number })],
  'oci blob': [
    OciBlobRecordType as RecordType<unknown>,
    fc.record({ size: number, object: text, inline: text, refs: number, appr: text }, { requiredKeys: ['size', 'refs'] }),
  ],
  'oci link': [OciLinkRecordType as RecordType<unknown>, fc.record({ created_at: text, refs: number, free_at: text }, { requiredKeys: ['created_at'] })],
  'oci tag': [OciTagRecordType as RecordType<unknown>, fc.record({ digest: text, appr: fc.constantFrom('release', 'channel', 'other') }, { requiredKeys: ['digest'] })],
  'oci repo': [OciRepoRecordType as RecordType<unknown>, fc.record({ created_at: text, manifests: number })],
  'oci manifest': [
    OciManifestRecordType as RecordType<unknown>,
    fc.record(
      { mediaType: text, bytes: text, created_at: text, tags: fc.array(text, { maxLength: 2 }), refs: number, free_at: text, appr: fc.record({ release: text }) },
      { requiredKeys: ['mediaType', 'bytes', 'created_at', 'tags'] },
    ),
  ],
  object: [
    ObjectRecordType as RecordType<unknown>,
    fc.oneof(
      fc.record({ state: fc.constant('live'), digest: text }),
      fc.record({ state: fc.constant('uploading'), started_at: text }),
      fc.record({ state: fc.constantFrom('doomed', 'other') }),
    ),
  ],
}

/** Bends a valid-looking record: drops a field, adds one, or retypes one (also one level down). */
const mutated = (base: fc.Arbitrary<Record<string, unknown>>) =>
  fc.tuple(base, fc.nat(3), fc.string({ maxLength: 6 }), json).map(([value, how, key, other]) => {
    const copy: Record<string, unknown> = JSON.parse(JSON.stringify(value))
    const names = Object.keys(copy)
    const name = names[key.length % Math.max(1, names.length)]
    if (how === 1 && name !== undefined) delete copy[name]
    if (how === 2) copy[key === '' ? 'extra' : key] = other
    if (how === 3 && name !== undefined) {
      const inner = copy[name]
      if (typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
        const innerNames = Object.keys(inner)
        const target = innerNames[key.length % Math.max(1, innerNames.length)] ?? 'extra'
        ;(inner as Record<string, unknown>)[target] = other
      } else copy[name] = other
    }
    return copy
  })

for (const [label, [type, arbitrary]] of Object.entries(records)) {
  test(`${label}: the fast check agrees with zod`, () => {
    let fastHits = 0
    fc.assert(
      fc.property(fc.oneof(arbitrary, mutated(arbitrary)), (value) => {
        // As stored: through JSON, as decode sees it.
        const bytes = new TextEncoder().encode(JSON.stringify(value))
        const parsed = JSON.parse(JSON.stringify(value)) as unknown
        const fast = type.fast(parsed)
        const zod = type.schema.safeParse(JSON.parse(JSON.stringify(value)))
        if (fast !== undefined) {
          fastHits++
          assert.ok(zod.success, `fast accepted what zod rejects: ${JSON.stringify(value)}`)
          assert.is(JSON.stringify(fast), JSON.stringify(zod.data))
          assert.equal(fast, zod.data)
        }
        // decode as a whole: zod's verdict, either way.
        try {
          const decoded = decode(type, bytes, { package: 'p/q' })
          assert.ok(zod.success)
          assert.is(JSON.stringify(decoded), JSON.stringify(zod.data))
        } catch (e) {
          assert.ok(!zod.success, `decode threw on a valid record: ${String(e)}`)
          assert.ok(isApprError(e, 'internal-error'))
          assert.equal((e as { details: unknown }).details, { package: 'p/q' })
        }
      }),
      { numRuns: 400 },
    )
    // Not a dead branch. (How often random values take it varies by type, ~20 in 400 for OCI
    // manifests; that real records take it is the next test.)
    assert.ok(fastHits > 0, `fast path taken ${fastHits} times`)
  })
}

test('the records the registry writes take the fast path', () => {
  const manifest = {
    package: 'a/b',
    release: '1.0.0',
    mediaType: 'application/vnd.appr.package-manifest.helm.v0.json',
    content: { mediaType: 'application/vnd.appr.package.helm.v0.tar+gzip', size: 848, digest: 'a'.repeat(64), urls: [] },
    metadata: { nested: [1, { x: null }] },
    created_at: '2026-01-01T00:00:00.000Z',
  }
  assert.equal(ManifestRecordType.fast(JSON.parse(JSON.stringify(manifest))), manifest)
  const pkg = { name: 'a/b', created_at: 'now', releases: { '1.0.0': { helm: 'a'.repeat(64) } }, channels: { stable: '1.0.0' } }
  // Decoded name maps have no prototype (a format may be `constructor`): same JSON, null prototypes.
  const decodedPkg = PackageRecordType.fast(JSON.parse(JSON.stringify(pkg)))!
  assert.is(JSON.stringify(decodedPkg), JSON.stringify(pkg))
  assert.is(Object.getPrototypeOf(decodedPkg.releases), null)
  assert.is(Object.getPrototypeOf(decodedPkg.channels), null)
  assert.equal(ChannelRecordType.fast({ name: 'stable', current: '1.0.0', releases: ['1.0.0'] }), { name: 'stable', current: '1.0.0', releases: ['1.0.0'] })
  assert.equal(BlobRecordType.fast({ digest: 'd', ociDigest: 'sha256:e', size: 1, object: 'o', refs: 1 }), { digest: 'd', ociDigest: 'sha256:e', size: 1, object: 'o', refs: 1 })
  assert.equal(PackageBlobType.fast({ refs: 2 }), { refs: 2 })
  assert.equal(ObjectRecordType.fast({ state: 'live', digest: 'd' }), { state: 'live', digest: 'd' })
})

test.run()
