// `appr-core serve --blobs oci+http://user:pass@host/repo`: records in the store, blob bytes in
// a real docker-registry (Basic auth), pushed and pulled through the appr API.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ociClient, ociDigestOf } from 'appr-core/oci'
import { runCli, startServe } from '../cli/serve-helpers.js'
import { b64, call, chart, postJson } from '../http/helpers.js'
import { startDockerRegistry } from '../helpers/servers.js'
import { HTPASSWD } from './helpers.js'


test('serve keeps blob bytes in an OCI registry given by --blobs; the password never reaches the log', async () => {
  const registry = await startDockerRegistry({ suite: 'serve --blobs oci', htpasswd: HTPASSWD })
  if (!registry) return
  try {
    const served = await startServe(['--store', 'memory', '--port', '0', '--blobs', `oci+http://appr:appr-test-secret@${registry.host}/appr/blobs`])
    const blob = await chart('nginx', '1.0.0')
    try {
      const pushed = await postJson(`${served.url}/api/v1/packages/acme/nginx`, { blob: b64(blob), release: '1.0.0', media_type: 'helm' })
      assert.is(pushed.status, 200, JSON.stringify(pushed.body))
      const pulled = await call(`${served.url}/api/v1/packages/acme/nginx/1.0.0/helm/pull`)
      assert.is(pulled.status, 200)
      const oci = ociClient({ url: registry.url, auth: { username: 'appr', password: 'appr-test-secret' } })
      const inRegistry = await oci.headBlob('appr/blobs', ociDigestOf(blob))
      assert.equal(inRegistry, { digest: ociDigestOf(blob), size: blob.byteLength })
      const tags: string[] = []
      for await (const tag of oci.tags('appr/blobs')) tags.push(tag)
      assert.is(tags.length, 1)
    } finally {
      assert.is(await served.stop('SIGTERM'), 0)
    }
    const listening = served.out.map((l) => JSON.parse(l) as { msg?: string; store?: string }).find((l) => l.msg === 'listening')
    assert.is(listening?.store, `memory + oci+http://${registry.host}/appr/blobs`)
    assert.not.match(served.out.join('\n') + served.err.join(''), 'appr-test-secret')
  } finally {
    await registry.stop()
  }
})

test('a malformed --blobs spec exits 1 with a message that hides credentials', async () => {
  const bad = await runCli(['serve', '--store', 'memory', '--blobs', 's3://u:hidden@bucket/x'])
  assert.is(bad.code, 1)
  assert.match(bad.stderr, 'unknown blob store')
  assert.not.match(bad.stderr, 'hidden')
  const badRepo = await runCli(['serve', '--store', 'memory', '--blobs', 'oci://127.0.0.1:1/Not_Valid'])
  assert.is(badRepo.code, 1)
  assert.match(badRepo.stderr, 'invalid repository name')
})

test.run()
