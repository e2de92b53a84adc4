/**
 * Registry.stage: a blob validated and stored before its release is known (the HTTP JSON push,
 * whose members come in any order), recorded by its handle's push or dropped by discard.
 */
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { collect, snapshot, tgz } from './helpers.js'

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size)
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (isApprError(e) ? `${e.code}${e.details.reason ? `:${e.details.reason}` : ''}` : String(e)),
  )

test('small and large blobs, as bytes or chunks: staged, then pushed once with the fields given later', async () => {
  const small = await tgz({ 's/Chart.yaml': 'name: s\nversion: 1.0.0\n' })
  const large = await tgz({ 'l/Chart.yaml': 'name: l\nversion: 1.0.0\n', 'l/noise': randomBytes(600 * 1024).toString('base64') })
  for (const [label, blob] of [
    ['small bytes', small],
    ['small chunks', chunked(small, 7)],
    ['large chunks', chunked(large, 64 * 1024)],
  ] as const) {
    const registry = new Registry({ store: memoryStore() })
    const staged = await registry.stage(blob)
    const bytes = label.startsWith('small') ? small : large
    assert.is(staged.size, bytes.byteLength, label)
    const manifest = await staged.push({ package: 'acme/web', release: '1.0.0', format: 'helm', metadata: { label } })
    assert.is(manifest.content.digest, staged.digest)
    const pulled = await registry.pull('acme/web', { release: '1.0.0', format: 'helm' })
    assert.equal(await collect(pulled.stream), bytes, label)
    assert.equal(pulled.manifest.metadata, { label })
    assert.is(await code(staged.push({ package: 'acme/web', release: '2.0.0', format: 'helm' })), 'invalid-usage', label)
    await staged.discard() // after a push: nothing to drop
    assert.is((await registry.pull('acme/web', { release: '1.0.0', format: 'helm' })).manifest.release, '1.0.0')
  }
})

test('discard, a refused push and a refused blob leave nothing behind', async () => {
  const store = memoryStore()
  const registry = new Registry({ store, ownsStore: false })
  const before = await snapshot(store)
  const large = await tgz({ 'l/Chart.yaml': 'name: l\nversion: 1.0.0\n', 'l/noise': randomBytes(600 * 1024).toString('base64') })
  const dropped = await registry.stage(chunked(large, 64 * 1024))
  await dropped.discard()
  await dropped.discard()
  assert.is(await code(dropped.push({ package: 'acme/web', release: '1.0.0' })), 'invalid-usage')
  const refused = await registry.stage(chunked(large, 64 * 1024))
  assert.is(await code(refused.push({ package: 'acme/web', release: 'v1' })), 'invalid-release')
  // A refused push drops the staged blob: it cannot be pushed again.
  assert.is(await code(refused.push({ package: 'acme/web', release: '1.0.0' })), 'invalid-usage')
  assert.is(await code(registry.stage(await tgz({ '../../evil': 'x' }))), 'invalid-usage:path-traversal')
  assert.is(await code(registry.stage(new TextEncoder().encode('plain'))), 'invalid-usage:not-gzip')
  assert.equal(await snapshot(store), before)
  assert.equal(await registry.gc(), { deletedBlobs: 0 })
})

test.run()
