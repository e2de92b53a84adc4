// `appr-core serve --token` over /v2/: pushes need the token, which OCI clients send as Basic
// after the Basic challenge (skopeo --dest-creds any-user:TOKEN); reads stay open.
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

test('skopeo pushes into serve --token with the token as password; without it the push is refused with a Basic challenge', async () => {
  const skopeo = findBinary('skopeo')
  if (!skopeo) {
    skipOrFail('serve --token over /v2/', 'install skopeo (apt-get install skopeo)')
    return
  }
  const peer = await startDockerRegistry({ suite: 'serve --token over /v2/' })
  if (!peer) return
  const served = await startServe(['--store', 'memory', '--port', '0', '--token', 'oci-secret-token'])
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
    assert.is(challenge.headers.get('www-authenticate'), 'Basic realm="appr-core"')
    assert.is(((await challenge.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UNAUTHORIZED')
    await copy(['--dest-creds', 'anyone:oci-secret-token'])
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
  } finally {
    await served.stop()
    await peer.stop()
  }
  assert.not.match(served.out.join('\n'), 'oci-secret-token')
})

test.run()
