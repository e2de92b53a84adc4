/**
 * The admin commands as real processes: backup, restore, gc and stats against a level store
 * directly and against running servers through the admin routes (admin scope needed), NDJSON and
 * appr's JSON document, and a restore run twice (the second skips everything).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { fileBlobStore, levelStore } from 'appr-core/adapters/level'
import { EMPTY_JSON, helmChartManifest, OCI_EMPTY, OCI_LAYER_GZIP, OCI_MANIFEST, ociDigestOf } from 'appr-core/oci'
import { b64, postJson, tarGz } from '../http/helpers.js'
import { backup1, ociUpload } from '../registry/helpers.js'
import { runCli, startServe } from './serve-helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'appr-admin-'))
const path = (name: string) => join(dir, name)
const tokens = path('tokens.yaml')
writeFileSync(tokens, 'tokens:\n  - { name: ops, token: tok-ops, scopes: [admin] }\n  - { name: ci, token: tok-ci, scopes: [write] }\n')

async function cli(args: string[], env: Record<string, string> = {}, input = '') {
  const r = await runCli(args, env, input)
  assert.is(r.code, 0, `appr-core ${args.join(' ')}: ${r.stderr}`)
  return r
}
/** Runs `body` on the level store `name` in this process (closed again before the CLI opens it). */
async function withStore<T>(name: string, body: (registry: Registry) => Promise<T>): Promise<T> {
  const registry = new Registry({ store: levelStore({ path: path(`${name}/kv`) }), blobs: fileBlobStore({ path: path(`${name}/blobs`) }) })
  try {
    return await body(registry)
  } finally {
    await registry.close()
  }
}
const stats = async (...where: string[]) => JSON.parse((await cli(['stats', ...where, '--json'])).stdout) as Record<string, number>

test('against a level store: JSON document in, NDJSON backup out, restore into another store, twice', async () => {
  writeFileSync(path('backup1.json'), JSON.stringify(backup1()))
  const restoredDoc = await cli(['restore', path('backup1.json'), '--store', `level:${path('a')}`])
  assert.match(restoredDoc.stdout, 'restored the backup document')
  // OCI content besides: an image with a tag of its own, and a Helm chart pushed through /v2/.
  const image = await withStore('a', async (registry) => {
    const layer = new TextEncoder().encode('a layer')
    const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_EMPTY, digest: await ociUpload(registry, 'library/app', EMPTY_JSON), size: 2 }, layers: [{ mediaType: OCI_LAYER_GZIP, digest: await ociUpload(registry, 'library/app', layer), size: layer.byteLength }] }))
    await registry.ociManifests.put('library/app', 'v1', bytes, OCI_MANIFEST)
    const chart = await tarGz({ 'hello/Chart.yaml': 'apiVersion: v2\nname: hello\nversion: 0.1.0\n' })
    const config = new TextEncoder().encode('{"name":"hello","version":"0.1.0","apiVersion":"v2"}')
    const m = helmChartManifest({ digest: await ociUpload(registry, 'acme/hello', config), size: config.byteLength }, { digest: await ociUpload(registry, 'acme/hello', chart), size: chart.byteLength }, {})
    await registry.ociManifests.put('acme/hello', '0.1.0', m.bytes, OCI_MANIFEST)
    return { bytes, chart: m.digest }
  })
  const before = await stats('--store', `level:${path('a')}`)
  assert.ok(before.packages! > 0 && before.manifests! > 0, JSON.stringify(before))

  const backup = await cli(['backup', '--store', `level:${path('a')}`, '-o', path('a.ndjson')])
  assert.match(backup.stderr, 'records')
  const lines = readFileSync(path('a.ndjson'), 'utf8').trimEnd().split('\n')
  assert.is(JSON.parse(lines[0]!).kind, 'header')
  assert.is(JSON.parse(lines.at(-1)!).kind, 'end')

  // backup | restore: the pipe carries the OCI content too.
  const piped = await cli(['backup', '--store', `level:${path('a')}`])
  const first = JSON.parse((await cli(['restore', '-', '--store', `level:${path('b')}`, '--json'], {}, piped.stdout)).stdout) as { releases: number; skipped: number; tags: number }
  assert.is(first.releases, before.manifests)
  assert.is(first.skipped, 0)
  assert.is(first.tags, 1)
  await withStore('b', async (registry) => {
    assert.equal((await registry.ociManifests.get('library/app', 'v1'))?.bytes, image.bytes)
    assert.ok(await registry.ociBlobs.head('library/app', ociDigestOf(new TextEncoder().encode('a layer'))))
    assert.is((await registry.ociManifests.head('acme/hello', '0.1.0'))?.digest, image.chart, 'the chart keeps the manifest its client pushed')
  })
  const second = JSON.parse((await cli(['restore', path('a.ndjson'), '--store', `level:${path('b')}`, '--json'])).stdout) as { releases: number; skipped: number; channels: number }
  assert.equal([second.releases, second.skipped, second.channels], [0, before.manifests, 0])
  assert.equal(await stats('--store', `level:${path('b')}`), before)
  // The document format too.
  await cli(['backup', '--store', `level:${path('b')}`, '--format', 'json', '-o', path('b.json')])
  assert.ok(Array.isArray((JSON.parse(readFileSync(path('b.json'), 'utf8')) as { packages: unknown }).packages))
  const gc = JSON.parse((await cli(['gc', '--store', `level:${path('b')}`, '--json'])).stdout) as { deletedBlobs: number }
  assert.is(gc.deletedBlobs, 0)
})

test('usage: exactly one of --store and --registry; a missing file', async () => {
  assert.is((await runCli(['stats'])).code, 2)
  assert.is((await runCli(['stats', '--store', 'memory', '--registry', 'http://127.0.0.1:1'])).code, 2)
  assert.is((await runCli(['restore', '--store', 'memory'])).code, 2)
  const missing = await runCli(['restore', path('absent.ndjson'), '--store', 'memory'])
  assert.is(missing.code, 2)
  assert.match(missing.stderr, 'cannot read')
})

test('against running servers: the admin scope is needed; backup from one, restore into another, stats and gc', async () => {
  const one = await startServe(['--store', 'memory', '--port', '0', '--tokens', tokens])
  const two = await startServe(['--store', 'memory', '--port', '0', '--tokens', tokens])
  try {
    for (let i = 0; i < 5; i++) {
      const body = { blob: b64(await tarGz({ [`p${i}/Chart.yaml`]: `name: p${i}\n` })), release: `1.0.${i}`, media_type: 'helm' }
      assert.is((await postJson(`${one.url}/cnr/api/v1/packages/acme/p${i % 2}`, body, { authorization: 'tok-ci' })).status, 200)
    }
    // An image pushed through /v2/ (monolithic blob uploads, then the manifest at a tag).
    const put = (where: string, method: string, body: Uint8Array, type: string) => fetch(`${one.url}/v2/library/app/${where}`, { method, body: Buffer.from(body), headers: { authorization: 'Bearer tok-ci', 'content-type': type } })
    const layer = new TextEncoder().encode('a layer of one')
    for (const blob of [EMPTY_JSON, layer]) assert.is((await put(`blobs/uploads/?digest=${ociDigestOf(blob)}`, 'POST', blob, 'application/octet-stream')).status, 201)
    const image = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_EMPTY, digest: ociDigestOf(EMPTY_JSON), size: 2 }, layers: [{ mediaType: OCI_LAYER_GZIP, digest: ociDigestOf(layer), size: layer.byteLength }] }))
    assert.is((await put('manifests/v1', 'PUT', image, OCI_MANIFEST)).status, 201)
    const denied = await runCli(['stats', '--registry', one.url, '--token', 'tok-ci'])
    assert.is(denied.code, 1)
    assert.match(denied.stderr, 'forbidden')
    const anonymous = await runCli(['backup', '--registry', one.url, '-o', path('x.ndjson')])
    assert.is(anonymous.code, 1)
    assert.match(anonymous.stderr, 'unauthorized-access')

    await cli(['backup', '--registry', one.url, '-o', path('one.ndjson')], { APPR_TOKEN: 'tok-ops' })
    const restored = JSON.parse((await cli(['restore', path('one.ndjson'), '--registry', two.url, '--token', 'tok-ops', '--json'])).stdout) as { releases: number; manifests: number; tags: number }
    assert.equal([restored.releases, restored.manifests, restored.tags], [5, 1, 1])
    const a = await stats('--registry', one.url, '--token', 'tok-ops')
    assert.is(a.packages, 2)
    assert.is(a.releases, 5)
    assert.equal(await stats('--registry', two.url, '--token', 'tok-ops'), a)
    // The backup of the copy has the same records as the original's (the image's included).
    await cli(['backup', '--registry', two.url, '--token', 'tok-ops', '-o', path('two.ndjson')])
    const records = (file: string) =>
      readFileSync(path(file), 'utf8')
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => JSON.parse(l) as { kind: string })
        .filter((r) => r.kind !== 'release')
    assert.equal(records('one.ndjson').map((r) => r.kind).filter((k) => k.startsWith('oci-')), ['oci-blob', 'oci-chunk', 'oci-blob', 'oci-chunk', 'oci-manifest', 'oci-tag'])
    assert.equal(records('two.ndjson'), records('one.ndjson'))
    // appr's JSON document through the restore route too.
    writeFileSync(path('doc.json'), JSON.stringify(backup1()))
    assert.match((await cli(['restore', path('doc.json'), '--registry', two.url, '--token', 'tok-ops'])).stdout, 'restored the backup document')
    assert.ok((await stats('--registry', two.url, '--token', 'tok-ops')).packages! > a.packages!)
    const gc = JSON.parse((await cli(['gc', '--registry', two.url, '--token', 'tok-ops', '--json'])).stdout) as { deletedBlobs: number }
    assert.is(gc.deletedBlobs, 0)
  } finally {
    await one.stop()
    await two.stop()
  }
})

test.after(() => rmSync(dir, { recursive: true, force: true }))

test.run()
