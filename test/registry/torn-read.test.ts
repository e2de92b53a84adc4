/**
 * A mutation that reads in two round trips can see another writer's commit in between (a
 * manifest from before it, a blob record from after it). Such an attempt must re-run, not fail:
 * found by the conformance suite's registry/interleavings property on level.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry, type KvStore } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { collect, tgz } from './helpers.js'

test('a force push whose old blob disappears between its reads retries and succeeds', async () => {
  const store = memoryStore()
  let interleave: (() => Promise<void>) | undefined
  // The first registry's reads go through a store that lets the second registry commit just
  // before a read of a blob record, i.e. between the manifest read and the blob read.
  const racy: KvStore = {
    ...store,
    name: 'racy-memory',
    async getMany(keys) {
      if (interleave && keys.some((k) => k.startsWith('blob/')) && !keys.some((k) => k.startsWith('man/'))) {
        const run = interleave
        interleave = undefined
        await run()
      }
      return store.getMany(keys)
    },
  }
  const a = new Registry({ store: racy, ownsStore: false })
  const b = new Registry({ store, ownsStore: false })
  const x = await tgz({ 'app/Chart.yaml': 'version: x\n' })
  const y = await tgz({ 'app/Chart.yaml': 'version: y\n' })
  const z = await tgz({ 'app/Chart.yaml': 'version: z\n' })
  await b.push({ package: 'acme/app', release: '1.0.0', format: 'helm', blob: x })
  interleave = async () => {
    await b.push({ package: 'acme/app', release: '1.0.0', format: 'helm', blob: z, force: true })
  }
  const pushed = await a.push({ package: 'acme/app', release: '1.0.0', format: 'helm', blob: y, force: true })
  assert.is(interleave, undefined, 'the other writer ran between the reads')
  const pulled = await b.pull('acme/app', { release: '1.0.0', format: 'helm' })
  assert.is(pulled.digest, pushed.content.digest)
  assert.equal(await collect(pulled.stream), y)
  // Only y's blob is left: x and z lost their last reference.
  const blobs = await store.list({ prefix: 'blob/' })
  assert.equal(blobs.map((e) => e.key), [`blob/${pushed.content.digest}`])
})

test.run()
