/**
 * The README's promises: its Usage example runs as written, and its curl session is the one
 * test/cli/serve-session.test.ts runs verbatim against a real server.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const root = new URL('..', import.meta.url).pathname
const readme = readFileSync(join(root, 'README.md'), 'utf8')

test('the first screen names npm start and npm test', () => {
  const firstScreen = readme.split('\n').slice(0, 15).join('\n')
  assert.match(firstScreen, 'npm start')
  assert.match(firstScreen, 'npm test')
})

test('the Usage example runs as written', () => {
  const usage = /## Usage\n\n```ts\n([\s\S]*?)```/.exec(readme)
  assert.ok(usage, 'README has a ts block under ## Usage')
  // Inside the package folder, so `appr-core/...` resolves through the package's own exports.
  mkdirSync(join(root, '.tmp'), { recursive: true })
  const dir = mkdtempSync(join(root, '.tmp', 'readme-'))
  try {
    mkdirSync(join(dir, 'nginx', 'templates'), { recursive: true })
    writeFileSync(join(dir, 'nginx', 'Chart.yaml'), 'apiVersion: v2\nname: nginx\nversion: 1.0.0\n')
    writeFileSync(join(dir, 'nginx', 'templates', 'svc.yaml'), 'kind: Service\n')
    writeFileSync(join(dir, 'example.ts'), usage[1]!)
    const out = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'example.ts'], { cwd: dir, encoding: 'utf8' })
    assert.match(out, /^1\.0\.0 [0-9a-f]{64}\n$/)
    const pulled = join(dir, 'acme_nginx_1.0.0.tar.gz')
    assert.ok(existsSync(pulled), 'the pulled tarball was written')
    assert.match(gunzipSync(readFileSync(pulled)).toString('latin1'), 'name: nginx')
    assert.ok(existsSync(join(dir, 'registry-data', 'kv')), 'the level store is on disk')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the curl session matches the one the serve test runs', () => {
  const block = (text: string) => /<!-- curl-session:start -->\n([\s\S]*?)<!-- curl-session:end -->/.exec(text)?.[1]
  const docs = readFileSync(join(root, 'docs', 'http.md'), 'utf8')
  assert.ok(block(readme), 'README has the curl session')
  assert.is(block(readme), block(docs))
})

test.run()
