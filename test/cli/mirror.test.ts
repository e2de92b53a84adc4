/** `appr-core mirror SRC DST` in-process, against real servers and a real LevelDB destination. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { fileBlobStore, levelStore } from 'appr-core/adapters/level'
import { memoryStore } from 'appr-core/adapters/memory'
import type { MirrorReport } from 'appr-core/trust'
import { start } from '../http/helpers.js'
import { flip, sortedBackup, sourceRegistry, tamperingProxy } from '../trust/helpers.js'
import { cli } from './client-helpers.js'

const source = await sourceRegistry()
const proxy = await tamperingProxy(source.url)
const base = await mkdtemp(join(tmpdir(), 'appr-mirror-cli-'))
test.after(async () => {
  await proxy.close()
  await source.close()
  await rm(base, { recursive: true, force: true })
})

const openLevel = (dir: string) => new Registry({ store: levelStore({ path: join(dir, 'kv') }), blobs: fileBlobStore({ path: join(dir, 'blobs') }) })

test('into a level store: exit 0 and a JSON report; the store then backs up equal to the source; a re-run copies nothing', async () => {
  const dir = join(base, 'one')
  const first = await cli('mirror', source.url, `level:${dir}`, '--json')
  assert.is(first.code, 0, first.err)
  const report = JSON.parse(first.out) as MirrorReport
  assert.ok(report.ok)
  assert.equal(report.releases, { copied: 6, skipped: 0, failed: 0 })
  const second = await cli('mirror', `${source.url}/cnr`, `level:${dir}`, '--json', '--concurrency', '2')
  assert.is(second.code, 0, second.err)
  assert.equal((JSON.parse(second.out) as MirrorReport).releases, { copied: 0, skipped: 6, failed: 0 })
  const registry = openLevel(dir)
  try {
    assert.equal(await sortedBackup(registry), await sortedBackup(source.registry))
  } finally {
    await registry.close()
  }
})

test('a tampered blob: exit 1, the failure named on stdout, the release absent from the destination server', async () => {
  const target = new Registry({ store: memoryStore() })
  const server = await start(target)
  const victim = await source.registry.show('acme/alpha', { release: '1.0.0', format: 'helm' })
  proxy.tamper = ({ path, body }) => (path.endsWith(victim.content.digest) ? flip(body, 40) : undefined)
  try {
    const result = await cli('mirror', proxy.url, server.url, '-p', 'acme/*')
    assert.is(result.code, 1)
    assert.match(result.out, /^2 packages in [\d.]+ s: releases 4 copied, 0 skipped, 1 failed; channels 2 copied, 0 skipped, 1 failed/)
    assert.match(result.out, /failed acme\/alpha@1\.0\.0 \(helm\): (invalid-blob|blob-digest-mismatch): /)
    assert.match(result.out, /failed acme\/alpha:stable: channel-incomplete/)
    assert.is((await target.manifests('acme/alpha', '1.0.0').catch(() => [])).length, 0)
    assert.is((await target.list()).packages.length, 2)
  } finally {
    proxy.tamper = undefined
    await server.close()
    await target.close()
  }
})

test('usage errors exit 2', async () => {
  assert.is((await cli('mirror', source.url)).code, 2)
  assert.is((await cli('mirror', 'level:./x', source.url)).code, 2)
  assert.is((await cli('mirror', source.url, 'memory', '--concurrency', '0')).code, 2)
  const unknownStore = await cli('mirror', source.url, 'mongo://x')
  assert.is(unknownStore.code, 1)
  assert.match(unknownStore.err, /invalid-parameters: unknown store/)
})

test.run()
