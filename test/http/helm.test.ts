/**
 * The Helm chart repository view against a real server: the index follows Helm's format and
 * loading rules (names, SemVer versions, digests recomputed from the downloaded archives, each
 * archive's first path segment the chart name), lists only loadable `helm` releases and reports
 * the rest, answers 304 to a matching ETag and is never stale after a push or a delete.
 */
import { createHash } from 'node:crypto'
import semver from 'semver'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parse } from 'yaml'
import { inspectArchive } from 'appr-core/archive'
import type { RegistryApi } from 'appr-core/http'
import type { RunningServer } from 'appr-core/http/node'
import { type JsonBody, makeRegistry, start, tarGz } from './helpers.js'

let registry: RegistryApi
let server: RunningServer

function helmChart(name: string, version: string, extra = ''): Promise<Uint8Array> {
  return tarGz({
    [`${name}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: ${version}\nappVersion: "2.1"\ndescription: the ${name} chart\nkeywords: [web, demo]\n${extra}`,
    [`${name}/values.yaml`]: 'replicas: 1\n',
    [`${name}/templates/deploy.yaml`]: 'kind: Deployment\n',
  })
}

async function push(pkg: string, release: string, blob: Uint8Array, format = 'helm') {
  await registry.push({ package: pkg, release, format, blob })
}

async function getIndex(path: string, headers: Record<string, string> = {}): Promise<{ status: number; etag: string | null; text: string; doc: JsonBody }> {
  const response = await fetch(`${server.url}${path}`, { headers })
  const text = await response.text()
  return { status: response.status, etag: response.headers.get('etag'), text, doc: response.status === 200 ? parse(text) : undefined }
}

test.before(async () => {
  ;({ registry } = await makeRegistry())
  server = await start(registry)
  await push('acme/web', '1.0.0', await helmChart('web', '1.0.0'))
  await push('acme/web', '1.1.0', await helmChart('web', '1.1.0', 'maintainers:\n  - name: ops\n'))
  await push('acme/db', '0.1.0', await helmChart('db', '0.1.0'))
  // Chart.yaml at the archive root: Helm's loader refuses it.
  await push('acme/flat', '1.0.0', await tarGz({ 'Chart.yaml': 'apiVersion: v2\nname: flat\nversion: 1.0.0\n' }))
  // Chart.yaml's version is not the release.
  await push('acme/liar', '2.0.0', await helmChart('liar', '1.0.0'))
  // Not a helm release: never listed.
  await push('acme/tool', '1.0.0', await tarGz({ 'manifest.yaml': 'package:\n  name: tool\n  version: 1.0.0\n' }), 'kpm')
  await push('other/web', '1.0.0', await helmChart('web', '1.0.0'))
  await push('other/cache', '3.0.0', await helmChart('cache', '3.0.0'))
})

test.after(async () => {
  await server.close()
})

test('a namespace index follows Helm: names, SemVer versions, digests of the downloaded archives, the chart folder first', async () => {
  const { status, doc, text } = await getIndex('/helm/acme/index.yaml')
  assert.is(status, 200)
  assert.is(doc.apiVersion, 'v1')
  assert.equal(Object.keys(doc.entries), ['db', 'web'])
  assert.equal(doc.entries.web.map((e: JsonBody) => e.version), ['1.1.0', '1.0.0'], 'highest first')
  assert.equal(doc.entries.web[0].maintainers, [{ name: 'ops' }], 'the rest of Chart.yaml comes along')
  for (const [name, versions] of Object.entries(doc.entries) as [string, JsonBody[]][]) {
    for (const entry of versions) {
      assert.is(entry.name, name)
      assert.match(name, /^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      assert.ok(semver.valid(entry.version), `SemVer: ${entry.version}`)
      assert.is(entry.apiVersion, 'v2')
      assert.is(entry.appVersion, '2.1')
      assert.is(entry.description, `the ${name} chart`)
      assert.ok(!Number.isNaN(Date.parse(entry.created)), 'created is a time')
      assert.is(entry.urls.length, 1)
      const archive = await fetch(new URL(entry.urls[0], `${server.url}/helm/acme/index.yaml`))
      assert.is(archive.status, 200, entry.urls[0])
      const bytes = new Uint8Array(await archive.arrayBuffer())
      assert.is(createHash('sha256').update(bytes).digest('hex'), entry.digest, 'digest = sha256 of the archive')
      const inspection = await inspectArchive(bytes)
      assert.is(inspection.root, name, 'the first path segment is the chart name')
      assert.is(inspection.manifest?.path, `${name}/Chart.yaml`)
      assert.is(inspection.manifest?.version, entry.version)
    }
  }
  assert.match(text, /# left out: acme\/flat 1\.0\.0: the archive has no single top folder/)
  assert.match(text, /# left out: acme\/liar 2\.0\.0: Chart\.yaml says version 1\.0\.0/)
  assert.not.match(text, /tool/, 'kpm releases are not charts')
})

test('ETag and If-None-Match: 304 while nothing changed; never stale after a push or a delete', async () => {
  const first = await getIndex('/helm/acme/index.yaml')
  assert.ok(first.etag)
  const again = await getIndex('/helm/acme/index.yaml', { 'if-none-match': first.etag! })
  assert.is(again.status, 304)
  assert.is((await getIndex('/helm/acme/index.yaml')).text, first.text, 'the same releases give the same bytes')
  await push('acme/db', '0.2.0', await helmChart('db', '0.2.0'))
  const pushed = await getIndex('/helm/acme/index.yaml', { 'if-none-match': first.etag! })
  assert.is(pushed.status, 200)
  assert.equal(pushed.doc.entries.db.map((e: JsonBody) => e.version), ['0.2.0', '0.1.0'])
  await registry.delete('acme/db', '0.2.0', 'helm')
  const deleted = await getIndex('/helm/acme/index.yaml', { 'if-none-match': pushed.etag! })
  assert.is(deleted.status, 200)
  assert.equal(deleted.doc.entries.db.map((e: JsonBody) => e.version), ['0.1.0'])
  assert.is(deleted.etag, first.etag, 'back to the first releases, back to the first ETag')
  const chart = await fetch(`${server.url}/helm/acme/charts/web/1.0.0/web-1.0.0.tgz`)
  const etag = chart.headers.get('etag')!
  await chart.arrayBuffer()
  assert.is((await fetch(`${server.url}/helm/acme/charts/web/1.0.0/web-1.0.0.tgz`, { headers: { 'if-none-match': etag } })).status, 304)
})

test('the top-level index spans namespaces, each URL under its namespace, a repeated chart version once', async () => {
  const { status, doc, text } = await getIndex('/helm/index.yaml')
  assert.is(status, 200)
  assert.equal(Object.keys(doc.entries), ['cache', 'db', 'web'])
  assert.equal(doc.entries.cache[0].urls, ['other/charts/cache/3.0.0/cache-3.0.0.tgz'])
  assert.equal(doc.entries.web.map((e: JsonBody) => [e.version, e.urls[0]]), [
    ['1.1.0', 'acme/charts/web/1.1.0/web-1.1.0.tgz'],
    ['1.0.0', 'acme/charts/web/1.0.0/web-1.0.0.tgz'],
  ])
  assert.match(text, /# left out: other\/web 1\.0\.0: chart web 1\.0\.0 is already listed/)
  const archive = await fetch(new URL(doc.entries.cache[0].urls[0], `${server.url}/helm/index.yaml`))
  assert.is(archive.status, 200)
})

test('unknown namespaces are empty, wrong archive names 404, and the view can be switched off', async () => {
  const empty = await getIndex('/helm/nobody/index.yaml')
  assert.is(empty.status, 200)
  assert.equal(empty.doc.entries, {})
  assert.is((await fetch(`${server.url}/helm/acme/charts/web/1.0.0/other.tgz`)).status, 404)
  assert.is((await fetch(`${server.url}/helm/acme/charts/web/9.9.9/web-9.9.9.tgz`)).status, 404)
  const off = await start(registry, { helm: false })
  try {
    const response = await fetch(`${off.url}/helm/acme/index.yaml`)
    assert.is(response.status, 404)
    assert.is(((await response.json()) as JsonBody).code, 'resource-not-found')
  } finally {
    await off.close()
  }
})

test.run()
