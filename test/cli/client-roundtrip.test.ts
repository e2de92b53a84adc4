/**
 * The client against the real server: `appr-core serve --store memory` in a child process, the
 * client commands in-process. pack → push → pull → inspect gives the original tree; hostile
 * archives pushed over HTTP are refused and leave no package behind.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cli } from './client-helpers.js'
import { inspectArchive } from 'appr-core/archive'
import { makeHostileArchives } from '../../scripts/make-hostile-archives.js'

const TOKEN = 'round-trip-token'
let server: ChildProcess | undefined
let registry = ''
let base = ''
let chart = ''

test.before(async () => {
  base = await mkdtemp(join(tmpdir(), 'appr-roundtrip-'))
  chart = join(base, 'wordpress')
  await mkdir(join(chart, 'templates'), { recursive: true })
  await mkdir(join(chart, 'charts'), { recursive: true })
  await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: wordpress\nversion: 1.4.0\ndescription: blog\nappVersion: "6.5"\n')
  await writeFile(join(chart, 'values.yaml'), 'replicas: 1\n')
  await writeFile(join(chart, 'templates', 'deploy.yaml'), 'kind: Deployment\n')
  await writeFile(join(chart, 'charts', 'README'), 'sub charts\n')
  await writeFile(join(chart, '.helmignore'), 'charts/\n')
  const root = new URL('../..', import.meta.url).pathname
  server = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli/main.ts', 'serve', '--store', 'memory', '--port', '0', '--token', TOKEN], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: server.stdout! })
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; url?: string }
    if (entry.msg === 'listening' && entry.url) {
      registry = entry.url
      break
    }
  }
  // Keep draining the request log so the child never blocks on a full pipe.
  server.stdout!.resume()
  assert.ok(registry, 'the server did not report where it listens')
})

test.after(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM')
    await once(server, 'exit')
  }
  await rm(base, { recursive: true, force: true })
})

test('pack → push → pull → inspect gives the original tree', async () => {
  const packedFile = join(base, 'packed.tgz')
  const packed = await cli('pack', chart, '--prefix', '-o', packedFile, '--json')
  assert.is(packed.code, 0, packed.err)
  const pushed = await cli('push', 'acme/wordpress', chart, '--registry', registry, '--token', TOKEN, '--json')
  assert.is(pushed.code, 0, pushed.err)
  const pushInfo = JSON.parse(pushed.out) as { release: string; format: string; digest: string }
  assert.equal([pushInfo.release, pushInfo.format], ['1.4.0', 'helm'])

  const pulledFile = join(base, 'pulled.tgz')
  const pulled = await cli('pull', 'acme/wordpress@>=1.0', '-o', pulledFile, '--registry', `${registry}/cnr`)
  assert.is(pulled.code, 0, pulled.err)
  const [before, after] = [await inspectArchive(await readFile(packedFile)), await inspectArchive(await readFile(pulledFile))]
  assert.is(after.digest, before.digest)
  assert.equal(after.files, before.files)
  assert.equal(
    after.files.map((f) => f.path),
    ['wordpress/.helmignore', 'wordpress/Chart.yaml', 'wordpress/templates/deploy.yaml', 'wordpress/values.yaml'],
  )
  assert.is(after.manifest?.version, '1.4.0')
  assert.ok((await readFile(pulledFile)).equals(await readFile(packedFile)))

  const shown = await cli('show', 'acme/wordpress', '--registry', registry, '--contents')
  assert.is(shown.code, 0, shown.err)
  assert.match(shown.out, `digest      ${before.digest}`)
  assert.match(shown.out, /appVersion\s+6\.5/)
})

test('a write without the token is refused; pushing twice is package-exists; --force overwrites', async () => {
  const anonymous = await cli('push', 'acme/other', chart, '--registry', registry)
  assert.is(anonymous.code, 1)
  assert.match(anonymous.err, 'unauthorized-access')
  const again = await cli('push', 'acme/wordpress', chart, '--registry', registry, '--token', TOKEN)
  assert.is(again.code, 1)
  assert.match(again.err, 'package-exists')
  assert.is((await cli('push', 'acme/wordpress', chart, '--registry', registry, '--token', TOKEN, '--force')).code, 0)
})

test('channels and list through the client', async () => {
  const add = await cli('channel', 'acme/wordpress', 'stable', '--add', '1.4.0', '--registry', registry, '--token', TOKEN, '--json')
  assert.is(add.code, 0, add.err)
  assert.equal(JSON.parse(add.out), { name: 'stable', current: '1.4.0', releases: ['1.4.0'] })
  const pulled = await cli('pull', 'acme/wordpress:stable', '-o', join(base, 'stable.tgz'), '--registry', registry, '--json')
  assert.is(pulled.code, 0, pulled.err)
  assert.is((JSON.parse(pulled.out) as { release: string }).release, '1.4.0')
  const list = await cli('list', '--registry', registry, '--json')
  assert.equal(
    (JSON.parse(list.out) as { name: string; default: string }[]).map((p) => [p.name, p.default]),
    [['acme/wordpress', '1.4.0']],
  )
  assert.is((await cli('channel', 'acme/wordpress', 'stable', '--remove', '1.4.0', '--registry', registry, '--token', TOKEN)).code, 0)
  const none = await cli('channel', 'acme/wordpress', 'stable', '--registry', registry)
  assert.is(none.code, 1)
  assert.match(none.err, 'channel-not-found')
})

test('hostile archives pushed over HTTP are refused with their reason and store nothing', async () => {
  const corpus = await makeHostileArchives(join(base, 'hostile'))
  for (const archive of corpus) {
    const blob = (await readFile(archive.file)).toString('base64')
    const response = await fetch(`${registry}/cnr/api/v1/packages/evil/${archive.name}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: TOKEN },
      body: JSON.stringify({ release: '1.0.0', media_type: 'helm', blob }),
    })
    const body = (await response.json()) as { code: string; details?: { reason?: string } }
    assert.is(body.code, archive.code, `${archive.name}: ${JSON.stringify(body)}`)
    assert.is(body.details?.reason, archive.reason, archive.name)
    const shown = await fetch(`${registry}/cnr/api/v1/packages/evil/${archive.name}`)
    assert.is(shown.status, 404, archive.name)
  }
  const list = (await (await fetch(`${registry}/cnr/api/v1/packages?namespace=evil`)).json()) as unknown[]
  assert.equal(list, [])
})

test.run()
