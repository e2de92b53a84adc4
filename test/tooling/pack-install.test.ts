/**
 * The package as a user gets it: `npm pack` (which builds, through prepack), the tarball
 * installed into an empty project with only the `level` driver, then the installed `appr-core`
 * serves, pushes and pulls on level, the library does the same in-process, and every store or
 * entry point whose optional peer is missing says what to install. Also: `npm ci --omit=dev`
 * on the repository's manifest succeeds (nothing builds on install).
 *
 * Needs npm and the npm registry (or npm's cache: installs run with --prefer-offline); without
 * them the suite is reported as skipped.
 */
import { type SpawnOptions, spawn } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { skipOrFail } from '../helpers/servers.js'

const root = new URL('../..', import.meta.url).pathname
const work = mkdtempSync(join(tmpdir(), 'appr-pack-'))
const project = join(work, 'project')
const npmFlags = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

async function run(command: string, args: string[], options: SpawnOptions & { input?: string } = {}): Promise<Ran> {
  const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  child.stdin!.end(options.input ?? '')
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}

const offline = (r: Ran) => /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network/i.test(r.stderr) && r.code !== 0

let tarball = ''
let packed: { path: string }[] = []
let ready = false

/** The files `npm pack` reads, copied: its prepack build then writes dist/ there, not under tests that run the repo's dist/. */
function copyOfRepo(): string {
  const copy = join(work, 'checkout')
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] }
  // scripts/: prepack's build-ui.mjs (a checkout has it; the tarball does not need it).
  const roots = new Set([...pkg.files.map((f) => f.split('/')[0]!), 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts'])
  for (const entry of roots) if (entry !== 'dist') cpSync(join(root, entry), join(copy, entry), { recursive: true })
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'))
  return copy
}

let checkout = ''

test.before(async () => {
  checkout = copyOfRepo()
  const pack = await run('npm', ['pack', '--json', '--pack-destination', work, ...npmFlags], { cwd: checkout })
  assert.is(pack.code, 0, pack.stderr)
  // prepack's tsc prints nothing on success; the JSON report is the last thing on stdout.
  const report = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as [{ filename: string; files: { path: string }[] }]
  tarball = join(work, report[0].filename)
  packed = report[0].files
  mkdirSync(project)
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'level-user', private: true, type: 'module' }))
  const install = await run('npm', ['install', tarball, 'level@^10', ...npmFlags], { cwd: project })
  if (offline(install)) return skipOrFail('pack-install', `needs the npm registry or npm's cache (${install.stderr.trim().split('\n')[0]})`)
  assert.is(install.code, 0, install.stderr)
  ready = true
})

test.after(() => {
  rmSync(work, { recursive: true, force: true })
})

test('the tarball ships the licence, changelog, sources of its maps and every export target', () => {
  const paths = new Set(packed.map((f) => f.path))
  for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md', 'package.json', 'examples/file-store/file-store.ts', 'dist/src/cli/main.js', 'dist/ui/app.js', 'dist/ui/app.css']) {
    assert.ok(paths.has(file), `${file} is not in the tarball`)
  }
  assert.not.ok([...paths].some((p) => p.startsWith('test/') || p.startsWith('bench/') || p.startsWith('dist/test/')), 'tests or benchmarks are packed')
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> }
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    for (const path of typeof target === 'string' ? [target] : Object.values(target)) {
      assert.ok(paths.has(path.replace(/^\.\//, '')), `exports["${subpath}"] → ${path} is not in the tarball`)
    }
  }
  // Every source map's sources are in the tarball too (maps with sources, or none at all).
  const maps = [...paths].filter((p) => p.endsWith('.map'))
  assert.ok(maps.length > 0)
  for (const map of maps) {
    const { sources } = JSON.parse(readFileSync(join(checkout, map), 'utf8')) as { sources: string[] }
    for (const source of sources) {
      const target = resolve('/', dirname(map), source).slice(1)
      assert.ok(paths.has(target), `${map} names ${source}, which is not in the tarball`)
    }
  }
})

/** Bytes under `dir` as `du --apparent-size` counts them: every file, directory and link's own size. */
function apparentBytes(dir: string): number {
  let bytes = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    bytes += lstatSync(path).size
    if (entry.isDirectory()) bytes += apparentBytes(path)
  }
  return bytes
}

test('a level-only install has no other driver, is small, and is as large as the README says', () => {
  if (!ready) return
  const modules = join(project, 'node_modules')
  for (const absent of ['ioredis', 'etcd3', '@grpc', 'protobufjs', 'fast-check', 'uvu', 'typescript']) {
    assert.not.ok(existsSync(join(modules, absent)), `${absent} was installed for a level-only user`)
  }
  assert.ok(existsSync(join(modules, 'level')))
  // Every installed package, nested ones included (the lockfile's entries but the project itself).
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> }
  const packages = Object.keys(lock.packages).filter((key) => key !== '').length
  const mib = apparentBytes(modules) / 2 ** 20
  console.log(`level-only install: ${packages} packages, ${mib.toFixed(1)} MiB (apparent size)`)
  // With every driver it was 94 packages and 43 MiB; grpc and protobufjs alone are most of the difference.
  assert.ok(packages <= 60, `${packages} packages`)
  assert.ok(mib <= 36, `${mib.toFixed(1)} MiB`)
  // The README's figures (they drift as dependencies publish: a margin, not an exact count).
  const readme = /only `level`, appr-core is (\d+) packages and (\d+) MiB/.exec(readFileSync(join(root, 'README.md'), 'utf8').replace(/\s+/g, ' '))
  assert.ok(readme, 'the README states the level-only install size')
  assert.ok(Math.abs(Number(readme![1]) - packages) <= 5, `README: ${readme![1]} packages, measured ${packages}`)
  assert.ok(Math.abs(Number(readme![2]) - mib) <= 3, `README: ${readme![2]} MiB, measured ${mib.toFixed(1)}`)
})

test('the installed appr-core serves on level; its push and pull round-trip a chart', async () => {
  if (!ready) return
  const bin = join(project, 'node_modules', '.bin', 'appr-core')
  const chart = join(project, 'hello')
  mkdirSync(join(chart, 'templates'), { recursive: true })
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: hello\nversion: 0.1.0\n')
  writeFileSync(join(chart, 'templates', 'cm.yaml'), 'kind: ConfigMap\n')
  // --ui: the installed package serves the UI prepack built (esbuild is not installed here).
  const server = spawn(bin, ['serve', '--store', 'level:./data', '--port', '0', '--ui'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  server.stderr.on('data', (d) => (stderr += d))
  try {
    let url = ''
    for await (const line of createInterface({ input: server.stdout })) {
      const entry = JSON.parse(line) as { msg?: string; url?: string }
      if (entry.msg === 'listening' && entry.url) {
        url = entry.url
        break
      }
    }
    assert.ok(url, `serve did not start: ${stderr}`)
    server.stdout.resume()
    const pushed = await run(bin, ['push', 'acme/hello', chart, '--registry', url, '--json'], { cwd: project })
    assert.is(pushed.code, 0, pushed.stderr)
    const pulled = await run(bin, ['pull', 'acme/hello@0.1.0', '-o', 'hello.tgz', '--registry', url, '--json'], { cwd: project })
    assert.is(pulled.code, 0, pulled.stderr)
    assert.is((JSON.parse(pulled.stdout) as { digest: string }).digest, (JSON.parse(pushed.stdout) as { digest: string }).digest)
    const ui = await fetch(`${url}/ui/app.js`)
    assert.is(ui.status, 200, 'the web UI is served from dist/ui')
    assert.ok((await ui.text()).length > 1000)
  } finally {
    server.kill('SIGTERM')
    const [code] = (await once(server, 'exit')) as [number | null]
    assert.is(code, 0, stderr)
  }
})

test('the library on the level adapter pushes and pulls in the installed project', async () => {
  if (!ready) return
  writeFileSync(
    join(project, 'lib.mjs'),
    `import { Registry } from 'appr-core'
import { fileBlobStore, levelStore } from 'appr-core/adapters/level'
import { packDirectory } from 'appr-core/archive'
const registry = new Registry({ store: levelStore({ path: './lib-data/kv' }), blobs: fileBlobStore({ path: './lib-data/blobs' }) })
await registry.push({ package: 'acme/hello', release: '0.1.0', format: 'helm', blob: packDirectory('./hello') })
const pulled = await registry.pull('acme/hello', { release: '0.1.0', format: 'helm' })
let size = 0
for await (const chunk of pulled.stream) size += chunk.length
console.log(pulled.manifest.release, size > 0)
await registry.close()
`,
  )
  const r = await run(process.execPath, ['lib.mjs'], { cwd: project })
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stdout, '0.1.0 true\n')
})

test('a store or entry point whose optional peer is missing says what to install', async () => {
  if (!ready) return
  const bin = join(project, 'node_modules', '.bin', 'appr-core')
  for (const [store, driver] of [
    ['redis://127.0.0.1:1', 'ioredis'],
    ['etcd://127.0.0.1:1', 'etcd3'],
  ] as const) {
    const r = await run(bin, ['serve', '--store', store, '--port', '0'], { cwd: project })
    assert.is(r.code, 1, r.stderr)
    assert.match(r.stderr, `npm install ${driver}`)
    assert.not.match(r.stderr, '--global', 'a project install is advised a project install')
  }
  const probe = `for (const m of ['appr-core/adapters/redis', 'appr-core/adapters/etcd', 'appr-core/conformance']) {
  try { await import(m); console.log(m, 'loaded') } catch (e) { console.log(JSON.stringify({ m, name: e.name, code: e.code, message: e.message })) }
}`
  const r = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: project })
  assert.is(r.code, 0, r.stderr)
  const [redis, etcd, conformance] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; code: string; message: string })
  assert.equal([redis?.name, redis?.code], ['ApprError', 'unsupported'])
  assert.match(redis?.message ?? '', 'npm install ioredis')
  assert.match(etcd?.message ?? '', 'npm install etcd3')
  assert.match(conformance?.message ?? '', 'npm install --save-dev fast-check uvu')
})

test('a global install (npm install --global) is advised to install a missing driver globally', async () => {
  if (!ready) return
  const prefix = join(work, 'global')
  const install = await run('npm', ['install', '--global', '--prefix', prefix, tarball, ...npmFlags], { cwd: work })
  assert.is(install.code, 0, install.stderr)
  const elsewhere = join(work, 'elsewhere')
  mkdirSync(elsewhere)
  const r = await run(join(prefix, 'bin', 'appr-core'), ['serve', '--store', 'redis://127.0.0.1:1', '--port', '0'], { cwd: elsewhere })
  assert.is(r.code, 1, r.stderr)
  assert.match(r.stderr, 'npm install --global ioredis')
  // Following the advice is enough: the global appr-core resolves a global ioredis.
  const driver = await run('npm', ['install', '--global', '--prefix', prefix, 'ioredis@^6', ...npmFlags], { cwd: work })
  if (offline(driver)) return
  assert.is(driver.code, 0, driver.stderr)
  const after = await run(join(prefix, 'bin', 'appr-core'), ['serve', '--store', 'redis://127.0.0.1:1', '--port', '0'], { cwd: elsewhere })
  assert.is(after.code, 1, after.stderr)
  assert.not.match(after.stderr, 'npm install')
  assert.match(after.stderr, 'cannot reach the store')
})

test('npm ci --omit=dev on the repository manifest succeeds (no build on install)', async () => {
  if (!ready) return
  const repo = join(work, 'repo')
  mkdirSync(repo)
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(root, file), join(repo, file))
  const r = await run('npm', ['ci', '--omit=dev', ...npmFlags], { cwd: repo })
  assert.is(r.code, 0, r.stderr)
  assert.not.ok(existsSync(join(repo, 'node_modules', 'typescript')), 'a dev dependency was installed')
})

test.run()
