import { chmod, cp, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { inspectArchive, packDirectory, validateBlob } from 'appr-core/archive'
import { isApprError } from 'appr-core'
import { readFileSync } from 'node:fs'
import { tarGz } from '../../scripts/make-hostile-archives.js'

let base = ''

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of chunks) parts.push(c)
  return new Uint8Array(Buffer.concat(parts))
}

const CHART = `apiVersion: v2
name: nginx
version: 1.2.3
description: A web server
appVersion: "1.25"
dependencies:
  - name: common
    version: 2.x.x
    repository: https://charts.example.com
`

/** A small chart tree; returns its directory. */
async function makeChart(name: string): Promise<string> {
  const dir = join(base, name)
  await mkdir(join(dir, 'templates', 'sub'), { recursive: true })
  await mkdir(join(dir, 'empty'), { recursive: true })
  await mkdir(join(dir, 'secret-dir'), { recursive: true })
  await writeFile(join(dir, 'Chart.yaml'), CHART)
  await writeFile(join(dir, 'values.yaml'), 'replicas: 2\n')
  await writeFile(join(dir, 'templates', 'deployment.yaml'), 'kind: Deployment\n')
  await writeFile(join(dir, 'templates', 'sub', 'b.yaml'), 'kind: Service\n')
  await writeFile(join(dir, 'templates', 'run.sh'), '#!/bin/sh\n')
  await chmod(join(dir, 'templates', 'run.sh'), 0o700)
  await writeFile(join(dir, 'notes.tmp'), 'ignored\n')
  await writeFile(join(dir, 'secret-dir', 'x'), 'ignored\n')
  await writeFile(join(dir, 'keep.tmp'), 'negated, so kept\n')
  await writeFile(join(dir, '.helmignore'), '*.tmp\n!keep.tmp\nsecret-dir/\n')
  await symlink('../values.yaml', join(dir, 'templates', 'values-link.yaml'))
  return dir
}

test.before(async () => {
  base = await mkdtemp(join(tmpdir(), 'appr-pack-'))
})
test.after(async () => {
  await rm(base, { recursive: true, force: true })
})

test('packing the same tree twice, and a copy with other mtimes and modes, gives the same bytes', async () => {
  const dir = await makeChart('nginx')
  const a = await collect(packDirectory(dir))
  const b = await collect(packDirectory(dir))
  assert.equal(a, b)
  const copy = join(base, 'copy')
  await cp(dir, copy, { recursive: true, verbatimSymlinks: true })
  await utimes(join(copy, 'values.yaml'), new Date('2001-02-03'), new Date('2001-02-03'))
  await utimes(join(copy, 'templates', 'deployment.yaml'), new Date(), new Date(Date.now() + 86_400_000))
  await chmod(join(copy, 'Chart.yaml'), 0o600)
  const c = await collect(packDirectory(copy))
  assert.equal(c, a)
  const [fa, fc] = [await validateBlob(a), await validateBlob(c)]
  assert.is(fa.digest, fc.digest)
  assert.is(fa.ociDigest, fc.ociDigest)
  // A changed byte changes the digest (the test can fail).
  await writeFile(join(copy, 'values.yaml'), 'replicas: 3\n')
  assert.is.not((await validateBlob(await collect(packDirectory(copy)))).digest, fa.digest)
})

test('the gzip header is fixed: no name, mtime 0, OS byte 255', async () => {
  const blob = await collect(packDirectory(await makeChart('hdr')))
  assert.equal([...blob.subarray(0, 4)], [0x1f, 0x8b, 8, 0])
  assert.equal([...blob.subarray(4, 8)], [0, 0, 0, 0])
  assert.is(blob[9], 0xff)
})

test('entries are sorted, normalised, and .helmignore is honoured', async () => {
  const dir = await makeChart('norm')
  const facts = await inspectArchive(await collect(packDirectory(dir, { prefix: true })))
  assert.is(facts.root, 'nginx')
  assert.equal(
    facts.files.map((f) => f.path),
    [
      'nginx/.helmignore',
      'nginx/Chart.yaml',
      'nginx/keep.tmp',
      'nginx/templates/deployment.yaml',
      'nginx/templates/run.sh',
      'nginx/templates/sub/b.yaml',
      'nginx/templates/values-link.yaml',
      'nginx/values.yaml',
    ],
  )
  const byPath = new Map(facts.files.map((f) => [f.path, f]))
  assert.is(byPath.get('nginx/templates/run.sh')?.mode, 0o755)
  assert.is(byPath.get('nginx/Chart.yaml')?.mode, 0o644)
  assert.is(byPath.get('nginx/templates/values-link.yaml')?.type, 'symlink')
  assert.is(byPath.get('nginx/templates/values-link.yaml')?.target, '../values.yaml')
  // Raw headers: uid/gid 0, no user names, mtime 0.
  const tar = gunzipSync(await collect(packDirectory(dir)))
  for (let off = 0; off + 512 <= tar.length && tar[off] !== 0; ) {
    const h = tar.subarray(off, off + 512)
    const octal = (o: number, n: number) => Number.parseInt(h.subarray(o, o + n).toString().replace(/\0.*$/, '').trim() || '0', 8)
    assert.is(octal(108, 8), 0)
    assert.is(octal(116, 8), 0)
    assert.is(octal(136, 12), 0)
    assert.is(h.subarray(265, 265 + 32).toString().replace(/\0+$/, ''), '')
    off += 512 + Math.ceil(octal(124, 12) / 512) * 512
  }
})

test('inspect of a packed chart shows its Chart.yaml fields', async () => {
  const dir = await makeChart('show')
  const r = await inspectArchive(packDirectory(dir, { prefix: true }))
  assert.equal(r.manifest && { ...r.manifest, document: undefined }, {
    kind: 'helm',
    path: 'nginx/Chart.yaml',
    name: 'nginx',
    version: '1.2.3',
    description: 'A web server',
    appVersion: '1.25',
    dependencies: [{ name: 'common', version: '2.x.x', repository: 'https://charts.example.com' }],
    document: undefined,
  })
  // A chart gets its folder by default, as Helm's loader expects; `prefix: false` keeps it flat.
  assert.is((await inspectArchive(packDirectory(dir))).root, 'nginx')
  const flat = await inspectArchive(packDirectory(dir, { prefix: false }))
  assert.is(flat.root, undefined)
  assert.is(flat.manifest?.path, 'Chart.yaml')
  assert.is(flat.manifest?.version, '1.2.3')
})

test('an explicit prefix, and a bad one', async () => {
  const dir = await makeChart('pfx')
  const r = await inspectArchive(packDirectory(dir, { prefix: 'other' }))
  assert.is(r.root, 'other')
  for (const prefix of ['a/b', '..', '']) {
    try {
      await collect(packDirectory(dir, { prefix }))
      assert.unreachable()
    } catch (e) {
      assert.ok(isApprError(e, 'invalid-usage'), String(e))
    }
  }
})

test('a symlink pointing outside the tree is refused at pack time', async () => {
  const dir = join(base, 'escape')
  await mkdir(dir)
  await writeFile(join(dir, 'Chart.yaml'), CHART)
  await symlink('/etc/passwd', join(dir, 'passwd'))
  try {
    await collect(packDirectory(dir))
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'invalid-usage'))
    assert.is(e.details.reason, 'link-outside')
  }
})

test('inspect of the kpm fixture reads manifest.yaml at the root', async () => {
  const r = await inspectArchive(new Uint8Array(readFileSync(new URL('../fixtures/kube-ui.tar.gz', import.meta.url))))
  assert.is(r.manifest?.kind, 'appr')
  assert.is(r.manifest?.path, 'manifest.yaml')
  assert.is(r.manifest?.name, 'kube-system/kube-ui')
  assert.is(r.manifest?.version, '1.0.1')
  assert.is(r.digest, 'd14ec5d33581b51a389db8f3f4e26421eaba09460c8ea4817225abd4a5a1b44a')
  assert.equal(r.files.map((f) => f.path).sort(), ['README.md', 'manifest.yaml', 'templates/kube-ui-rc.yaml', 'templates/kube-ui-svc.yaml'])
})

test('inspect: manifest.jsonnet, bad YAML, oversized manifest, no single root, hostile input', async () => {
  const jsonnet = await inspectArchive(tarGz([{ name: 'pkg/manifest.jsonnet', data: '{ package: {} }' }]))
  assert.equal({ kind: jsonnet.manifest?.kind, document: jsonnet.manifest?.document }, { kind: 'appr', document: '{ package: {} }' })
  const bad = await inspectArchive(tarGz([{ name: 'Chart.yaml', data: 'name: [unclosed' }]))
  assert.match(bad.manifest?.error ?? '', /invalid YAML/)
  const big = await inspectArchive(tarGz([{ name: 'Chart.yaml', data: `name: x\n${'#'.repeat(2000)}\n` }]), { maxManifestBytes: 1000 })
  assert.match(big.manifest?.error ?? '', /larger than 1000/)
  const two = await inspectArchive(tarGz([{ name: 'a/Chart.yaml', data: 'name: a' }, { name: 'b/Chart.yaml', data: 'name: b' }]))
  assert.is(two.root, undefined)
  assert.is(two.manifest, undefined)
  // Billion laughs: the yaml library refuses to expand too many aliases.
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`)
  const lol = await inspectArchive(tarGz([{ name: 'Chart.yaml', data: `${laughs.join('\n')}\nname: x\n` }]))
  assert.ok(lol.manifest?.error !== undefined)
  try {
    await inspectArchive(tarGz([{ name: '../x' }]))
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'invalid-usage'))
  }
})

test.run()
