// `oci copy` carries signatures (as OCI referrers of each format's manifest) and channels (as
// tags), both ways: against a real docker-registry 2.8, which has no referrers API (the referrers
// tag schema `sha256-<hex>` is written and read), and against appr-core's own /v2/, which has it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createClient } from 'appr-core/client'
import { createHandler } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import {
  APPR_SIGNATURE_ARTIFACT,
  copyFromOci,
  copyToOci,
  listReferrers,
  ociClient,
  projectSignature,
  pullSignatures,
  pushSignature,
  referrersTagOf,
  resolveRelease,
} from 'appr-core/oci'
import { checkSignature, generateSigningKey, keySet, manifestDigest, signDigest } from 'appr-core/trust'
import { runCli } from '../cli/serve-helpers.js'
import { type TestDockerRegistry, startDockerRegistry } from '../helpers/servers.js'
import { recordingClient, writes } from './helpers.js'
import { collect, tgz } from '../registry/helpers.js'

const key = generateSigningKey('ed25519')
const stranger = generateSigningKey('ecdsa-p256')
const chart = await tgz({ 'signed/Chart.yaml': 'apiVersion: v2\nname: signed\nversion: 1.0.0\n' })
const kpm = await tgz({ 'signed/manifest.jsonnet': '{}' })
const chart2 = await tgz({ 'signed/Chart.yaml': 'apiVersion: v2\nname: signed\nversion: 2.0.0\n' })

interface ApprServer {
  readonly registry: Registry
  readonly server: RunningServer
}
const servers: ApprServer[] = []
async function apprServer(options: { policy?: boolean } = {}): Promise<ApprServer> {
  const registry = new Registry({ store: memoryStore(), ...(options.policy ? { signaturePolicies: { acme: { keys: [key.publicKey], require: 'push' } } } : {}) })
  const server = await serve({ handler: createHandler(registry), port: 0 })
  servers.push({ registry, server })
  return { registry, server }
}
const appr = (s: ApprServer) => createClient({ registry: s.server.url })

let peer: TestDockerRegistry | undefined
let source: ApprServer
test.before(async () => {
  peer = await startDockerRegistry({ suite: 'oci copy signatures' })
  source = await apprServer()
  const r = source.registry
  await r.push({ package: 'acme/signed', release: '1.0.0', format: 'helm', blob: chart })
  await r.push({ package: 'acme/signed', release: '1.0.0', format: 'kpm', blob: kpm })
  await r.push({ package: 'acme/signed', release: '2.0.0', format: 'helm', blob: chart2 })
  for (const m of [...(await r.manifests('acme/signed', '1.0.0')), ...(await r.manifests('acme/signed', '2.0.0'))]) {
    const format = m.mediaType.includes('helm') ? 'helm' : 'kpm'
    await r.signatures.add('acme/signed', m.release, format, [signDigest(manifestDigest(m), key.privateKey)])
  }
  await r.channels.add('acme/signed', 'stable', '1.0.0')
  await r.channels.add('acme/signed', 'beta', '2.0.0')
})
test.after(async () => {
  for (const s of servers) await s.server.close()
  await peer?.stop()
})

/** Each (release, format) of `pkg` in `registry` with its signatures, checked against `key`. */
async function signedView(registry: Registry, pkg: string): Promise<string[]> {
  const out: string[] = []
  for (const m of await registry.releases(pkg)) {
    const format = m.mediaType.includes('helm') ? 'helm' : 'kpm'
    for (const s of await registry.signatures.list(pkg, m.release, format)) {
      out.push(`${m.release} ${format} ${checkSignature(s, manifestDigest(m), keySet([key.publicKey])).ok}`)
    }
  }
  return out.sort()
}

const expectedSigned = ['1.0.0 helm true', '1.0.0 kpm true', '2.0.0 helm true']

test('appr → docker-registry: signatures become referrers through the tag schema, channels tags; a second run uploads nothing', async () => {
  if (!peer) return
  const { client, requests } = recordingClient(peer.url)
  const repo = 'sig/acme/signed'
  const report = await copyToOci({ source: appr(source), package: 'acme/signed', target: client, repository: repo })
  assert.ok(report.ok, JSON.stringify(report))
  assert.equal(report.releases.map((r) => [r.release, r.outcome, r.signatures]).sort(), [
    ['1.0.0', 'copied', 2],
    ['2.0.0', 'copied', 1],
  ])
  assert.equal(report.channels.map((c) => [c.channel, c.release, c.outcome]).sort(), [
    ['beta', '2.0.0', 'copied'],
    ['stable', '1.0.0', 'copied'],
  ])
  // Channels are tags at what the release's tag resolves to (the index of 1.0.0).
  assert.is((await client.headManifest(repo, 'stable'))?.digest, (await client.headManifest(repo, '1.0.0'))?.digest)
  assert.is((await client.headManifest(repo, 'beta'))?.digest, (await client.headManifest(repo, '2.0.0'))?.digest)

  // docker-registry has no referrers API: the signatures are listed at sha256-<hex> of each format's manifest.
  const release = await resolveRelease(client, repo, '1.0.0')
  for (const f of release.formats) {
    assert.is(await client.referrers(repo, f.manifestDigest), undefined, 'docker-registry 2.8 answers the referrers route 404')
    const tagged = await client.getManifest(repo, referrersTagOf(f.manifestDigest))
    assert.ok(tagged, `the fallback tag of ${f.format}`)
    const listed = await listReferrers(client, repo, f.manifestDigest, { artifactType: APPR_SIGNATURE_ARTIFACT })
    assert.is(listed.length, 1)
    const [signature] = await pullSignatures(client, repo, f.manifestDigest)
    const [m] = (await source.registry.manifests('acme/signed', '1.0.0')).filter((x) => x.mediaType.includes(f.format))
    assert.ok(checkSignature(signature, manifestDigest(m!), keySet([key.publicKey])).ok)
    assert.is(listed[0]!.digest, projectSignature(f.manifest, signature!).manifest.digest)
  }

  requests.length = 0
  const second = await copyToOci({ source: appr(source), package: 'acme/signed', target: client, repository: repo })
  assert.ok(second.ok)
  assert.equal([...second.releases.map((r) => r.outcome), ...second.channels.map((c) => c.outcome)], ['skipped', 'skipped', 'skipped', 'skipped'])
  assert.equal(
    writes(requests),
    [],
    'nothing is uploaded',
  )
})

test('a source whose channels cannot be listed: the releases are copied, the channels reported failed, the report not ok', async () => {
  if (!peer) return
  const failing: typeof fetch = async (input, init) =>
    new URL(String(input)).pathname.endsWith('/channels/') ? new Response('{"error":{"code":"internal-error","message":"boom"}}', { status: 500 }) : fetch(input, init)
  const report = await copyToOci({ source: createClient({ registry: source.server.url, fetch: failing }), package: 'acme/signed', target: ociClient({ url: peer.url }), repository: 'sig/acme/nochannels' })
  assert.not.ok(report.ok)
  assert.equal(report.releases.map((r) => r.outcome), ['copied', 'copied'])
  assert.equal(report.channels.map((c) => [c.channel, c.outcome]), [['*', 'failed']])
})

test('docker-registry → appr (a push policy): signatures go with the push and verify; tags naming a release become channels with --channels', async () => {
  if (!peer) return
  const client = ociClient({ url: peer.url })
  const repo = 'sig/acme/signed'
  await copyToOci({ source: appr(source), package: 'acme/signed', target: client, repository: repo })
  // Under a push policy a push without its signature is refused: these pass only because the signatures go with it.
  const dest = await apprServer({ policy: true })
  const report = await copyFromOci({ source: client, repository: repo, target: appr(dest), package: 'acme/signed', options: { channels: true } })
  assert.ok(report.ok, JSON.stringify(report))
  assert.equal(report.releases.map((r) => [r.release, r.outcome, r.signatures]).sort(), [
    ['1.0.0', 'copied', 2],
    ['2.0.0', 'copied', 1],
  ])
  assert.equal(await signedView(dest.registry, 'acme/signed'), expectedSigned)
  assert.equal(await collect((await dest.registry.pull('acme/signed', { release: '1.0.0', format: 'kpm' })).stream), kpm)
  assert.equal((await dest.registry.channels.list('acme/signed')).map((c) => [c.name, c.current]).sort(), [
    ['beta', '2.0.0'],
    ['stable', '1.0.0'],
  ])
  assert.equal(report.channels.map((c) => c.outcome), ['copied', 'copied'])
  const again = await copyFromOci({ source: client, repository: repo, target: appr(dest), package: 'acme/signed', options: { channels: true } })
  assert.equal([...again.releases.map((r) => r.outcome), ...again.channels.map((c) => c.outcome)], ['skipped', 'skipped', 'skipped', 'skipped'])

  // Without the option, tags that are not releases are left alone.
  const plain = await apprServer()
  const noChannels = await copyFromOci({ source: client, repository: repo, target: appr(plain), package: 'acme/signed' })
  assert.ok(noChannels.ok)
  assert.equal(noChannels.channels, [])
  assert.equal(await plain.registry.channels.list('acme/signed'), [])
  // A release already held without its signatures gets them added (checked as any signature add).
  assert.equal(await signedView(plain.registry, 'acme/signed'), expectedSigned)
})

test('a bad signature in the OCI source fails its release with the typed error of a signature push; nothing of that format is stored', async () => {
  if (!peer) return
  const client = ociClient({ url: peer.url })
  const repo = 'sig/acme/tampered'
  await copyToOci({ source: appr(source), package: 'acme/signed', target: client, repository: repo })
  const helm = (await resolveRelease(client, repo, '2.0.0')).formats[0]!
  // Signed by a key the destination does not trust; and, for a destination without a policy, of another digest.
  await pushSignature(client, repo, helm.manifest, signDigest(`sha256:${'0'.repeat(64)}`, stranger.privateKey))

  for (const policy of [true, false]) {
    const dest = await apprServer({ policy })
    const report = await copyFromOci({ source: client, repository: repo, target: appr(dest), package: 'acme/signed' })
    assert.not.ok(report.ok)
    const failed = report.releases.find((r) => r.release === '2.0.0')!
    assert.is(failed.outcome, 'failed')
    assert.is(failed.code, 'invalid-parameters', JSON.stringify(failed))
    assert.match(failed.message ?? '', 'signature')
    assert.equal(await dest.registry.manifests('acme/signed', '2.0.0').catch(() => []), [])
    // The other release is copied with its signatures.
    assert.is(report.releases.find((r) => r.release === '1.0.0')?.outcome, 'copied')
  }

  // The command line reports it and exits 1.
  const dest = await apprServer()
  const cli = await runCli(['oci', 'copy', `oci://${peer.host}/${repo}:2.0.0`, 'acme/signed', '--plain-http', '--registry', dest.server.url])
  assert.is(cli.code, 1)
  assert.match(cli.stderr, /failed 2\.0\.0 \(helm\).*signature/)
})

test('appr-core /v2/ as the OCI side: signatures are referrers of its referrers API (no fallback tag), and copy back verifies', async () => {
  const ociSide = await apprServer()
  const { client } = recordingClient(ociSide.server.url)
  const repo = 'mirror/acme/signed'
  const report = await copyToOci({ source: appr(source), package: 'acme/signed', target: client, repository: repo })
  assert.ok(report.ok, JSON.stringify(report))
  const helm = (await resolveRelease(client, repo, '1.0.0')).formats.find((f) => f.format === 'helm')!
  const listed = await client.referrers(repo, helm.manifestDigest, { artifactType: APPR_SIGNATURE_ARTIFACT })
  assert.is(listed?.length, 1, 'listed by the referrers API')
  assert.is(await client.getManifest(repo, referrersTagOf(helm.manifestDigest)), undefined, 'no fallback tag where the API answers')
  const tags: string[] = []
  for await (const t of client.tags(repo)) tags.push(t)
  assert.equal(tags.sort(), ['1.0.0', '2.0.0', 'beta', 'stable'])

  const dest = await apprServer({ policy: true })
  const back = await copyFromOci({ source: client, repository: repo, target: appr(dest), package: 'acme/signed', options: { channels: true } })
  assert.ok(back.ok, JSON.stringify(back))
  assert.equal(await signedView(dest.registry, 'acme/signed'), expectedSigned)
  assert.equal((await dest.registry.channels.list('acme/signed')).map((c) => c.name).sort(), ['beta', 'stable'])

  // The CLI: --channels, and the summary counts channels.
  const cliDest = await apprServer()
  const cli = await runCli(['oci', 'copy', `oci://${ociSide.server.url.replace(/^http:\/\//, '')}/${repo}`, 'acme/signed', '--plain-http', '--channels', '--registry', cliDest.server.url])
  assert.is(cli.code, 0, cli.stderr)
  assert.match(cli.stdout, /copied 1\.0\.0 \(helm, kpm, 2 signatures\)/)
  assert.match(cli.stdout, /2 copied, 0 skipped, 0 failed; channels: 2 copied, 0 skipped, 0 failed\n$/)

  // Referrers pages are followed (Link rel="next"): one referrer a page, asked with n=1.
  await pushSignature(client, repo, helm.manifest, signDigest(`sha256:${'1'.repeat(64)}`, stranger.privateKey))
  const pages: string[] = []
  const paging = ociClient({
    url: ociSide.server.url,
    fetch: async (input, init) => {
      const url = new URL(String(input))
      if (url.pathname.includes('/referrers/')) {
        if (!url.searchParams.has('n')) url.searchParams.set('n', '1')
        pages.push(url.search)
      }
      return fetch(url, init)
    },
  })
  const all = await paging.referrers(repo, helm.manifestDigest, { artifactType: APPR_SIGNATURE_ARTIFACT })
  assert.is(all?.length, 2)
  assert.ok(pages.length >= 2, pages.join('\n'))
  assert.is(new Set(all?.map((d) => d.digest)).size, 2)
})

test.run()
