/**
 * `appr-core oci-backfill --store`: a level store whose releases have no OCI view gets it, a
 * second run writes nothing, and the usage errors.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { fileBlobStore, levelStore } from 'appr-core/adapters/level'
import { runCli } from './serve-helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'appr-oci-backfill-cli-'))
const chart = new Uint8Array(readFileSync(new URL('../fixtures/hello-0.1.0+b1.tgz', import.meta.url)))

test('a level store without OCI views: backfilled, then nothing to do; stats counts the repository', async () => {
  // The layout serve's level:<dir> opens: records in kv/, blob bytes in files under blobs/.
  const store = levelStore({ path: join(dir, 'db', 'kv') })
  const registry = new Registry({ store, blobs: fileBlobStore({ path: join(dir, 'db', 'blobs') }) })
  await registry.push({ package: 'charts/hello', release: '0.1.0+b1', format: 'helm', blob: chart })
  await registry.push({ package: 'charts/hello', release: '0.2.0', format: 'kpm', blob: chart })
  const oci = (await store.list({ prefix: 'oci/' })).map((e) => e.key)
  await store.commit({ deletes: oci })
  await registry.close()

  const first = await runCli(['oci-backfill', '--store', `level:${join(dir, 'db')}`, '--json'])
  assert.is(first.code, 0, first.stderr)
  assert.equal(JSON.parse(first.stdout), { packages: 1, releases: 2, formats: 2, shown: 0, notOci: 0 })
  const second = await runCli(['oci-backfill', '--store', `level:${join(dir, 'db')}`])
  assert.is(second.code, 0, second.stderr)
  assert.match(second.stdout, 'oci-backfill: 0 releases (0 formats) written')
  assert.match(second.stdout, '2 shown already')
  const stats = JSON.parse((await runCli(['stats', '--store', `level:${join(dir, 'db')}`, '--json'])).stdout) as { ociRepositories: number }
  assert.is(stats.ociRepositories, 1)
})

test('usage: a store is needed, and no arguments', async () => {
  assert.is((await runCli(['oci-backfill'])).code, 2)
  assert.is((await runCli(['oci-backfill', '--registry', 'http://127.0.0.1:1'])).code, 2)
  assert.is((await runCli(['oci-backfill', 'extra', '--store', 'memory'])).code, 2)
  assert.match((await runCli(['oci-backfill', '--help'])).stdout, '--after <package>')
})

test.after(() => rmSync(dir, { recursive: true, force: true }))

test.run()
