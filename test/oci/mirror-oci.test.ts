// The trust mirror into an OCI registry (ociDestination): every release, format, signature and
// channel of an appr-core server lands in a real docker-registry (no referrers API), verified on
// the way; a second run skips everything and uploads nothing; the copy reads back through
// copyFromOci with its signatures checked by an appr registry under a push policy.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createClient } from 'appr-core/client'
import { createHandler } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import { copyFromOci, ociClient, ociDestination, pullRelease, pullSignatures, resolveRelease } from 'appr-core/oci'
import { generateSigningKey, manifestDigest, mirror, signDigest } from 'appr-core/trust'
import { runCli } from '../cli/serve-helpers.js'
import { type TestDockerRegistry, startDockerRegistry } from '../helpers/servers.js'
import { recordingClient, writes } from './helpers.js'
import { collect, tgz } from '../registry/helpers.js'

const key = generateSigningKey('ed25519')
const chart = await tgz({ 'app/Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0\n' })
const kpm = await tgz({ 'app/manifest.jsonnet': '{}' })
const chart2 = await tgz({ 'app/Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.1.0\n' })

let peer: TestDockerRegistry | undefined
const servers: RunningServer[] = []
let source: Registry
let sourceUrl: string
test.before(async () => {
  peer = await startDockerRegistry({ suite: 'mirror into OCI' })
  source = new Registry({ store: memoryStore() })
  const server = await serve({ handler: createHandler(source), port: 0 })
  servers.push(server)
  sourceUrl = server.url
  await source.push({ package: 'acme/app', release: '1.0.0', format: 'helm', blob: chart, metadata: { team: 'core' } })
  await source.push({ package: 'acme/app', release: '1.0.0', format: 'kpm', blob: kpm })
  await source.push({ package: 'acme/app', release: '1.1.0', format: 'helm', blob: chart2 })
  await source.push({ package: 'acme/other', release: '0.1.0', format: 'kpm', blob: kpm })
  for (const pkg of ['acme/app', 'acme/other']) {
    for (const m of await source.releases(pkg)) {
      await source.signatures.add(pkg, m.release, m.mediaType.includes('helm') ? 'helm' : 'kpm', [signDigest(manifestDigest(m), key.privateKey)])
    }
  }
  await source.channels.add('acme/app', 'stable', '1.0.0')
  await source.channels.add('acme/app', 'stable', '1.1.0')
})
test.after(async () => {
  for (const s of servers) await s.close()
  await peer?.stop()
})

test('mirror into docker-registry: releases as the projection, signatures as referrers, channels as tags; a second run writes nothing', async () => {
  if (!peer) return
  const { client, requests } = recordingClient(peer.url)
  const destination = ociDestination(client, { prefix: 'mirror' })
  const report = await mirror({ source: sourceUrl, destination, keys: [key.publicKey] })
  assert.ok(report.ok, JSON.stringify(report.failures))
  assert.equal(report.releases, { copied: 4, skipped: 0, failed: 0 })
  assert.equal(report.channels, { copied: 1, skipped: 0, failed: 0 })

  const release = await pullRelease(client, 'mirror/acme/app', '1.0.0')
  assert.equal(Object.fromEntries(release.formats.map((f) => [f.format, f.blob])), { helm: chart, kpm })
  assert.is((await client.headManifest('mirror/acme/app', 'stable'))?.digest, (await client.headManifest('mirror/acme/app', '1.1.0'))?.digest)
  for (const f of (await resolveRelease(client, 'mirror/acme/app', '1.0.0')).formats) {
    const [signature] = await pullSignatures(client, 'mirror/acme/app', f.manifestDigest)
    assert.is(signature?.keyid, key.keyid, f.format)
  }

  requests.length = 0
  const second = await mirror({ source: sourceUrl, destination, keys: [key.publicKey] })
  assert.ok(second.ok, JSON.stringify(second.failures))
  assert.equal(second.releases, { copied: 0, skipped: 4, failed: 0 })
  // A tag keeps only the channel's current release, so a channel of two releases counts as copied
  // again; its tag already points right and is not written (checked just below).
  assert.equal(second.channels, { copied: 1, skipped: 0, failed: 0 })
  assert.equal(
    writes(requests),
    [],
    'nothing is uploaded',
  )

  // Back into an appr registry under a push policy: the appr manifest records bring metadata back,
  // so every signature verifies against the manifest the registry stores (digests equal the source's).
  const dest = new Registry({ store: memoryStore(), signaturePolicies: { acme: { keys: [key.publicKey], require: 'push' } } })
  const server = await serve({ handler: createHandler(dest), port: 0 })
  servers.push(server)
  const back = await copyFromOci({ source: client, repository: 'mirror/acme/app', target: createClient({ registry: server.url }), package: 'acme/app', options: { channels: true } })
  assert.ok(back.ok, JSON.stringify(back))
  assert.equal(back.releases.map((r) => [r.release, r.signatures]).sort(), [
    ['1.0.0', 2],
    ['1.1.0', 1],
  ])
  const digests = async (r: Registry) => (await r.releases('acme/app')).map((m) => `${m.release} ${manifestDigest(m)}`).sort()
  assert.equal(await digests(dest), await digests(source))
  assert.equal((await dest.manifests('acme/app', '1.0.0')).find((m) => m.mediaType.includes('helm'))?.metadata, { team: 'core' })
  assert.equal(await collect((await dest.pull('acme/app', { release: '1.1.0', format: 'helm' })).stream), chart2)
})

test('appr-core mirror SOURCE oci://HOST/PREFIX from the command line', async () => {
  if (!peer) return
  const cli = await runCli(['mirror', sourceUrl, `oci://${peer.host}/cli`, '--plain-http', '--json'])
  assert.is(cli.code, 0, cli.stderr)
  const report = JSON.parse(cli.stdout) as { releases: { copied: number } }
  assert.is(report.releases.copied, 4)
  assert.equal((await pullRelease(ociClient({ url: peer.url }), 'cli/acme/other', '0.1.0')).formats[0]!.blob, kpm)
})

test.run()
