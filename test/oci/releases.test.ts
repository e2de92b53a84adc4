// appr releases pushed to and pulled from a real docker-registry with pushRelease/pullRelease;
// skopeo reads what was pushed, and `skopeo copy --all` of a multi-format release keeps the
// index digest (the projection keeps descriptors to fields copy tools preserve).
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError } from 'appr-core'
import {
  EMPTY_JSON,
  FORMAT_ANNOTATION,
  HELM_CHART_LAYER,
  HELM_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  type OciClient,
  isOciError,
  ociClient,
  ociDigestOf,
  packageOfRepository,
  parseManifest,
  pullRelease,
  pushRelease,
  repositoryOf,
} from 'appr-core/oci'
import { type TestDockerRegistry, findBinary, skipOrFail, startDockerRegistry } from '../helpers/servers.js'

const run = promisify(execFile)
const fixtures = new URL('../fixtures/', import.meta.url).pathname
const chart = new Uint8Array(readFileSync(join(fixtures, 'hello-0.1.0+b1.tgz')))
const kubeUi = new Uint8Array(readFileSync(join(fixtures, 'kube-ui.tar.gz')))

let registry: TestDockerRegistry | undefined
let client: OciClient
let skopeo: string | undefined
test.before(async () => {
  registry = await startDockerRegistry({ suite: 'oci releases' })
  if (registry) client = ociClient({ url: registry.url })
  skopeo = findBinary('skopeo')
  if (!skopeo) skipOrFail('oci releases with skopeo', 'install skopeo (apt-get install skopeo)')
})
test.after(async () => {
  await registry?.stop()
})

const raw = async (ref: string) => new Uint8Array((await run(skopeo!, ['inspect', '--raw', '--tls-verify=false', `docker://${registry!.host}/${ref}`], { encoding: 'buffer' })).stdout)

test('packages map to repositories under a prefix and back', () => {
  assert.is(repositoryOf('mirror/', 'Charts/Hello'), 'mirror/charts/hello')
  assert.is(repositoryOf('', 'charts/hello'), 'charts/hello')
  assert.is(packageOfRepository('mirror', 'mirror/charts/hello'), 'charts/hello')
  assert.is(packageOfRepository('mirror', 'other/charts/hello'), undefined)
  assert.is(packageOfRepository('', 'a/b/c'), undefined)
  // appr allows a..b; the OCI name grammar does not.
  try {
    repositoryOf('m', 'a..b/c')
    assert.unreachable()
  } catch (e) {
    assert.ok(isOciError(e, 'NAME_INVALID'), String(e))
  }
})

test('a helm release pushes as Helm writes it and pulls back byte for byte', async () => {
  if (!registry) return
  const repository = repositoryOf('mirror', 'charts/hello')
  const pushed = await pushRelease(client, { repository, package: 'charts/hello', release: '0.1.0+b1', created: '2026-01-01T00:00:00Z', formats: [{ format: 'helm', blob: chart }] })
  assert.is(pushed.tag, '0.1.0_b1')
  assert.is(pushed.mediaType, OCI_MANIFEST)
  const again = await pushRelease(client, { repository, package: 'charts/hello', release: '0.1.0+b1', created: '2026-01-01T00:00:00Z', formats: [{ format: 'helm', blob: chart }] })
  assert.is(again.digest, pushed.digest, 'the same release gives the same manifest')
  const pulled = await pullRelease(client, repository, '0.1.0_b1')
  assert.is(pulled.release, '0.1.0+b1')
  assert.is(pulled.digest, pushed.digest)
  assert.equal(pulled.formats.map((f) => [f.format, f.digest]), [['helm', ociDigestOf(chart)]])
  assert.equal(pulled.formats[0]!.blob, chart)
  if (!skopeo) return
  const manifest = parseManifest(await raw(`${repository}:0.1.0_b1`))
  assert.is(manifest.config?.mediaType, HELM_CONFIG)
  assert.equal(manifest.layers.map((l) => l.mediaType), [HELM_CHART_LAYER])
})

test('several formats are an index (Helm first); skopeo copy --all keeps its digest and the copy pulls the same bytes', async () => {
  if (!registry) return
  const repository = 'mirror/acme/multi'
  const pushed = await pushRelease(client, {
    repository,
    package: 'acme/multi',
    release: '2.0.0',
    formats: [
      { format: 'kpm', blob: kubeUi },
      { format: 'helm', blob: chart },
    ],
  })
  assert.is(pushed.mediaType, OCI_INDEX)
  const pulled = await pullRelease(client, repository, '2.0.0')
  assert.equal(pulled.formats.map((f) => f.format), ['helm', 'kpm'])
  assert.equal(pulled.formats[1]!.blob, kubeUi)
  if (!skopeo) return
  const index = parseManifest(await raw(`${repository}:2.0.0`))
  assert.equal(index.manifests.map((m) => m.annotations?.[FORMAT_ANNOTATION]), ['helm', 'kpm'])
  // biome-ignore format: flag list
  await run(skopeo, ['copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false',
    `docker://${registry.host}/${repository}:2.0.0`, `docker://${registry.host}/copies/acme/multi:2.0.0`])
  const copied = await pullRelease(client, 'copies/acme/multi', '2.0.0')
  assert.is(copied.digest, pushed.digest, 'the index digest survives the copy')
  assert.equal(copied.formats.map((f) => [f.format, f.blob]), pulled.formats.map((f) => [f.format, f.blob]))
  const tags = await run(skopeo, ['list-tags', '--tls-verify=false', `docker://${registry.host}/copies/acme/multi`])
  assert.equal(JSON.parse(tags.stdout).Tags, ['2.0.0'])
})

test('a plain Helm chart (no appr annotations) pulls with its release from the tag; non-packages are refused', async () => {
  if (!registry) return
  const repository = 'plain/hello'
  const config = await client.pushBlob(repository, new TextEncoder().encode('{"name":"hello","version":"0.1.0+b1"}'))
  const layer = await client.pushBlob(repository, chart)
  const manifest = new TextEncoder().encode(
    JSON.stringify({ schemaVersion: 2, config: { mediaType: HELM_CONFIG, ...config }, layers: [{ mediaType: HELM_CHART_LAYER, ...layer }] }),
  )
  await client.putManifest(repository, '0.1.0_b1', manifest, OCI_MANIFEST)
  const pulled = await pullRelease(client, repository, '0.1.0_b1')
  assert.is(pulled.release, '0.1.0+b1')
  assert.equal(pulled.formats[0]!.blob, chart)
  const byDigest = await pullRelease(client, repository, ociDigestOf(manifest))
  assert.is(byDigest.release, undefined, 'a digest reference and no version annotation: the release is unknown')

  const empty = await client.pushBlob('plain/image', EMPTY_JSON)
  const image = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_EMPTY, ...empty }, layers: [] }))
  await client.putManifest('plain/image', 'latest', image, OCI_MANIFEST)
  for (const [repo, ref, code] of [
    ['plain/image', 'latest', 'invalid-parameters'],
    ['plain/image', 'nope', 'package-release-not-found'],
  ] as const) {
    try {
      await pullRelease(client, repo, ref)
      assert.unreachable()
    } catch (e) {
      assert.ok(isApprError(e, code), String(e))
    }
  }
  try {
    await pushRelease(client, { repository: 'x/y', package: 'x/y', release: 'latest', formats: [{ format: 'kpm', blob: kubeUi }] })
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'invalid-release'), String(e))
  }
})

test.run()
