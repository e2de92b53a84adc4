/**
 * The archive and client subcommands in-process: usage errors, pack/inspect, and the exact
 * requests the client sends (recorded by a small HTTP server that answers as appr does).
 */
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cli } from './client-helpers.js'
import { validateBlob } from 'appr-core/archive'

let base = ''
let chart = ''
const recorded: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }[] = []
let answer: (req: { method: string; url: string; body: Buffer }, res: ServerResponse) => void = (_req, res) => res.end('{}')
const server = createServer(async (req, res) => {
  const parts: Buffer[] = []
  for await (const c of req) parts.push(c as Buffer)
  const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts) }
  recorded.push(entry)
  res.setHeader('content-type', 'application/json')
  answer(entry, res)
})
let registry = ''

test.before(async () => {
  base = await mkdtemp(join(tmpdir(), 'appr-cli-'))
  chart = join(base, 'mychart')
  await mkdir(join(chart, 'templates'), { recursive: true })
  await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: mychart\nversion: 0.3.1\ndescription: demo chart\nappVersion: "2.0"\n')
  await writeFile(join(chart, 'templates', 'svc.yaml'), 'kind: Service\n')
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

test.after(async () => {
  server.close()
  await rm(base, { recursive: true, force: true })
})

test('usage errors exit 2 and print the usage; --help exits 0', async () => {
  for (const [name, args] of [
    ['pack', ['--bogus']],
    ['inspect', []],
    ['push', []],
    ['push', ['nonamespace']],
    ['pull', ['a/b', 'c/d']],
    ['show', [`a/b@sha256:${'a'.repeat(64)}`]],
    ['list', ['extra']],
    ['channel', ['a/b', 'stable', '--add', '1.0.0', '--delete']],
    ['push', ['a/b', '--registry', 'ftp://x']],
  ] as const) {
    const r = await cli(name, ...args)
    assert.is(r.code, 2, `${name} ${args.join(' ')}: ${r.err}`)
    assert.match(r.err, `Usage: appr-core ${name}`)
  }
  const help = await cli('push', '--help')
  assert.is(help.code, 0)
  assert.match(help.out, '--registry <url>')
})

test('pack then inspect shows the Chart.yaml fields; the same tree gives the same digest', async () => {
  const out = join(base, 'a.tgz')
  const packed = await cli('pack', chart, '--prefix', '-o', out, '--json')
  assert.is(packed.code, 0, packed.err)
  const first = JSON.parse(packed.out) as { digest: string; name: string; version: string }
  assert.equal([first.name, first.version], ['mychart', '0.3.1'])
  const again = JSON.parse((await cli('pack', chart, '--prefix', '-o', join(base, 'b.tgz'), '--json')).out) as { digest: string }
  assert.is(again.digest, first.digest)
  const shown = await cli('inspect', out)
  assert.is(shown.code, 0, shown.err)
  assert.match(shown.out, /name\s+mychart/)
  assert.match(shown.out, /version\s+0\.3\.1/)
  assert.match(shown.out, /appVersion\s+2\.0/)
  assert.match(shown.out, 'mychart/templates/svc.yaml')
  const json = JSON.parse((await cli('inspect', out, '--json')).out) as { digest: string; root: string }
  assert.equal([json.digest, json.root], [first.digest, 'mychart'])
})

test('inspect of a hostile archive exits 1 with the typed error', async () => {
  const { tarGz } = await import('../../scripts/make-hostile-archives.js')
  const bad = join(base, 'bad.tgz')
  await writeFile(bad, tarGz([{ name: '../../etc/passwd' }]))
  const r = await cli('inspect', bad)
  assert.is(r.code, 1)
  assert.match(r.err, 'invalid-usage')
  assert.match(r.err, 'path-traversal')
})

test('push packs a directory and sends appr JSON with the token, as the appr client does', async () => {
  recorded.length = 0
  answer = (_req, res) => res.end('{"status":"ok"}')
  process.env.APPR_TOKEN = 'secret-token'
  try {
    const r = await cli('push', 'Acme/MyChart', chart, '--registry', `${registry}/cnr`, '--force', '--json', '--metadata', '{"team":"a"}')
    assert.is(r.code, 0, r.err)
  } finally {
    delete process.env.APPR_TOKEN
  }
  const req = recorded[0]!
  assert.is(req.method, 'POST')
  assert.is(req.url, '/cnr/api/v1/packages/acme/mychart?force=true')
  assert.is(req.headers.authorization, 'secret-token')
  const body = JSON.parse(req.body.toString()) as { blob: string; release: string; media_type: string; metadata: unknown }
  assert.equal([body.release, body.media_type, body.metadata], ['0.3.1', 'helm', { team: 'a' }])
  const facts = await validateBlob(new Uint8Array(Buffer.from(body.blob, 'base64')))
  const packed = JSON.parse((await cli('pack', chart, '--prefix', '-o', join(base, 'c.tgz'), '--json')).out) as { digest: string }
  assert.is(facts.digest, packed.digest)
})

test('push of a large file streams base64 correctly across chunk boundaries', async () => {
  const { tarEntry, TAR_END } = await import('../../scripts/make-hostile-archives.js')
  const { gzipSync } = await import('node:zlib')
  const { randomBytes } = await import('node:crypto')
  const blob = gzipSync(Buffer.concat([tarEntry({ name: 'data.bin' }, randomBytes(1_300_001)), TAR_END]), { level: 0 })
  const file = join(base, 'big.tgz')
  await writeFile(file, blob)
  recorded.length = 0
  answer = (_req, res) => res.end('{"status":"ok"}')
  const r = await cli('push', 'acme/big', file, '--release', '1.0.0', '--registry', registry)
  assert.is(r.code, 0, r.err)
  const body = JSON.parse(recorded[0]!.body.toString()) as { blob: string; media_type: string }
  assert.is(body.media_type, 'kpm')
  assert.ok(Buffer.from(body.blob, 'base64').equals(blob))
  assert.match(r.err, /push acme\/big@1\.0\.0/)
})

test('server errors come back as appr codes with exit 1', async () => {
  answer = (_req, res) => {
    res.statusCode = 409
    res.end(JSON.stringify({ code: 'package-exists', message: 'package exists already', details: { package: 'acme/mychart' } }))
  }
  const r = await cli('push', 'acme/mychart', chart, '--registry', registry)
  assert.is(r.code, 1)
  assert.match(r.err, 'package-exists')
  answer = (_req, res) => {
    res.statusCode = 404
    res.end(JSON.stringify({ error: { code: 'package-not-found', message: 'no such package', details: {} } }))
  }
  const wrapped = await cli('show', 'acme/none', '--registry', registry)
  assert.is(wrapped.code, 1)
  assert.match(wrapped.err, 'package-not-found')
})

test('pull resolves a channel, downloads, verifies the digest and keeps nothing on a mismatch', async () => {
  const blob = await readFile(join(base, 'a.tgz'))
  const { digest } = await validateBlob(new Uint8Array(blob))
  let announced = digest
  recorded.length = 0
  answer = (req, res) => {
    if (req.url.includes('/channels/')) return void res.end(JSON.stringify({ name: 'stable', current: '0.3.1', releases: ['0.3.1'] }))
    if (req.url.endsWith('/pull')) {
      res.setHeader('content-type', 'application/x-gzip')
      res.setHeader('content-disposition', 'filename="acme_mychart_0.3.1.tar.gz"')
      return void res.end(blob)
    }
    const manifest = {
      package: 'acme/mychart',
      release: '0.3.1',
      mediaType: 'application/vnd.appr.package-manifest.helm.v0.json',
      content: { mediaType: 'application/vnd.appr.package.helm.v0.tar+gzip', size: blob.length, digest: announced, urls: [] },
      metadata: null,
      created_at: '2026-01-01T00:00:00Z',
      channels: ['stable'],
    }
    res.end(JSON.stringify(manifest))
  }
  const dest = join(base, 'pulled.tgz')
  const r = await cli('pull', 'acme/mychart:stable', '-o', dest, '--registry', registry)
  assert.is(r.code, 0, r.err)
  assert.equal(recorded.map((q) => q.url), [
    '/cnr/api/v1/packages/acme/mychart/channels/stable',
    '/cnr/api/v1/packages/acme/mychart/0.3.1/-',
    '/cnr/api/v1/packages/acme/mychart/0.3.1/helm/pull',
  ])
  assert.ok((await readFile(dest)).equals(blob))
  const shown = await cli('show', 'acme/mychart@>=0.1', '--registry', registry, '--contents')
  assert.is(shown.code, 0, shown.err)
  assert.match(shown.out, /channels\s+stable/)
  assert.match(shown.out, /appVersion\s+2\.0/)
  assert.match(recorded.at(-2)!.url, '/acme/mychart/%3E%3D0.1/-')
  // A registry announcing another digest: the download is refused and no file is left.
  announced = 'f'.repeat(64)
  const dest2 = join(base, 'mismatch.tgz')
  const bad = await cli('pull', 'acme/mychart@0.3.1', '-o', dest2, '--registry', registry)
  assert.is(bad.code, 1)
  assert.match(bad.err, 'digest')
  assert.is(await readFile(dest2).catch(() => undefined), undefined)
})

test('list and channel send the reference paths', async () => {
  recorded.length = 0
  answer = (req, res) => {
    if (req.url.startsWith('/cnr/api/v1/packages?')) return void res.end(JSON.stringify([{ name: 'acme/mychart', default: '0.3.1', releases: ['0.3.1'], manifests: ['helm'] }]))
    if (req.method === 'POST') return void res.end(JSON.stringify({ name: 'beta', current: '0.3.1', releases: ['0.3.1'] }))
    if (req.method === 'DELETE') return void res.end(JSON.stringify({ status: 'deleted' }))
    res.end(JSON.stringify([{ name: 'beta', current: '0.3.1', releases: ['0.3.1'] }]))
  }
  const list = await cli('list', '--namespace', 'acme', '--query', 'my', '--registry', registry)
  assert.is(list.code, 0, list.err)
  assert.match(list.out, /acme\/mychart\s+0\.3\.1\s+helm/)
  assert.is((await cli('channel', 'acme/mychart', '--registry', registry)).code, 0)
  assert.is((await cli('channel', 'acme/mychart', 'beta', '--add', '0.3.1', '--registry', registry)).code, 0)
  assert.is((await cli('channel', 'acme/mychart', 'beta', '--remove', '0.3.1', '--registry', registry)).code, 0)
  assert.is((await cli('channel', 'acme/mychart', 'beta', '--delete', '--registry', registry)).code, 0)
  assert.equal(
    recorded.map((q) => `${q.method} ${q.url}`),
    [
      'GET /cnr/api/v1/packages?namespace=acme&query=my',
      'GET /cnr/api/v1/packages/acme/mychart/channels/',
      'POST /cnr/api/v1/packages/acme/mychart/channels/beta/0.3.1',
      'DELETE /cnr/api/v1/packages/acme/mychart/channels/beta/0.3.1',
      'DELETE /cnr/api/v1/packages/acme/mychart/channels/beta',
    ],
  )
})

test.run()
