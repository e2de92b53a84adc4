/** `appr-core sign`, `verify` and `pull --verify-key` in-process against a real server, with real keys. */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry, digestBlob } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { generateSigningKey, manifestDigest, pushedManifestDigest, signDigest } from 'appr-core/trust'
import { chart, start } from '../http/helpers.js'
import { flip, tamperingProxy } from '../trust/helpers.js'
import { cli } from './client-helpers.js'

const dir = await mkdtemp(join(tmpdir(), 'appr-trust-cli-'))
const alice = generateSigningKey('ed25519')
const bob = generateSigningKey('ecdsa-p256')
const file = (name: string) => join(dir, name)
await writeFile(file('alice.key'), alice.privateKey)
await writeFile(file('alice.pub'), alice.publicKey)
await writeFile(file('bob.key'), bob.privateKey)
await writeFile(file('bob.pub'), bob.publicKey)

const registry = new Registry({ store: memoryStore() })
await registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: await chart('web', '1.0.0'), metadata: { team: 'web' } })
await registry.push({ package: 'acme/web', release: '1.1.0', format: 'helm', blob: await chart('web', '1.1.0') })
const server = await start(registry)
const proxy = await tamperingProxy(server.url)
test.after(async () => {
  await proxy.close()
  await server.close()
  await registry.close()
  await rm(dir, { recursive: true, force: true })
})

test('sign stores a signature of the manifest digest; --print only prints one', async () => {
  const printed = await cli('sign', 'acme/web@1.1.0', '--key', file('bob.key'), '--print', '--registry', server.url)
  assert.is(printed.code, 0, printed.err)
  assert.is(JSON.parse(printed.out).keyid, bob.keyid)
  assert.equal(await registry.signatures.list('acme/web', '1.1.0', 'helm'), [])
  const signed = await cli('sign', 'acme/web@1.0.0', '--key', file('alice.key'), '--registry', server.url)
  assert.is(signed.code, 0, signed.err)
  const digest = manifestDigest(await registry.show('acme/web', { release: '1.0.0', format: 'helm' }))
  assert.is(signed.out, `signed acme/web@1.0.0 (helm) ${digest} with ${alice.keyid}\n`)
  assert.equal((await registry.signatures.list('acme/web', '1.0.0', 'helm')).map((s) => s.keyid), [alice.keyid])
  assert.is((await cli('sign', 'acme/web@1.0.0', '--key', file('alice.pub'), '--registry', server.url)).code, 1, 'a public key cannot sign')
  assert.is((await cli('sign', 'acme/web@1.0.0', '--registry', server.url)).code, 2)
})

test('verify: 0 with a trusting key; 1 for another key, an unsigned release, a tampered manifest or package', async () => {
  const ok = await cli('verify', 'acme/web@1.0.0', '--key', file('alice.pub'), '--registry', server.url, '--json')
  assert.is(ok.code, 0, ok.out + ok.err)
  const result = JSON.parse(ok.out)
  assert.equal([result.ok, result.keyids, result.blob_ok], [true, [alice.keyid], true])
  const wrongKey = await cli('verify', 'acme/web@1.0.0', '--key', file('bob.pub'), '--registry', server.url)
  assert.is(wrongKey.code, 1)
  assert.match(wrongKey.out, /NOT verified acme\/web@1\.0\.0 \(helm\): signature-invalid: .*unknown-key/)
  const unsigned = await cli('verify', 'acme/web@1.1.0', '--key', file('alice.pub'), '--key', file('bob.pub'), '--registry', server.url)
  assert.is(unsigned.code, 1)
  assert.match(unsigned.out, /unsigned/)
  // The manifest's metadata changed on the way (announced digest left alone).
  proxy.tamper = ({ path, body }) => {
    if (!path.endsWith('/1.0.0/-')) return undefined
    const m = JSON.parse(body.toString())
    m.metadata = { team: 'evil' }
    return Buffer.from(JSON.stringify(m))
  }
  let r = await cli('verify', 'acme/web@1.0.0', '--key', file('alice.pub'), '--registry', proxy.url)
  assert.is(r.code, 1)
  assert.match(r.out, /manifest-digest-mismatch/)
  // … and with the announced digest rewritten too: the signature no longer matches.
  proxy.tamper = ({ path, body }) => {
    if (!path.endsWith('/1.0.0/-')) return undefined
    const m = JSON.parse(body.toString())
    m.metadata = { team: 'evil' }
    m.manifest_digest = manifestDigest(m)
    return Buffer.from(JSON.stringify(m))
  }
  r = await cli('verify', 'acme/web@1.0.0', '--key', file('alice.pub'), '--registry', proxy.url)
  assert.is(r.code, 1)
  assert.match(r.out, /other-digest/)
  // The package bytes changed on the way.
  proxy.tamper = ({ path, body }) => (path.endsWith('/pull') ? flip(body, 30) : undefined)
  r = await cli('verify', 'acme/web@1.0.0', '--key', file('alice.pub'), '--registry', proxy.url)
  assert.is(r.code, 1)
  proxy.tamper = undefined
})

test('pull --verify-key writes the package only when a trusted signature signs its manifest', async () => {
  const out = join(dir, 'pulled')
  await rm(out, { recursive: true, force: true })
  const { mkdir } = await import('node:fs/promises')
  await mkdir(out)
  const good = await cli('pull', 'acme/web@1.0.0', '--verify-key', file('alice.pub'), '-o', join(out, 'good.tgz'), '--registry', server.url)
  assert.is(good.code, 0, good.err)
  assert.ok(existsSync(join(out, 'good.tgz')))
  const bad = await cli('pull', 'acme/web@1.1.0', '--verify-key', file('alice.pub'), '-o', join(out, 'bad.tgz'), '--registry', server.url)
  assert.is(bad.code, 1)
  assert.match(bad.err, /forbidden: refusing acme\/web@1\.1\.0/)
  assert.equal((await readdir(out)).sort(), ['good.tgz'], 'nothing written, no temporary file left')
  assert.is((await cli('pull', `acme/web@sha256:${'0'.repeat(64)}`, '--verify-key', file('alice.pub'), '--registry', server.url)).code, 2)
})

test('serve --signature-policy: an unsigned push into the namespace is 403; a signed one is stored; a bad flag exits 2', async () => {
  const root = new URL('../..', import.meta.url).pathname
  const args = ['--conditions=source', '--import', 'tsx', 'src/cli/main.ts', 'serve', '--store', 'memory', '--port', '0']
  const child = spawn(process.execPath, [...args, '--signature-policy', `acme=push:${file('alice.pub')}`], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    let url = ''
    for await (const line of createInterface({ input: child.stdout! })) {
      const entry = JSON.parse(line) as { msg?: string; url?: string }
      if (entry.msg === 'listening' && entry.url) {
        url = entry.url
        break
      }
    }
    child.stdout!.resume()
    const blob = await chart('web', '1.0.0')
    const body = (extra: object) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ release: '1.0.0', media_type: 'helm', ...extra, blob: Buffer.from(blob).toString('base64') }) })
    let r = await fetch(`${url}/cnr/api/v1/packages/acme/web`, body({}))
    assert.is(r.status, 403)
    assert.is(((await r.json()) as { code: string }).code, 'forbidden')
    const digest = pushedManifestDigest({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: await digestBlob(blob) })
    r = await fetch(`${url}/cnr/api/v1/packages/acme/web`, body({ signatures: [signDigest(digest, alice.privateKey)] }))
    assert.is(r.status, 200)
    r = await fetch(`${url}/cnr/api/v1/packages/other/web`, body({}))
    assert.is(r.status, 200, 'other namespaces are free')
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
  for (const bad of ['acme=always:x.pub', `acme=push:${file('missing.pub')}`, `acme=push:${file('alice.pub')},${join(dir, 'not-a-key')}`]) {
    await writeFile(join(dir, 'not-a-key'), 'hello')
    const refused = spawn(process.execPath, [...args, '--signature-policy', bad], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
    const [code] = (await once(refused, 'exit')) as [number]
    assert.is(code, 2, bad)
  }
})

test.run()
