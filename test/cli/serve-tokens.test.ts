/** `appr-core serve --tokens FILE [--private-reads]` as a real process, and its refusals at start. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { b64, call, postJson, tarGz } from '../http/helpers.js'
import { runCli, startServe } from './serve-helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'appr-serve-tokens-'))
const tokensFile = join(dir, 'tokens.yaml')
writeFileSync(
  tokensFile,
  `tokens:
  - { name: ci, token: tok-ci, scopes: [write], namespaces: [acme] }
  - { name: viewer, token: tok-view, scopes: [read] }
`,
)

test('a tokens file with private reads: scopes and namespaces hold over HTTP; --token joins it', async () => {
  const served = await startServe(['--store', 'memory', '--port', '0', '--tokens', tokensFile, '--token', 'tok-root'], { APPR_PRIVATE_READS: 'true' })
  try {
    const body = { blob: b64(await tarGz({ 'x/Chart.yaml': 'name: x\n' })), release: '1.0.0', media_type: 'helm' }
    assert.is((await postJson(`${served.url}/cnr/api/v1/packages/acme/x`, body, { authorization: 'tok-ci' })).status, 200)
    assert.is((await postJson(`${served.url}/cnr/api/v1/packages/other/x`, body, { authorization: 'tok-ci' })).status, 403)
    assert.is((await postJson(`${served.url}/cnr/api/v1/packages/other/x`, body, { authorization: 'tok-view' })).status, 403)
    assert.is((await postJson(`${served.url}/cnr/api/v1/packages/other/x`, body, { authorization: 'tok-root' })).status, 200)
    const anonymous = await call(`${served.url}/cnr/api/v1/packages/acme/x`)
    assert.is(anonymous.status, 401)
    assert.is(anonymous.body.code, 'unauthorized-access')
    assert.is((await call(`${served.url}/cnr/api/v1/packages/acme/x`, { headers: { authorization: 'tok-view' } })).status, 200)
    assert.is((await call(`${served.url}/v2/acme/x/tags/list`)).status, 401)
    const listening = served.out.map((l) => JSON.parse(l) as { msg?: string; auth?: string }).find((l) => l.msg === 'listening')
    assert.is(listening?.auth, 'private')
    assert.not.ok(served.out.join('\n').includes('tok-'), 'no token in the logs')
  } finally {
    await served.stop()
  }
})

test('refused at start with exit 2: private reads without tokens, a bad tokens file, a missing one', async () => {
  let r = await runCli(['serve', '--store', 'memory', '--port', '0', '--private-reads'])
  assert.is(r.code, 2)
  assert.match(r.stderr, '--private-reads needs --token or --tokens')
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'tokens:\n  - { name: a, token: t, scopes: [superuser] }\n')
  r = await runCli(['serve', '--store', 'memory', '--port', '0', '--tokens', bad])
  assert.is(r.code, 2)
  assert.match(r.stderr, `--tokens ${bad}: not a tokens file at token 0 (scopes.0)`)
  r = await runCli(['serve', '--store', 'memory', '--port', '0'], { APPR_TOKENS: join(dir, 'absent.yaml') })
  assert.is(r.code, 2)
  assert.match(r.stderr, 'absent.yaml')
})

test.after(() => rmSync(dir, { recursive: true, force: true }))

test.run()
