// The pure OCI model of appr-core/oci: digests, references, spec errors, manifest parsing, and
// the Helm and appr projections (bytes as Go marshals them, digests stable).
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ApprError } from 'appr-core'
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  EMPTY_JSON,
  EMPTY_JSON_DIGEST,
  FORMAT_ANNOTATION,
  HELM_CHART_LAYER,
  HELM_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  OciError,
  goJson,
  helmAnnotations,
  helmChartMetadata,
  helmConfigBytes,
  helmTagOf,
  isOciError,
  isRepositoryName,
  isTag,
  ociDigestOf,
  parseManifest,
  parseOciDigest,
  parseReference,
  parseRepositoryName,
  parseTag,
  projectRelease,
  toOciError,
  verifyOciDigest,
  versionOfHelmTag,
} from 'appr-core/oci'

const text = new TextDecoder()
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))

function throwsOci(fn: () => unknown, code: string, status?: number): OciError {
  try {
    fn()
  } catch (e) {
    assert.ok(isOciError(e), String(e))
    assert.is((e as OciError).code, code)
    if (status !== undefined) assert.is((e as OciError).status, status)
    return e as OciError
  }
  assert.unreachable(`expected ${code}`)
  throw new Error('unreachable')
}

const HEX = 'a'.repeat(64)

test('digests: sha256 and 64 lowercase hex only; anything else is DIGEST_INVALID (400)', () => {
  assert.is(parseOciDigest(`sha256:${HEX}`), HEX)
  for (const bad of [`sha256:${'A'.repeat(64)}`, `sha256:${HEX.slice(1)}`, `sha512:${'a'.repeat(128)}`, HEX, `sha256:${HEX}\n`, '', 42]) {
    throwsOci(() => parseOciDigest(bad), 'DIGEST_INVALID', 400)
  }
  assert.is(ociDigestOf(EMPTY_JSON), EMPTY_JSON_DIGEST)
  verifyOciDigest(EMPTY_JSON, EMPTY_JSON_DIGEST)
  const e = throwsOci(() => verifyOciDigest(Uint8Array.of(1), EMPTY_JSON_DIGEST), 'DIGEST_INVALID')
  assert.equal(e.detail, { expected: EMPTY_JSON_DIGEST, actual: ociDigestOf(Uint8Array.of(1)) })
})

test('errors: the spec body, statuses, and ApprErrors mapped to the closest OCI code', () => {
  const e = new OciError('BLOB_UNKNOWN', 'blob unknown to registry', { detail: { digest: 'x' } })
  assert.is(e.status, 404)
  assert.equal(JSON.parse(JSON.stringify(e)), { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: { digest: 'x' } }] })
  assert.equal(new OciError('UNSUPPORTED', 'no').toJSON(), { errors: [{ code: 'UNSUPPORTED', message: 'no', detail: null }] })
  assert.is(toOciError(e), e)
  const mapped = toOciError(new ApprError('package-not-found', 'no such package', { details: { package: 'a/b' } }))
  assert.is(mapped.code, 'NAME_UNKNOWN')
  assert.is(mapped.status, 404)
  assert.equal(mapped.detail, { package: 'a/b' })
  assert.is(toOciError(new ApprError('unavailable', 'down')).code, 'UNKNOWN')
  assert.is(toOciError(new ApprError('unavailable', 'down')).status, 503)
  const hidden = toOciError(new Error('secret path /var/x'))
  assert.is(hidden.status, 500)
  assert.not.match(JSON.stringify(hidden), 'secret')
})

test('repository names follow the spec grammar', () => {
  for (const ok of ['a', 'acme/nginx', 'a.b/c_d', 'a__b/c--d', 'x/y/z/w', 'a0-9']) assert.is(parseRepositoryName(ok), ok)
  for (const bad of ['', 'A/b', 'a/', '/a', 'a//b', 'a._b', 'a___b', '-a', 'a-', 'a/.b', 'a b', `a/${'b'.repeat(260)}`, null]) {
    throwsOci(() => parseRepositoryName(bad), 'NAME_INVALID', 400)
  }
  const component = fc.stringMatching(/^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/, { size: 'small' })
  fc.assert(
    fc.property(fc.array(component, { minLength: 1, maxLength: 4 }), (parts) => {
      const name = parts.join('/')
      assert.is(isRepositoryName(name), name.length <= 255)
      assert.not.ok(isRepositoryName(`${name}/`))
      assert.not.ok(isRepositoryName(name.toUpperCase() === name ? `${name}/A` : name.toUpperCase()))
    }),
  )
})

test('tags and references: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}, a digest when it has a colon', () => {
  assert.is(parseTag(`_${'x'.repeat(127)}`), `_${'x'.repeat(127)}`)
  for (const bad of ['', '.x', '-x', 'x'.repeat(129), '1.0.0+build', 'a/b']) throwsOci(() => parseTag(bad), 'TAG_INVALID', 400)
  assert.equal(parseReference('1.0.0_build.1'), { kind: 'tag', tag: '1.0.0_build.1' })
  assert.equal(parseReference(`sha256:${HEX}`), { kind: 'digest', digest: `sha256:${HEX}` })
  throwsOci(() => parseReference('sha256:abc'), 'DIGEST_INVALID')
  throwsOci(() => parseReference('latest!'), 'TAG_INVALID')
  fc.assert(fc.property(fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/), (tag) => isTag(tag) && parseReference(tag).kind === 'tag'))
})

const desc = (mediaType: string, fill = 'b', size = 10) => ({ mediaType, digest: `sha256:${fill.repeat(64)}`, size })

test('parseManifest reads the four manifest types and what they reference', () => {
  const m = parseManifest(json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(HELM_CONFIG), layers: [desc(HELM_CHART_LAYER, 'c')] }))
  assert.is(m.mediaType, OCI_MANIFEST)
  assert.is(m.artifactType, HELM_CONFIG)
  assert.equal(m.layers.map((l) => l.digest), [`sha256:${'c'.repeat(64)}`])
  // No mediaType field: Content-Type decides (parameters ignored), else the shape.
  assert.is(parseManifest(json({ schemaVersion: 2, manifests: [] }), `${OCI_INDEX}; charset=utf-8`).mediaType, OCI_INDEX)
  assert.is(parseManifest(json({ schemaVersion: 2, manifests: [desc(OCI_MANIFEST)] })).mediaType, OCI_INDEX)
  assert.is(parseManifest(json({ schemaVersion: 2, config: desc('x/y'), layers: [] })).mediaType, OCI_MANIFEST)
  const artifact = parseManifest(
    json({ schemaVersion: 2, artifactType: 'application/vnd.example+type', config: desc(OCI_EMPTY), layers: [], subject: desc(OCI_MANIFEST, 'd'), extra: 1 }),
  )
  assert.is(artifact.artifactType, 'application/vnd.example+type')
  assert.is(artifact.subject?.digest, `sha256:${'d'.repeat(64)}`)
  const docker = parseManifest(json({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: desc('application/vnd.docker.container.image.v1+json'), layers: [] }))
  assert.is(docker.mediaType, DOCKER_MANIFEST)
  const list = parseManifest(json({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [{ ...desc(DOCKER_MANIFEST), platform: { architecture: 'amd64', os: 'linux' } }] }))
  assert.is(list.manifests.length, 1)
})

test('parseManifest refuses what is not a manifest with MANIFEST_INVALID, never a crash', () => {
  const bad: [unknown, string?][] = [
    ['not json'],
    [[1, 2]],
    [{ schemaVersion: 1, config: desc('a/b'), layers: [] }],
    [{ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }],
    [{ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...desc('a/b'), digest: 'sha512:ab' }, layers: [] }],
    [{ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...desc('a/b'), size: -1 }, layers: [] }],
    [{ schemaVersion: 2, mediaType: 'application/json', config: desc('a/b'), layers: [] }],
    [{ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc('a/b'), layers: [] }, OCI_INDEX],
    [{ schemaVersion: 2, mediaType: DOCKER_MANIFEST, manifests: [] }],
    [{ schemaVersion: 2, mediaType: 7, config: desc('a/b'), layers: [] }],
  ]
  for (const [doc, type] of bad) {
    const bytes = typeof doc === 'string' ? new TextEncoder().encode(doc) : json(doc)
    throwsOci(() => parseManifest(bytes, type), 'MANIFEST_INVALID', 400)
  }
  throwsOci(() => parseManifest(Uint8Array.of(0xff, 0xfe)), 'MANIFEST_INVALID')
  throwsOci(() => parseManifest(new Uint8Array(4 * 1024 * 1024 + 1)), 'SIZE_INVALID')
  // Annotation keys are user data: `__proto__` must not reach a prototype (zod drops it; the stored bytes keep it).
  const m = parseManifest(new TextEncoder().encode(`{"schemaVersion":2,"config":${JSON.stringify(desc('a/b'))},"layers":[],"annotations":{"__proto__":"x","constructor":"y"}}`))
  assert.is(Object.getPrototypeOf(m.annotations), Object.prototype)
  assert.equal(Object.entries(m.annotations), [['constructor', 'y']])
  fc.assert(
    fc.property(fc.jsonValue(), fc.option(fc.constantFrom(OCI_MANIFEST, OCI_INDEX, 'text/plain'), { nil: undefined }), (doc, type) => {
      try {
        parseManifest(json(doc), type)
      } catch (e) {
        assert.ok(isOciError(e, 'MANIFEST_INVALID'), String(e))
      }
    }),
  )
})

test('Helm tags: + is written _, and read back only as SemVer', () => {
  assert.is(helmTagOf('1.2.3+build.7'), '1.2.3_build.7')
  assert.is(versionOfHelmTag('1.2.3_build.7'), '1.2.3+build.7')
  assert.is(versionOfHelmTag('1.2.3-rc.1'), '1.2.3-rc.1')
  assert.is(versionOfHelmTag('latest'), undefined)
  assert.is(versionOfHelmTag('1.2'), undefined)
  const semverArb = fc
    .tuple(fc.nat(99), fc.nat(99), fc.nat(99), fc.option(fc.stringMatching(/^[0-9A-Za-z-]{1,8}(\.[0-9A-Za-z-]{1,8}){0,2}$/), { nil: undefined }))
    .map(([a, b, c, build]) => `${a}.${b}.${c}${build ? `+${build}` : ''}`)
  fc.assert(fc.property(semverArb, (v) => isTag(helmTagOf(v)) && versionOfHelmTag(helmTagOf(v)) === v))
})

const chartYaml = {
  apiVersion: 'v2',
  name: 'wordpress',
  version: '1.4.0+g1',
  description: 'Blog <engine> & more',
  appVersion: 6.5,
  type: 'application',
  keywords: ['blog', 'cms'],
  home: 'https://example.org',
  sources: ['https://git.example.org/wp', 'https://mirror.example.org/wp'],
  maintainers: [{ name: 'Ann', email: 'ann@example.org' }, { name: 'Bob' }],
  annotations: { 'z.example/key': 'z', 'a.example/key': 'a', 'org.opencontainers.image.title': 'ignored' },
  dependencies: [{ name: 'mariadb', version: '11.x', repository: 'oci://r/charts', condition: 'mariadb.enabled' }, { name: 'local' }],
  deprecated: false,
  unknownField: 'dropped, as Helm does',
}

test('the Helm config is Chart.yaml as Helm marshals chart.Metadata: Go field order, omitempty, HTML escapes', () => {
  const expected =
    '{"name":"wordpress","home":"https://example.org","sources":["https://git.example.org/wp","https://mirror.example.org/wp"],' +
    '"version":"1.4.0+g1","description":"Blog \\u003cengine\\u003e \\u0026 more","keywords":["blog","cms"],' +
    '"maintainers":[{"name":"Ann","email":"ann@example.org"},{"name":"Bob"}],"apiVersion":"v2","appVersion":"6.5",' +
    '"annotations":{"a.example/key":"a","org.opencontainers.image.title":"ignored","z.example/key":"z"},' +
    '"dependencies":[{"name":"mariadb","version":"11.x","repository":"oci://r/charts","condition":"mariadb.enabled"},{"name":"local","repository":""}],' +
    '"type":"application"}'
  assert.is(text.decode(helmConfigBytes(chartYaml)), expected)
  assert.is(JSON.parse(expected).description, 'Blog <engine> & more')
  assert.is(text.decode(helmConfigBytes({ name: 'x', version: '1.0.0' })), '{"name":"x","version":"1.0.0"}')
  assert.is(goJson({ s: '\u2028' }), '{"s":"\\u2028"}')
})

test('Helm annotations: Helm’s fields in sorted key order, chart annotations except title and version', () => {
  const annotations = helmAnnotations(helmChartMetadata(chartYaml), '2024-01-02T03:04:05Z')
  assert.equal(Object.entries(annotations), [
    ['a.example/key', 'a'],
    ['org.opencontainers.image.authors', 'Ann (ann@example.org), Bob'],
    ['org.opencontainers.image.created', '2024-01-02T03:04:05Z'],
    ['org.opencontainers.image.description', 'Blog <engine> & more'],
    ['org.opencontainers.image.source', 'https://git.example.org/wp'],
    ['org.opencontainers.image.title', 'wordpress'],
    ['org.opencontainers.image.url', 'https://example.org'],
    ['org.opencontainers.image.version', '1.4.0+g1'],
    ['z.example/key', 'z'],
  ])
})

const chartBlob = { digest: `sha256:${'1'.repeat(64)}`, size: 765 }
const kpmBlob = { digest: `sha256:${'2'.repeat(64)}`, size: 848 }

test('a helm release projects to the manifest Helm pushes, parseable and stable', () => {
  const p = projectRelease({ package: 'acme/wordpress', release: '1.4.0+g1', created: '2024-01-02T03:04:05Z', formats: [{ format: 'helm', blob: chartBlob, chartYaml }] })
  assert.is(p.tag, '1.4.0_g1')
  assert.is(p.manifest, p.formats[0]!.manifest)
  const body = text.decode(p.manifest.bytes)
  const config = p.formats[0]!.config
  assert.ok(body.startsWith(`{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"${HELM_CONFIG}","digest":"${config.digest}","size":${config.size}},"layers":[{"mediaType":"${HELM_CHART_LAYER}","digest":"${chartBlob.digest}","size":765}],"annotations":{`), body)
  assert.is(ociDigestOf(config.bytes), config.digest)
  assert.is(p.manifest.digest, ociDigestOf(p.manifest.bytes))
  const parsed = parseManifest(p.manifest.bytes, OCI_MANIFEST)
  assert.is(parsed.artifactType, HELM_CONFIG)
  assert.is(parsed.annotations['org.opencontainers.image.version'], '1.4.0+g1')
  const again = projectRelease({ package: 'acme/wordpress', release: '1.4.0+g1', created: '2024-01-02T03:04:05Z', formats: [{ format: 'helm', blob: chartBlob, chartYaml }] })
  assert.is(again.manifest.digest, p.manifest.digest)
  // A chart without Chart.yaml still gets Helm's required name and version.
  const bare = projectRelease({ package: 'acme/bare', release: '0.1.0', created: 'c', formats: [{ format: 'helm', blob: chartBlob }] })
  assert.is(text.decode(bare.formats[0]!.config.bytes), '{"name":"bare","version":"0.1.0"}')
})

test('other formats are artifacts; several formats are an index with Helm first', () => {
  const kpm = projectRelease({ package: 'acme/rocket', release: '1.0.0', created: 'c', formats: [{ format: 'kpm', blob: kpmBlob }] })
  const parsed = parseManifest(kpm.manifest.bytes)
  assert.is(parsed.artifactType, 'application/vnd.appr.package-manifest.kpm.v0.json')
  assert.equal(parsed.config, { mediaType: OCI_EMPTY, digest: EMPTY_JSON_DIGEST, size: 2 })
  assert.equal(parsed.layers, [{ mediaType: 'application/vnd.appr.package.kpm.v0.tar+gzip', ...kpmBlob }])
  assert.equal(kpm.formats[0]!.config.bytes, EMPTY_JSON)

  const multi = projectRelease({
    package: 'acme/rocket',
    release: '1.0.0',
    created: 'c',
    formats: [
      { format: 'kpm', blob: kpmBlob },
      { format: 'helm', blob: chartBlob },
      { format: 'docker-compose', blob: kpmBlob },
    ],
  })
  assert.equal(multi.formats.map((f) => f.format), ['helm', 'docker-compose', 'kpm'])
  const index = parseManifest(multi.manifest.bytes)
  assert.is(index.mediaType, OCI_INDEX)
  assert.equal(
    index.manifests.map((m) => [m.digest, m.annotations?.[FORMAT_ANNOTATION]]),
    multi.formats.map((f) => [f.manifest.digest, f.format]),
  )
  assert.equal(Object.keys(index.manifests[0]!), ['mediaType', 'digest', 'size', 'annotations'])
  assert.throws(() => projectRelease({ package: 'a/b', release: '1.0.0', created: 'c', formats: [] }), TypeError)
})

test.run()
