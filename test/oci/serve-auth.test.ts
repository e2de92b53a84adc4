// `appr-core serve --token` over /v2/: pushes need the token, which OCI clients get through the
// Bearer token flow (the default with --token: 401 naming /v2/token, where skopeo --dest-creds
// any-user:TOKEN exchanges the token) or, with --oci-auth basic, send as the Basic password.
// Reads stay open either way.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ociClient, pullRelease, pushRelease } from 'appr-core/oci'
import { startServe } from '../cli/serve-helpers.js'
import { findBinary, skipOrFail, startDockerRegistry } from '../helpers/servers.js'

const run = promisify(execFile)
const chart = new Uint8Array(readFileSync(join(new URL('../fixtures/', import.meta.url).pathname, 'hello-0.1.0+b1.tgz')))

async function skopeoPushes(mode: 'bearer' | 'basic', expectChallenge: (here: string) => string) {
  const suite = `serve --token over /v2/ (${mode})`
  const skopeo = findBinary('skopeo')
  if (!skopeo) {
    skipOrFail(suite, 'install skopeo (apt-get install skopeo)')
    return
  }
  const peer = await startDockerRegistry({ suite })
  if (!peer) return
  const served = await startServe(['--store', 'memory', '--port', '0', '--token', 'oci-secret-token', ...(mode === 'basic' ? ['--oci-auth', 'basic'] : [])])
  try {
    await pushRelease(ociClient({ url: peer.url }), { repository: 'charts/hello', package: 'charts/hello', release: '0.1.0+b1', formats: [{ format: 'helm', blob: chart }] })
    const here = new URL(served.url).host
    const copy = (creds: string[]) =>
      // biome-ignore format: flag list
      run(skopeo, ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', ...creds,
        `docker://${peer.host}/charts/hello:0.1.0_b1`, `docker://${here}/charts/hello:0.1.0_b1`])
    const refused = await copy([]).then(
      () => undefined,
      (e: { stderr?: string }) => e.stderr ?? String(e),
    )
    assert.ok(refused !== undefined, 'an anonymous push must fail')
    const challenge = await fetch(`${served.url}/v2/charts/hello/blobs/uploads/`, { method: 'POST' })
    assert.is(challenge.status, 401)
    assert.is(challenge.headers.get('www-authenticate'), expectChallenge(here))
    assert.is(((await challenge.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UNAUTHORIZED')
    await copy(['--dest-creds', 'anyone:oci-secret-token'])
    // serve asks for chunks of 1 MiB at least.
    const started = await fetch(`${served.url}/v2/charts/hello/blobs/uploads/`, { method: 'POST', headers: { authorization: 'Bearer oci-secret-token' } })
    assert.is(started.status, 202)
    assert.is(started.headers.get('oci-chunk-min-length'), '1048576')
    // Reads stay open: an anonymous client pulls the chart, and skopeo reads it after the challenged ping.
    const pulled = await pullRelease(ociClient({ url: served.url }), 'charts/hello', '0.1.0_b1')
    assert.equal(pulled.formats[0]!.blob, chart)
    const raw = await run(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${here}/charts/hello:0.1.0_b1`])
    assert.match(raw.stdout, 'application/vnd.cncf.helm.config.v1+json')
    assert.is((await fetch(`${served.url}/v2/`)).status, 401)
    assert.is((await fetch(`${served.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from('x:oci-secret-token').toString('base64')}` } })).status, 200)
    const wrong = await copy(['--dest-creds', 'anyone:wrong']).then(
      () => false,
      () => true,
    )
    assert.ok(wrong, 'a wrong token is refused')
    // appr-core's own client pushes with the same credentials, whichever challenge it meets.
    const client = ociClient({ url: served.url, auth: { username: 'ci', password: 'oci-secret-token' } })
    await pushRelease(client, { repository: 'charts/again', package: 'charts/again', release: '0.1.0+b1', formats: [{ format: 'helm', blob: chart }] })
    assert.equal((await pullRelease(client, 'charts/again', '0.1.0_b1')).formats[0]!.blob, chart)
  } finally {
    await served.stop()
    await peer.stop()
  }
  assert.not.match(served.out.join('\n'), 'oci-secret-token')
  // skopeo fetched its tokens from the realm (and only in Bearer mode is there one).
  assert.is(/"path":"\/v2\/token\?[^"]*account=anyone/.test(served.out.join('\n')), mode === 'bearer')
}

test('skopeo pushes into serve --token through the Bearer token flow (the default with --token)', async () => {
  await skopeoPushes('bearer', (here) => `Bearer realm="http://${here}/v2/token",service="appr-core",scope="repository:charts/hello:pull,push"`)
})

test('skopeo pushes into serve --token --oci-auth basic with the token as Basic password', async () => {
  await skopeoPushes('basic', () => 'Basic realm="appr-core"')
})

test.run()
