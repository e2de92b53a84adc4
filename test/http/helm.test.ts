/**
 * The Helm chart repository view against a real server: the index follows Helm's format and
 * loading rules (names, SemVer versions, digests recomputed from the downloaded archives, each
 * archive's first path segment the chart name), lists only loadable `helm` releases and reports
 * the rest, answers 304 to a matching ETag and is never stale after a push or a delete.
 */
import { createHash } from 'node:crypto'
import { get } from 'node:http'
import { gunzipSync } from 'node:zlib'
import semver from 'semver'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parse } from 'yaml'
import { inspectArchive } from 'appr-core/archive'
import { ApprError } from 'appr-core'
import type { RegistryApi } from 'appr-core/http'
import type { RunningServer } from 'appr-core/http/node'
import { indexYaml } from '../../src/http/helm/index-file.js'
import { helmCaches, helmRoutes } from '../../src/http/helm/routes.js'
import { fetchRequestView } from '../../src/http/request-view.js'
import { isReply } from '../../src/http/reply.js'
import { LruMap } from '../../src/registry/lru.js'
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

/**
 * Helm reads index.yaml strictly into `repo.IndexFile` (yaml.UnmarshalStrict): a field it does
 * not know, or a value of the wrong type, fails the whole index. These are its fields and types
 * (Helm 3: `repo.ChartVersion` = `chart.Metadata` + urls, created, removed, digest and the
 * deprecated checksum, engine, tillerVersion, url).
 */
const STRING = 'string'
const STRINGS = 'string[]'
const CHART_VERSION: Record<string, string> = {
  name: STRING, home: STRING, sources: STRINGS, version: STRING, description: STRING, keywords: STRINGS, maintainers: 'maintainers',
  icon: STRING, apiVersion: STRING, condition: STRING, tags: STRING, appVersion: STRING, deprecated: 'boolean', annotations: 'annotations',
  kubeVersion: STRING, dependencies: 'dependencies', type: STRING, urls: STRINGS, created: 'time', removed: 'boolean', digest: STRING,
  checksum: STRING, engine: STRING, tillerVersion: STRING, url: STRING,
}
const DEPENDENCY: Record<string, string> = { name: STRING, version: STRING, repository: STRING, condition: STRING, tags: STRINGS, enabled: 'boolean', 'import-values': 'list', alias: STRING }

function helmStrict(entry: JsonBody, where: string): void {
  const typed = (value: unknown, type: string, at: string): void => {
    const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string')
    const mapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
    if (type === STRING || type === 'boolean') assert.type(value, type, at)
    else if (type === STRINGS) assert.ok(isStrings(value), `${at}: a list of strings`)
    else if (type === 'list') assert.ok(Array.isArray(value), `${at}: a list`)
    else if (type === 'time') assert.match(String(value), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/, `${at}: RFC 3339`)
    else if (type === 'annotations') assert.ok(mapping(value) && Object.values(value).every((v) => typeof v === 'string'), `${at}: strings by name`)
    else if (type === 'maintainers') {
      assert.ok(Array.isArray(value), at)
      for (const m of value as unknown[]) assert.ok(mapping(m) && Object.entries(m).every(([k, v]) => ['name', 'email', 'url'].includes(k) && typeof v === 'string'), `${at}: ${JSON.stringify(m)}`)
    } else if (type === 'dependencies') {
      assert.ok(Array.isArray(value), at)
      for (const d of value as unknown[]) {
        assert.ok(mapping(d), at)
        for (const [k, v] of Object.entries(d)) {
          assert.ok(k in DEPENDENCY, `${at}: Helm knows no dependency field ${k}`)
          typed(v, DEPENDENCY[k]!, `${at}.${k}`)
        }
      }
    } else assert.unreachable(type)
  }
  for (const [field, value] of Object.entries(entry)) {
    assert.ok(Object.hasOwn(CHART_VERSION, field), `${where}: Helm knows no field ${field}`)
    typed(value, CHART_VERSION[field]!, `${where}.${field}`)
  }
}

function helmStrictIndex(doc: JsonBody): void {
  assert.equal(Object.keys(doc).sort(), ['apiVersion', 'entries', 'generated'])
  assert.match(doc.generated, /Z$/)
  for (const [name, versions] of Object.entries(doc.entries) as [string, JsonBody[]][]) {
    for (const entry of versions) helmStrict(entry, `${name} ${entry.version}`)
  }
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
  // Fields Helm has no place for (dropped), scalars where it wants strings (as strings), a dependency.
  await push(
    'acme/odd',
    '1.0.0',
    await tarGz({
      'odd/Chart.yaml':
        'apiVersion: v2\nname: odd\nversion: 1.0.0\nappVersion: 3\ndescription: odd\nx-team: platform\ncustom: { a: 1 }\nannotations: { owner: ops, replicas: 2 }\n' +
        'dependencies:\n  - name: db\n    version: ^0.1.0\n    repository: file://../db\n    extra: 1\n',
    }),
  )
  // Chart.yaml values Helm's reader refuses: each chart is left out with the reason.
  await push('acme/kw', '1.0.0', await tarGz({ 'kw/Chart.yaml': 'apiVersion: v2\nname: kw\nversion: 1.0.0\nkeywords: web\n' }))
  await push('acme/typed', '1.0.0', await tarGz({ 'typed/Chart.yaml': 'apiVersion: v2\nname: typed\nversion: 1.0.0\ntype: service\n' }))
  await push('acme/maint', '1.0.0', await tarGz({ 'maint/Chart.yaml': 'apiVersion: v2\nname: maint\nversion: 1.0.0\nmaintainers:\n  - null\n' }))
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
  assert.equal(Object.keys(doc.entries), ['db', 'odd', 'web'])
  const odd = doc.entries.odd[0]
  assert.is(odd.appVersion, '3', 'a number where Helm wants a string, as Helm reads it')
  assert.equal(odd.annotations, { owner: 'ops', replicas: '2' })
  assert.equal(odd.dependencies, [{ name: 'db', version: '^0.1.0', repository: 'file://../db' }])
  assert.not.ok('x-team' in odd || 'custom' in odd, 'fields Helm has no place for are dropped')
  assert.equal(doc.entries.web.map((e: JsonBody) => e.version), ['1.1.0', '1.0.0'], 'highest first')
  assert.equal(doc.entries.web[0].maintainers, [{ name: 'ops' }], 'the rest of Chart.yaml comes along')
  for (const [name, versions] of Object.entries(doc.entries) as [string, JsonBody[]][]) {
    if (name === 'odd') continue
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
  helmStrictIndex(doc)
  assert.match(text, /# left out: acme\/flat 1\.0\.0: the archive has no single top folder/)
  assert.match(text, /# left out: acme\/kw 1\.0\.0: Chart\.yaml: keywords must be a list of strings/)
  assert.match(text, /# left out: acme\/typed 1\.0\.0: Chart\.yaml: type must be application or library/)
  assert.match(text, /# left out: acme\/maint 1\.0\.0: Chart\.yaml: maintainers: not a mapping/)
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
  assert.equal(Object.keys(doc.entries), ['cache', 'db', 'odd', 'web'])
  assert.equal(doc.entries.cache[0].urls, ['other/charts/cache/3.0.0/cache-3.0.0.tgz'])
  assert.equal(doc.entries.web.map((e: JsonBody) => [e.version, e.urls[0]]), [
    ['1.1.0', 'acme/charts/web/1.1.0/web-1.1.0.tgz'],
    ['1.0.0', 'acme/charts/web/1.0.0/web-1.0.0.tgz'],
  ])
  helmStrictIndex(doc)
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
  // Only what an index lists: not a chart Helm cannot load, another file name, or a release query.
  for (const path of ['flat/1.0.0/flat-1.0.0.tgz', 'liar/2.0.0/liar-2.0.0.tgz', 'web/1.0.0/other-1.0.0.tgz', 'web/default/web-default.tgz']) {
    const refused = await fetch(`${server.url}/helm/acme/charts/${path}`)
    assert.is(refused.status, 404, path)
    assert.is(((await refused.json()) as JsonBody).code, 'resource-not-found', path)
  }
  const off = await start(registry, { helm: false })
  try {
    const response = await fetch(`${off.url}/helm/acme/index.yaml`)
    assert.is(response.status, 404)
    assert.is(((await response.json()) as JsonBody).code, 'resource-not-found')
  } finally {
    await off.close()
  }
})

test('created is RFC 3339 for Helm, also for a release restored from a server that wrote no zone', () => {
  const chart = (release: string, created: string) => ({
    package: 'acme/old',
    manifest: { package: 'acme/old', release, created_at: created, mediaType: 'helm', content: { digest: release, size: 1, mediaType: '', urls: [] } } as never,
    facts: { chart: { apiVersion: 'v1', name: 'old', version: release }, sha256: 'ab' },
  })
  const yaml = indexYaml([chart('1.0.0', '2017-06-20T12:34:56.123456'), chart('1.1.0', '2018-01-02T03:04:05+02:00'), chart('1.2.0', 'yesterday')], [], () => 'x.tgz')
  const doc = parse(yaml)
  helmStrictIndex(doc)
  assert.equal(doc.entries.old.map((e: JsonBody) => e.created), [undefined, '2018-01-02T01:04:05.000Z', '2017-06-20T12:34:56.123Z'])
  assert.is(doc.generated, '2018-01-02T01:04:05.000Z')
})

test("the index reads back exactly under YAML 1.1 (Helm's go-yaml v2), written whole or joined from kept entries", () => {
  const awkward = ['yes', 'on', '1.0', '0x1F', '~', 'a: b # c', ' lead', 'two\nlines\n\n  indented', '"quoted"', 'ünï', `${'long '.repeat(40)}end`]
  const charts = ['yes', '1.0', 'web'].map((name, i) => ({
    package: `acme/${name}`,
    manifest: { package: `acme/${name}`, release: '1.0.0', created_at: '2026-01-02T03:04:05.000Z', mediaType: 'helm', content: { digest: `d${i}`, size: 1, mediaType: '', urls: [] } } as never,
    facts: { chart: { apiVersion: 'v2', name, version: '1.0.0', appVersion: awkward[i]!, description: awkward.join('|'), keywords: awkward, annotations: { yes: 'no', 'a b': awkward[7]! } }, sha256: 'ab' },
  }))
  const kept = new LruMap<string, string>(100)
  const whole = indexYaml(charts, [], (c) => `${c.package}.tgz`)
  const first = indexYaml(charts, [], (c) => `${c.package}.tgz`, kept)
  const joined = indexYaml(charts, [], (c) => `${c.package}.tgz`, kept)
  assert.is(kept.size, 3)
  assert.is(first, whole)
  assert.is(joined, whole, 'joined from kept entries: the same bytes')
  for (const version of ['1.1', '1.2'] as const) {
    const doc = parse(whole, { version })
    helmStrictIndex(doc)
    assert.equal(Object.keys(doc.entries), ['1.0', 'web', 'yes'], `chart names stay strings (YAML ${version})`)
    for (const [i, name] of ['yes', '1.0', 'web'].entries()) {
      const entry = doc.entries[name][0]
      assert.is(entry.appVersion, awkward[i], `YAML ${version}: ${name}`)
      assert.equal(entry.keywords, awkward)
      assert.is(entry.description, awkward.join('|'))
      assert.equal(entry.annotations, { yes: 'no', 'a b': awkward[7] })
    }
  }
  assert.equal(parse(indexYaml([], [], () => '')).entries, {}, 'no charts: empty entries')
})

test('a registry without listManifests (another RegistryApi) gives the same index', async () => {
  const plain = new Proxy(registry, {
    get(target, key, receiver) {
      if (key === 'listManifests') return undefined
      const value = Reflect.get(target, key, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const other = await start(plain)
  try {
    for (const path of ['/helm/acme/index.yaml', '/helm/index.yaml']) {
      const [a, b] = await Promise.all([server.url, other.url].map((base) => fetch(`${base}${path}`).then(async (r) => [r.headers.get('etag'), await r.text()])))
      assert.equal(b, a, path)
    }
  } finally {
    await other.close()
  }
})

/** A GET whose body comes back as sent (fetch would unpack gzip). */
function raw(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    }).on('error', reject)
  })
}

test('the index goes gzipped to clients that take it, with its own ETag; either ETag gets 304', async () => {
  const url = `${server.url}/helm/acme/index.yaml`
  const plain = await raw(url, { 'accept-encoding': 'identity' })
  const packed = await raw(url, { 'accept-encoding': 'gzip' })
  assert.is(plain.headers['content-encoding'], undefined)
  assert.is(packed.headers['content-encoding'], 'gzip')
  assert.is(packed.headers.vary, 'Accept-Encoding')
  assert.equal(gunzipSync(packed.body), plain.body, 'the same index')
  assert.ok(packed.body.byteLength < plain.body.byteLength / 2, `smaller: ${packed.body.byteLength} of ${plain.body.byteLength}`)
  assert.is(packed.headers.etag, `${String(plain.headers.etag).slice(0, -1)}-gz"`)
  assert.is((await raw(url, { 'accept-encoding': 'gzip;q=0, identity' })).headers['content-encoding'], undefined, 'q=0 refuses gzip')
  for (const etag of [plain.headers.etag, packed.headers.etag] as string[]) {
    assert.is((await raw(url, { 'accept-encoding': 'gzip', 'if-none-match': etag })).status, 304, etag)
  }
})

test('a store failing for now fails the index (503) instead of leaving charts out, and nothing of it is kept', async () => {
  let failing = true
  const flaky = new Proxy(registry, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver)
      if (key !== 'pull' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value
      return (...args: unknown[]) => {
        if (failing) throw new ApprError('unavailable', 'the store is down', { transient: true })
        return value.apply(target, args)
      }
    },
  })
  const down = await start(flaky)
  try {
    const failed = await fetch(`${down.url}/helm/other/index.yaml`)
    assert.is(failed.status, 503)
    assert.is(((await failed.json()) as JsonBody).code, 'unavailable')
    failing = false
    const { status, doc, text } = await (async () => {
      const response = await fetch(`${down.url}/helm/other/index.yaml`)
      const body = await response.text()
      return { status: response.status, doc: parse(body), text: body }
    })()
    assert.is(status, 200)
    assert.equal(Object.keys(doc.entries), ['cache', 'web'], 'every chart, read again')
    assert.not.match(text, /left out/)
  } finally {
    await down.close()
  }
})

test('requests arriving together share one build: each archive is read once', async () => {
  for (let i = 0; i < 5; i++) await push(`burst/c${i}`, '1.0.0', await helmChart(`c${i}`, '1.0.0'))
  let pulls = 0
  const counted = new Proxy(registry, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (key === 'pull') pulls++
        return value.apply(target, args)
      }
    },
  })
  const server = await start(counted)
  try {
    const answers = await Promise.all(Array.from({ length: 4 }, () => fetch(`${server.url}/helm/burst/index.yaml`).then((r) => r.text())))
    assert.is(pulls, 5, 'five archives, read once for four requests')
    assert.ok(answers.every((a) => a === answers[0] && a.includes('c4:')), 'the same index for all')
  } finally {
    await server.close()
  }
})

test('built indexes are kept for at most 256 scopes, the least recently asked for going first', async () => {
  const { registry: own } = await makeRegistry()
  await own.push({ package: 'kept/web', release: '1.0.0', format: 'helm', blob: await helmChart('web', '1.0.0') })
  const caches = helmCaches()
  const routes = helmRoutes(own, {}, caches)
  const namespaceIndex = routes.find((r) => r.path === '/helm/:ns/index.yaml')!.methods.GET!
  const ask = async (ns: string): Promise<string> => {
    const request = new Request(`http://appr.test/helm/${ns}/index.yaml`)
    const url = new URL(request.url)
    const answer = await namespaceIndex.run({ req: fetchRequestView(request), query: url.searchParams, request, url, params: { ns }, pkg: '' })
    assert.ok(isReply(answer) && answer.status === 200, `${ns}: 200`)
    return isReply(answer) ? new TextDecoder().decode(answer.body as Uint8Array) : ''
  }
  const first = await ask('kept')
  assert.match(first, /web-1\.0\.0\.tgz/)
  // A crawler naming 300 namespaces nobody uses.
  for (let i = 0; i < 300; i++) await ask(`crawl${i}`)
  assert.is(caches.built.size, 256, 'no more than 256 scopes kept')
  assert.not.ok(caches.built.has('kept'), 'the least recently asked for went first')
  assert.ok(caches.built.has('crawl299') && caches.built.has('crawl44') && !caches.built.has('crawl43'), 'the 256 most recent are kept')
  // Evicted is only forgotten: built again, the same.
  assert.is(await ask('kept'), first)
  assert.is(caches.built.size, 256)
  assert.ok(caches.built.has('kept'))
})

test.run()
