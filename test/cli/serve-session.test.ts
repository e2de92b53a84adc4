/**
 * The curl session of docs/http.md (the one the README shows), run verbatim with bash in a
 * temporary directory against `appr-core serve` on a fresh level directory. It uses port 5000 when free; otherwise the
 * same script runs with only `localhost:5000` pointed at the ephemeral port.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type Served, root, startServe } from './serve-helpers.js'

function session(file = 'docs/http.md'): string {
  const doc = readFileSync(join(root, file), 'utf8')
  const m = /<!-- curl-session:start -->\n```sh\n([\s\S]*?)```\n<!-- curl-session:end -->/.exec(doc)
  assert.ok(m, `${file} has a curl-session block`)
  return m![1]!
}

test('the README shows the tested session, and says it writes files where it runs', () => {
  assert.is(session('README.md'), session())
  assert.match(readFileSync(join(root, 'README.md'), 'utf8'), 'in a temporary directory: the session writes `nginx/`')
})

async function portFree(port: number): Promise<boolean> {
  const probe = createServer()
  probe.listen(port, '127.0.0.1')
  try {
    await Promise.race([once(probe, 'listening'), once(probe, 'error').then(([e]) => Promise.reject(e))])
    probe.close()
    return true
  } catch {
    return false
  }
}

test('the documented curl session works verbatim: push, show, pull', async () => {
  const missing = ['bash', 'curl', 'tar', 'base64'].filter((bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0)
  if (missing.length > 0) {
    console.log(`\nSKIPPED SUITE: curl session — needs ${missing.join(', ')} on PATH`)
    if (process.env.CI === 'true') assert.unreachable(`missing ${missing}`)
    return
  }
  const work = mkdtempSync(join(tmpdir(), 'appr-session-'))
  let served: Served | undefined
  try {
    const port = (await portFree(5000)) ? '5000' : '0'
    served = await startServe(['--store', `level:${join(work, 'appr-data')}`, '--port', port])
    const script = port === '5000' ? session() : session().replaceAll('localhost:5000', served.url.replace('http://', '').replace('127.0.0.1', 'localhost'))
    const out = execFileSync('bash', ['-e', '-c', script], { cwd: work, encoding: 'utf8' })
    const lines = out.trim().split('\n')
    assert.equal(JSON.parse(lines[0]!), { status: 'ok' })
    const shown = JSON.parse(lines[1]!)
    assert.is(shown.package, 'acme/nginx')
    assert.is(shown.release, '1.0.0')
    assert.is(shown.mediaType, 'application/vnd.appr.package-manifest.helm.v0.json')
    assert.equal(lines.slice(2), ['nginx/', 'nginx/Chart.yaml'])
    const pulled = readFileSync(join(work, 'acme_nginx_1.0.0.tar.gz'))
    assert.equal(pulled, readFileSync(join(work, 'nginx-1.0.0.tgz')))
    assert.match(gunzipSync(pulled).toString('latin1'), 'version: 1.0.0')
    assert.ok(existsSync(join(work, 'nginx/Chart.yaml')))
    // The session's chart is one Helm loads: the namespace's chart repository lists it.
    const index = await (await fetch(`${served.url}/helm/acme/index.yaml`)).text()
    assert.match(index, /^ {2}nginx:\n {4}- apiVersion: v2\n/m, index)
    assert.not.match(index, '# left out', index)
    // Run in `work`, not in the checkout: nothing of the session lands in the working tree.
    for (const left of ['nginx', 'nginx-1.0.0.tgz', 'acme_nginx_1.0.0.tar.gz']) assert.not.ok(existsSync(join(root, left)), `${left} left in ${root}`)
  } finally {
    if (served) assert.is(await served.stop(), 0)
    rmSync(work, { recursive: true, force: true })
  }
})

test('npm start runs the built bin on the level store (package.json wiring)', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  assert.is(pkg.bin['appr-core'], './dist/src/cli/main.js')
  assert.is(pkg.scripts.start, 'node dist/src/cli/main.js serve --store level:./appr-data')
  assert.match(readFileSync(join(root, 'src/cli/main.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/)
  // The compiled bin keeps the shebang (tsc preserves it) when a build exists.
  const built = join(root, 'dist/src/cli/main.js')
  if (existsSync(built)) assert.match(readFileSync(built, 'utf8'), /^#!\/usr\/bin\/env node\n/)
})

test.run()
