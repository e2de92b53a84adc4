/**
 * What package.json promises a user, read statically: nothing builds on install, the backend
 * drivers and the suite's tools are optional peers, every export condition points at a shipped
 * file, the licence and changelog ship, and `appr-core/conformance`'s run-time entry exports
 * what its declarations say. (pack-install.test.ts checks the packed tarball itself.)
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const root = new URL('../..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>
  files: string[]
  exports: Record<string, string | Record<string, string>>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
  repository?: { url?: string }
  keywords?: string[]
  license: string
}

/** True when `path` (package-relative, `./` optional) lies under one of `files`. */
const shipped = (path: string) => {
  const clean = path.replace(/^\.\//, '')
  return clean === 'package.json' || pkg.files.some((entry) => clean === entry || clean.startsWith(`${entry}/`))
}

test('nothing runs on install: the build is prepack, and there is no prepare/install script', () => {
  for (const hook of ['prepare', 'preinstall', 'install', 'postinstall']) assert.not.ok(pkg.scripts[hook], `scripts.${hook} runs on install`)
  assert.match(pkg.scripts.prepack ?? '', 'tsc -p tsconfig.build.json')
  // The web UI is bundled at build time (esbuild is a dev dependency) and its bundle ships.
  assert.match(pkg.scripts.prepack ?? '', 'node scripts/build-ui.mjs')
  assert.ok(shipped('dist/ui/app.js') && !pkg.dependencies.esbuild)
})

test('drivers and the conformance tools are optional peers (and dev dependencies, for this repo)', () => {
  for (const name of ['level', 'ioredis', 'etcd3', 'fast-check', 'uvu']) {
    assert.not.ok(pkg.dependencies[name], `${name} is a hard dependency`)
    assert.ok(pkg.peerDependencies[name], `${name} is not a peer dependency`)
    assert.is(pkg.peerDependenciesMeta[name]?.optional, true, `${name} is not optional`)
    assert.ok(pkg.devDependencies[name], `${name} is missing from devDependencies (tests and npm ci need it)`)
  }
})

test('every export condition points at a shipped file', () => {
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const targets = typeof target === 'string' ? [target] : Object.values(target)
    for (const path of targets) assert.ok(shipped(path), `exports["${subpath}"] → ${path} is not in "files"`)
  }
  // Source maps point at the sources: every compiled directory ships its sources too.
  const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] }
  for (const dir of build.include) assert.ok(shipped(dir), `${dir} is compiled with source maps but its sources are not shipped`)
})

test('licence, changelog, repository and keywords', () => {
  assert.is(pkg.license, 'Apache-2.0')
  const licence = readFileSync(join(root, 'LICENSE'), 'utf8')
  assert.match(licence, 'Apache License')
  assert.match(licence, 'Version 2.0, January 2004')
  assert.match(licence, 'END OF TERMS AND CONDITIONS')
  for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md', 'examples']) assert.ok(shipped(file), `${file} is not shipped`)
  assert.match(pkg.repository?.url ?? '', /^git\+https:\/\//)
  assert.ok((pkg.keywords ?? []).includes('appr'))
})

test('npm run docs documents every entry point (TypeDoc, into the ignored dist/)', () => {
  assert.is(pkg.scripts.docs, 'typedoc')
  const typedoc = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { entryPoints: string[]; out: string }
  const sources = Object.values(pkg.exports).flatMap((target) => (typeof target === 'string' ? [] : [target.source!])).filter(Boolean)
  assert.equal([...typedoc.entryPoints].sort(), sources.map((s) => s.replace(/^\.\//, '')).sort())
  assert.ok(typedoc.out.startsWith('dist/'), 'the reference is written under dist/ (git-ignored, not shipped)')
  assert.match(readFileSync(join(root, '.gitignore'), 'utf8'), /^dist\/$/m)
})

test("appr-core/conformance's run-time entry exports every value its declarations name", async () => {
  const declared = Object.keys(await import('../../src/conformance/index.js')).sort()
  const entry = Object.keys(await import('../../src/conformance/entry.js')).sort()
  assert.equal(entry, declared)
})

test.run()
