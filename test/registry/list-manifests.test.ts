/**
 * `Registry.listManifests`: the manifests of one format in a namespace or everywhere, paged, in
 * key order; each page one range scan, and a change to a manifest seen on the next call.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { tgz } from './helpers.js'

const names = (page: { manifests: { package: string; release: string }[] }) => page.manifests.map((m) => `${m.package}@${m.release}`)

test('one format, one namespace or all, paged with a cursor, and never stale', async () => {
  const registry = new Registry({ store: memoryStore() })
  const blob = await tgz({ 'x/Chart.yaml': 'apiVersion: v2\nname: x\nversion: 1.0.0\n' })
  for (const pkg of ['acme/a', 'acme/b', 'acme-x/c', 'other/d']) {
    await registry.push({ package: pkg, release: '1.0.0', format: 'helm', blob })
    await registry.push({ package: pkg, release: '2.0.0', format: 'helm', blob })
  }
  await registry.push({ package: 'acme/a', release: '3.0.0', format: 'kpm', blob })
  assert.equal(names(await registry.listManifests({ format: 'helm', namespace: 'acme' })), ['acme/a@1.0.0', 'acme/a@2.0.0', 'acme/b@1.0.0', 'acme/b@2.0.0'], 'acme only, not acme-x')
  assert.equal(names(await registry.listManifests({ format: 'kpm' })), ['acme/a@3.0.0'])
  const seen: string[] = []
  let after: string | undefined
  let pages = 0
  do {
    const page = await registry.listManifests({ format: 'helm', limit: 3, ...(after === undefined ? {} : { after }) })
    assert.ok(page.manifests.length <= 3)
    seen.push(...names(page))
    after = page.next
    pages++
  } while (after !== undefined && pages < 10)
  assert.is(seen.length, 8, 'every helm manifest once')
  assert.equal(seen, [...seen].sort(), 'in key order')
  assert.is(pages, 3)
  const before = (await registry.listManifests({ format: 'helm', namespace: 'other' })).manifests[0]!
  await registry.push({ package: 'other/d', release: '1.0.0', format: 'helm', blob: await tgz({ 'x/Chart.yaml': 'apiVersion: v2\nname: x\nversion: 1.0.0\n# again\n' }), force: true })
  const after2 = (await registry.listManifests({ format: 'helm', namespace: 'other' })).manifests[0]!
  assert.is.not(after2.content.digest, before.content.digest, 'a force push shows at once')
  await registry.delete('other/d', '2.0.0', 'helm')
  assert.equal(names(await registry.listManifests({ format: 'helm', namespace: 'other' })), ['other/d@1.0.0'], 'a delete too')
  assert.equal((await registry.listManifests({ format: 'helm', namespace: 'Bad Name!' })).manifests, [], 'an invalid namespace holds nothing')
  assert.equal((await registry.listManifests({ format: '!!' })).manifests, [], 'nor an invalid format')
  await registry.close()
})

test.run()
