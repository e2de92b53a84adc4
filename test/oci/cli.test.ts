// `appr-core oci push|pull` as a real process against a real docker-registry.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { HELM_CONFIG, ociClient, parseManifest } from 'appr-core/oci'
import { runCli } from '../cli/serve-helpers.js'
import { startDockerRegistry } from '../helpers/servers.js'

const fixtures = new URL('../fixtures/', import.meta.url).pathname

test('oci push writes a chart as Helm does; oci pull reads it back byte for byte; bad usage exits 2', async () => {
  const registry = await startDockerRegistry({ suite: 'appr-core oci' })
  if (!registry) return
  const dir = mkdtempSync(join(tmpdir(), 'appr-oci-cli-'))
  try {
    const chartFile = join(fixtures, 'hello-0.1.0+b1.tgz')
    const pushed = await runCli(['oci', 'push', chartFile, `oci://${registry.host}/charts/hello:0.1.0+b1`, '--plain-http', '--json'])
    assert.is(pushed.code, 0, pushed.stderr)
    const out = JSON.parse(pushed.stdout) as { tag: string; digest: string }
    assert.is(out.tag, '0.1.0_b1')
    const manifest = await ociClient({ url: registry.url }).getManifest('charts/hello', '0.1.0_b1')
    assert.is(manifest?.digest, out.digest)
    assert.is(parseManifest(manifest!.bytes).config?.mediaType, HELM_CONFIG)

    const kpm = await runCli(['oci', 'push', join(fixtures, 'kube-ui.tar.gz'), `${registry.host}/acme/kube-ui:1.0.0`, '--plain-http'])
    assert.is(kpm.code, 0, kpm.stderr)
    assert.match(kpm.stdout, /^pushed .*acme\/kube-ui:1\.0\.0 sha256:[0-9a-f]{64}\n$/)

    const output = join(dir, 'hello.tgz')
    const pulled = await runCli(['oci', 'pull', `oci://${registry.host}/charts/hello:0.1.0_b1`, '--plain-http', '-o', output])
    assert.is(pulled.code, 0, pulled.stderr)
    assert.match(pulled.stdout, 'pulled helm 0.1.0+b1')
    assert.equal(readFileSync(output), readFileSync(chartFile))
    const byDigest = await runCli(['oci', 'pull', `${registry.host}/acme/kube-ui@${JSON.parse((await runCli(['oci', 'push', join(fixtures, 'kube-ui.tar.gz'), `${registry.host}/acme/kube-ui:1.0.0`, '--plain-http', '--json'])).stdout).digest}`, '--plain-http', '-o', join(dir, 'k.tgz'), '--json'])
    assert.is(byDigest.code, 0, byDigest.stderr)
    assert.is(JSON.parse(byDigest.stdout).format, 'kpm')
    assert.equal(readFileSync(join(dir, 'k.tgz')), readFileSync(join(fixtures, 'kube-ui.tar.gz')))

    assert.is((await runCli(['oci', 'push', chartFile])).code, 2)
    assert.is((await runCli(['oci', 'frob'])).code, 2)
    assert.is((await runCli(['oci', 'push', chartFile, `${registry.host}/charts/hello`, '--plain-http'])).code, 2)
    const missing = await runCli(['oci', 'pull', `${registry.host}/charts/hello:9.9.9`, '--plain-http'])
    assert.is(missing.code, 1)
    assert.match(missing.stderr, 'package-release-not-found')
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await registry.stop()
  }
})

test.run()
