// Copies between an appr-core server (appr API) and a real docker-registry, both ways, with
// copyToOci/copyFromOci and `appr-core oci copy`; `appr-core oci push` of several formats at once.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createClient } from 'appr-core/client'
import { createHandler } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import { copyFromOci, copyToOci, FORMAT_ANNOTATION, OCI_INDEX, type OciClient, ociClient, ociDigestOf, parseManifest, pullRelease, pushRelease } from 'appr-core/oci'
import { runCli } from '../cli/serve-helpers.js'
import { type TestDockerRegistry, startDockerRegistry } from '../helpers/servers.js'
import { collect, tgz } from '../registry/helpers.js'
import { writes } from './helpers.js'

const fixtures = new URL('../fixtures/', import.meta.url).pathname
const kubeUi = new Uint8Array(readFileSync(join(fixtures, 'kube-ui.tar.gz')))
// Incompressible content, so the chart is several KiB and crosses many 1000-byte PATCHes.
const bigChart = await tgz({ 'multi/Chart.yaml': 'apiVersion: v2\nname: multi\nversion: 2.0.0\ndescription: two formats\n', 'multi/blob.txt': randomBytes(6000).toString('base64') })
const smallChart = await tgz({ 'multi/Chart.yaml': 'apiVersion: v2\nname: multi\nversion: 1.0.0+b1\n' })

let peer: TestDockerRegistry | undefined
let registry: Registry
let server: RunningServer
test.before(async () => {
  peer = await startDockerRegistry({ suite: 'oci copy' })
  registry = new Registry({ store: memoryStore() })
  server = await serve({ handler: createHandler(registry), port: 0 })
  await registry.push({ package: 'acme/multi', release: '2.0.0', format: 'helm', blob: bigChart })
  await registry.push({ package: 'acme/multi', release: '2.0.0', format: 'kpm', blob: kubeUi })
  await registry.push({ package: 'acme/multi', release: '1.0.0+b1', format: 'helm', blob: smallChart })
})
test.after(async () => {
  await server?.close()
  await peer?.stop()
})

/** An OCI client that records each request's method and path. */
function recorded(url: string, options: { chunkBytes?: number; tamper?: boolean } = {}): { client: OciClient; requests: string[] } {
  const requests: string[] = []
  const recording: typeof fetch = async (input, init) => {
    const target = new URL(String(input))
    requests.push(`${init?.method ?? 'GET'} ${target.pathname}`)
    const res = await fetch(input, init)
    if (!options.tamper || !/\/blobs\/sha256:/.test(target.pathname) || (init?.method ?? 'GET') !== 'GET') return res
    const bytes = new Uint8Array(await res.arrayBuffer())
    bytes[bytes.length >> 1]! ^= 0xff
    return new Response(bytes, { status: res.status, headers: res.headers })
  }
  return { client: ociClient({ url, fetch: recording, ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}) }), requests }
}

const appr = () => createClient({ registry: server.url })

test('copyToOci: every release becomes one tag (two formats: one index, Helm first), blobs streamed in chunks; a second run skips all', async () => {
  if (!peer) return
  const { client, requests } = recorded(peer.url, { chunkBytes: 1000 })
  const report = await copyToOci({ source: appr(), package: 'acme/multi', target: client, repository: 'mirror/acme/multi' })
  assert.ok(report.ok, JSON.stringify(report))
  assert.equal(report.releases.map((r) => [r.release, r.outcome]).sort(), [['1.0.0+b1', 'copied'], ['2.0.0', 'copied']])
  // The chart went up in PATCHes of 1000 bytes as it streamed from the appr server.
  assert.ok(requests.filter((r) => r.startsWith('PATCH')).length >= bigChart.byteLength / 1000, requests.join('\n'))

  const index = await client.getManifest('mirror/acme/multi', '2.0.0')
  assert.is(index?.mediaType, OCI_INDEX)
  assert.equal(parseManifest(index!.bytes).manifests.map((d) => d.annotations?.[FORMAT_ANNOTATION]), ['helm', 'kpm'])
  const pulled = await pullRelease(client, 'mirror/acme/multi', '2.0.0')
  assert.is(pulled.release, '2.0.0')
  assert.equal(Object.fromEntries(pulled.formats.map((f) => [f.format, f.blob])), { helm: bigChart, kpm: kubeUi })
  assert.equal((await pullRelease(client, 'mirror/acme/multi', '1.0.0_b1')).formats[0]!.blob, smallChart)
  // Deterministic: the same release written by pushRelease with the appr created_at has the same digest.
  const [kpm] = await registry.manifests('acme/multi', '2.0.0')
  const again = await pushRelease(client, {
    repository: 'mirror/acme/same',
    package: 'acme/multi',
    release: '2.0.0',
    created: kpm!.created_at,
    formats: [
      { format: 'helm', blob: bigChart },
      { format: 'kpm', blob: kubeUi },
    ],
  })
  assert.is(again.digest, report.releases.find((r) => r.release === '2.0.0')!.digest)

  requests.length = 0
  const second = await copyToOci({ source: appr(), package: 'acme/multi', target: client, repository: 'mirror/acme/multi' })
  assert.equal(
    second.releases.map((r) => r.outcome),
    ['skipped', 'skipped'],
  )
  assert.equal(writes(requests), [], 'nothing is uploaded')
})

test('copyFromOci: every SemVer tag becomes an appr release with every format, byte for byte; a second run skips; a tampered blob stores nothing', async () => {
  if (!peer) return
  const { client } = recorded(peer.url)
  await copyToOci({ source: appr(), package: 'acme/multi', target: client, repository: 'mirror/acme/multi' })
  await client.putManifest('mirror/acme/multi', 'latest', (await client.getManifest('mirror/acme/multi', '2.0.0'))!.bytes, OCI_INDEX)
  const report = await copyFromOci({ source: client, repository: 'mirror/acme/multi', target: appr(), package: 'copies/multi' })
  assert.ok(report.ok, JSON.stringify(report))
  assert.equal(report.releases.map((r) => [r.release, r.outcome, [...r.formats].sort()]).sort(), [
    ['1.0.0+b1', 'copied', ['helm']],
    ['2.0.0', 'copied', ['helm', 'kpm']],
  ])
  const blobOf = async (pkg: string, release: string, format: string) => collect((await registry.pull(pkg, { release: release, format: format })).stream)
  assert.equal(await blobOf('copies/multi', '2.0.0', 'helm'), bigChart)
  assert.equal(await blobOf('copies/multi', '2.0.0', 'kpm'), kubeUi)
  assert.equal(await blobOf('copies/multi', '1.0.0+b1', 'helm'), smallChart)
  const second = await copyFromOci({ source: client, repository: 'mirror/acme/multi', target: appr(), package: 'copies/multi' })
  assert.equal(
    second.releases.map((r) => r.outcome),
    ['skipped', 'skipped'],
  )

  // The bytes are checked against the layer digest as they stream: a flipped byte stores nothing.
  const tampered = recorded(peer.url, { tamper: true }).client
  const bad = await copyFromOci({ source: tampered, repository: 'mirror/acme/multi', reference: '1.0.0_b1', target: appr(), package: 'copies/tampered' })
  assert.not.ok(bad.ok)
  assert.is(bad.releases[0]!.outcome, 'failed')
  assert.equal(await registry.releases('copies/tampered').catch(() => []), [])
})

test('a destination holding other blobs for a release is refused without force and replaced with it, both ways', async () => {
  if (!peer) return
  const { client } = recorded(peer.url)
  const other = await tgz({ 'multi/Chart.yaml': 'apiVersion: v2\nname: multi\nversion: 2.0.0\ndescription: another\n' })
  await pushRelease(client, { repository: 'conflict/acme/multi', package: 'acme/multi', release: '2.0.0', formats: [{ format: 'helm', blob: other }] })
  const refused = await copyToOci({ source: appr(), package: 'acme/multi', release: '2.0.0', target: client, repository: 'conflict/acme/multi' })
  assert.is(refused.releases[0]!.outcome, 'failed')
  assert.match(refused.releases[0]!.message ?? '', 'force')
  const forced = await copyToOci({ source: appr(), package: 'acme/multi', release: '2.0.0', target: client, repository: 'conflict/acme/multi', options: { force: true } })
  assert.is(forced.releases[0]!.outcome, 'copied')

  await registry.push({ package: 'conflict/multi', release: '2.0.0', format: 'helm', blob: other })
  const back = await copyFromOci({ source: client, repository: 'conflict/acme/multi', reference: '2.0.0', target: appr(), package: 'conflict/multi' })
  assert.is(back.releases[0]!.outcome, 'failed')
  const replaced = await copyFromOci({ source: client, repository: 'conflict/acme/multi', reference: '2.0.0', target: appr(), package: 'conflict/multi', options: { force: true } })
  assert.is(replaced.releases[0]!.outcome, 'copied')
  assert.equal(await collect((await registry.pull('conflict/multi', { release: '2.0.0', format: 'helm' })).stream), bigChart)
})

/** A byte stream that reports each chunk as it is pulled. */
function counting(body: ReadableStream<Uint8Array>, seen: (n: number) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  return new ReadableStream({
    async pull(controller) {
      const next = await reader.read()
      if (next.done) controller.close()
      else {
        seen(next.value.byteLength)
        controller.enqueue(next.value)
      }
    },
    cancel: (reason) => reader.cancel(reason),
  })
}

test('blobs stream through a copy: what has been read from the source is never far ahead of what was sent on', async () => {
  if (!peer) return
  // About 3 MiB of incompressible gzip: far more than what may sit between the two sides.
  const large = await tgz({ 'large/Chart.yaml': 'apiVersion: v2\nname: large\nversion: 1.0.0\n', 'large/data.txt': randomBytes(2.25 * 1024 * 1024).toString('base64') })
  await registry.push({ package: 'stream/large', release: '1.0.0', format: 'helm', blob: large })
  let read = 0
  let sent = 0
  let widest = 0
  const readSome = (n: number) => {
    read += n
    widest = Math.max(widest, read - sent)
  }
  // appr → OCI: bytes read from the appr server's blob answer vs bytes in PATCH bodies.
  const fromAppr: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    if (!/\/blobs\/sha256\//.test(String(input)) || !res.body) return res
    return new Response(counting(res.body, readSome), { status: res.status, headers: res.headers })
  }
  const toOci: typeof fetch = (input, init) => {
    if (init?.method === 'PATCH' && init.body instanceof Uint8Array) sent += init.body.byteLength
    return fetch(input, init)
  }
  const chunkBytes = 256 * 1024
  const up = await copyToOci({
    source: createClient({ registry: server.url, fetch: fromAppr }),
    package: 'stream/large',
    target: ociClient({ url: peer.url, fetch: toOci, chunkBytes }),
    repository: 'stream/large',
  })
  assert.ok(up.ok, JSON.stringify(up))
  assert.is(read, large.byteLength)
  assert.ok(widest <= 4 * chunkBytes, `appr → OCI held up to ${widest} bytes of a ${large.byteLength}-byte blob`)

  // OCI → appr: bytes read from the layer vs bytes of the (base64) push body pulled by fetch.
  read = 0
  sent = 0
  widest = 0
  const fromOci: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    // The chart's layer only (the copy also reads the small appr manifest record).
    if (!String(input).includes(`/blobs/${ociDigestOf(large)}`) || (init?.method ?? 'GET') !== 'GET' || !res.body) return res
    return new Response(counting(res.body, readSome), { status: res.status, headers: res.headers })
  }
  const toAppr: typeof fetch = (input, init) => {
    if (init?.method !== 'POST' || !(init.body instanceof ReadableStream)) return fetch(input, init)
    // base64: 4 characters for 3 bytes.
    const sentSome = (n: number) => {
      sent += (n * 3) / 4
    }
    return fetch(input, { ...init, body: counting(init.body, sentSome) })
  }
  const down = await copyFromOci({
    source: ociClient({ url: peer.url, fetch: fromOci }),
    repository: 'stream/large',
    target: createClient({ registry: server.url, fetch: toAppr }),
    package: 'stream/back',
  })
  assert.ok(down.ok, JSON.stringify(down))
  assert.is(read, large.byteLength)
  assert.ok(widest <= 1024 * 1024, `OCI → appr held up to ${widest} bytes of a ${large.byteLength}-byte blob`)
  assert.equal(await collect((await registry.pull('stream/back', { release: '1.0.0', format: 'helm' })).stream), large)
})

test('appr-core oci push of several tarballs writes one index; oci copy both ways from the command line', async () => {
  if (!peer) return
  const dir = mkdtempSync(join(tmpdir(), 'appr-oci-copy-'))
  try {
    const chartFile = join(dir, 'multi.tgz')
    writeFileSync(chartFile, bigChart)
    const kpmFile = join(fixtures, 'kube-ui.tar.gz')
    const pushed = await runCli(['oci', 'push', chartFile, kpmFile, `oci://${peer.host}/cli/acme/both:3.0.0`, '--plain-http', '--json'])
    assert.is(pushed.code, 0, pushed.stderr)
    assert.is(JSON.parse(pushed.stdout).mediaType, OCI_INDEX)
    const client = ociClient({ url: peer.url })
    assert.equal((await pullRelease(client, 'cli/acme/both', '3.0.0')).formats.map((f) => f.format), ['helm', 'kpm'])
    // --format per tarball, in order; a count that does not match, or two tarballs of one format, is a usage error.
    assert.is((await runCli(['oci', 'push', chartFile, kpmFile, `${peer.host}/cli/acme/both:3.0.1`, '--plain-http', '--format', 'helm', '--format', 'appr'])).code, 0)
    assert.equal((await pullRelease(client, 'cli/acme/both', '3.0.1')).formats.map((f) => f.format), ['helm', 'appr'])
    assert.is((await runCli(['oci', 'push', chartFile, kpmFile, `${peer.host}/cli/acme/both:3.0.2`, '--plain-http', '--format', 'helm'])).code, 2)
    assert.is((await runCli(['oci', 'push', kpmFile, kpmFile, `${peer.host}/cli/acme/both:3.0.2`, '--plain-http'])).code, 2)

    const toOci = await runCli(['oci', 'copy', 'acme/multi@2.0.0', `oci://${peer.host}/cli/acme/multi`, '--plain-http', '--registry', server.url])
    assert.is(toOci.code, 0, toOci.stderr)
    assert.match(toOci.stdout, /copied 2\.0\.0 \(helm, kpm\) sha256:[0-9a-f]{64}\n1 copied, 0 skipped, 0 failed\n$/)
    const fromOci = await runCli(['oci', 'copy', `oci://${peer.host}/cli/acme/both`, 'cli/both', '--plain-http', '--registry', server.url, '--json'])
    assert.is(fromOci.code, 0, fromOci.stderr)
    assert.equal(
      (JSON.parse(fromOci.stdout) as { releases: { release: string }[] }).releases.map((r) => r.release).sort(),
      ['3.0.0', '3.0.1'],
    )
    assert.equal(await collect((await registry.pull('cli/both', { release: '3.0.1', format: 'appr' })).stream), kubeUi)
    assert.is((await runCli(['oci', 'copy', 'acme/multi', 'other/pkg'])).code, 2)
    assert.is((await runCli(['oci', 'copy', 'acme/multi', `oci://${peer.host}/x/y:1.0.0`])).code, 2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
