import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry, isApprError } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { canonicalManifest, isManifestDigest, manifestDigest } from 'appr-core/trust'
import { rocketchat, tgz } from '../registry/helpers.js'

const example = {
  package: 'acme/rocketchat',
  release: '1.0.0',
  mediaType: 'application/vnd.appr.package-manifest.helm.v0.json',
  content: {
    mediaType: 'application/vnd.appr.package.helm.v0.tar+gzip',
    size: 848,
    digest: '8dc8a2c479f770fd710e0dddaa7af0e6b495bc6375cdf2b4a649f4c2b03e27d5',
    urls: [],
  },
  metadata: { team: 'chat', é: 1.5 },
  created_at: '2026-12-04T20:00:00.000Z',
  channels: ['stable'],
}

test('the worked example of docs/trust.md: its canonical text, and sha256sum of it gives its digest', () => {
  const doc = readFileSync(new URL('../../docs/trust.md', import.meta.url), 'utf8')
  const printf = /printf '%s' '([^']+)' \| sha256sum/.exec(doc)
  const stated = /^# ([0-9a-f]{64}) {2}-$/m.exec(doc)
  assert.ok(printf && stated, 'docs/trust.md has the printf | sha256sum example and its output')
  assert.is(printf[1], canonicalManifest(example))
  const output = execFileSync('sh', ['-c', `printf '%s' '${printf[1]}' | sha256sum`], { encoding: 'utf8' })
  assert.is(output.trim(), `${stated[1]}  -`)
  assert.is(manifestDigest(example), `sha256:${stated[1]}`)
  // The jq recipe of the same section gives the same digest from the whole show answer.
  const jq = /\| jq -cjS '([^']+)' \| sha256sum/.exec(doc)
  assert.ok(jq, 'docs/trust.md has the jq recipe')
  const viaJq = execFileSync('sh', ['-c', `jq -cjS '${jq[1]}' | sha256sum`], { input: JSON.stringify(example), encoding: 'utf8' })
  assert.is(viaJq.trim(), `${stated[1]}  -`)
})

test('only the allow-listed fields count: created_at, channels, signatures and unknown fields do not', () => {
  const base = manifestDigest(example)
  assert.ok(isManifestDigest(base))
  assert.is(manifestDigest({ ...example, created_at: '1999-01-01T00:00:00Z', channels: [], signatures: [{}], digest: 'x', extra: 1 } as never), base)
  assert.is(manifestDigest({ ...example, content: { ...example.content, extra: true } as never }), base)
})

test('defaults: absent urls count as [], absent metadata as null', () => {
  const { urls: _urls, ...content } = example.content
  assert.is(manifestDigest({ ...example, content }), manifestDigest(example))
  const { metadata: _metadata, ...bare } = example
  assert.is(manifestDigest(bare), manifestDigest({ ...example, metadata: null }))
})

test('every covered field changes the digest', () => {
  const base = manifestDigest(example)
  const variants = [
    { ...example, package: 'acme/rocketchat2' },
    { ...example, release: '1.0.1' },
    { ...example, release: '1.0.0+build.1' },
    { ...example, mediaType: 'application/vnd.appr.package-manifest.helm.v1.json' },
    { ...example, content: { ...example.content, mediaType: 'application/vnd.appr.package.helm.v1.tar+gzip' } },
    { ...example, content: { ...example.content, size: 849 } },
    { ...example, content: { ...example.content, digest: `${'0'.repeat(63)}1` } },
    { ...example, content: { ...example.content, urls: ['https://example.com/x'] } },
    { ...example, metadata: null },
    { ...example, metadata: { team: 'chat', é: 1.51 } },
    { ...example, metadata: { team: 'chat', e: 1.5 } },
  ]
  const digests = new Set(variants.map((v) => manifestDigest(v)))
  assert.is(digests.size, variants.length)
  assert.not.ok(digests.has(base))
})

test('metadata that is not I-JSON is refused (typed), not hashed some other way', () => {
  assert.throws(
    () => manifestDigest({ ...example, metadata: { bad: 'x\ud800' } }),
    (e: unknown) => isApprError(e, 'invalid-parameters'),
  )
})

test('property: stable under JSON round trips of the whole manifest, whatever the metadata', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), fc.boolean(), (metadata, pretty) => {
      const m = { ...example, metadata }
      const text = pretty ? JSON.stringify(m, null, 1) : JSON.stringify(m)
      assert.is(manifestDigest(JSON.parse(text)), manifestDigest(m))
    }),
    { numRuns: 300 },
  )
})

test('a registry: the digest of a release is the same from show, pull and releases, across pushes elsewhere and JSON', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const clock = () => {
    now += 1000
    return new Date(now)
  }
  const a = new Registry({ store: memoryStore(), clock })
  const b = new Registry({ store: memoryStore(), clock })
  const push = { package: 'acme/rocketchat', release: '1.0.0', format: 'helm', blob: rocketchat, metadata: { team: 'chat' } }
  await a.push(push)
  await b.push(push)
  const shownA = await a.show('acme/rocketchat', { release: '1.0.0', format: 'helm' })
  const shownB = await b.show('acme/rocketchat', { release: '1.0.0', format: 'helm' })
  assert.is.not(shownA.created_at, shownB.created_at)
  const digest = manifestDigest(shownA)
  assert.is(manifestDigest(shownB), digest, 'the same release pushed to two registries at two times')
  const pulled = await a.pull('acme/rocketchat', { release: '1.0.0', format: 'helm' })
  for await (const _ of pulled.stream) {
    // drain
  }
  assert.is(manifestDigest(pulled.manifest), digest)
  assert.is(manifestDigest((await a.releases('acme/rocketchat'))[0]!), digest)
  assert.is(manifestDigest(JSON.parse(JSON.stringify(shownA))), digest)

  // A force push of other content changes it; of the same content and metadata, it does not.
  await a.push({ ...push, force: true })
  assert.is(manifestDigest(await a.show('acme/rocketchat', { release: '1.0.0', format: 'helm' })), digest)
  await a.push({ ...push, blob: await tgz({ 'rocketchat/Chart.yaml': 'name: rocketchat\n' }), force: true })
  assert.is.not(manifestDigest(await a.show('acme/rocketchat', { release: '1.0.0', format: 'helm' })), digest)
  await a.push({ ...push, metadata: { team: 'ops' }, force: true })
  assert.is.not(manifestDigest(await a.show('acme/rocketchat', { release: '1.0.0', format: 'helm' })), digest)
  await Promise.all([a.close(), b.close()])
})

test.run()
