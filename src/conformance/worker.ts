// Child-process side of the suite. The parent forks this file, sends
// `{ module, location, job, args }`; we import the adapter author's module, open the store at
// `location` with its `open` export, run the job and report over IPC.
import type { BlobStore } from '../storage/blob.js'
import type { KvStore } from '../storage/kv.js'
import { intValue } from './arbitraries.js'
import { blobContent, crashObjectId, crashObjectSize, pieces } from './properties/blobs.js'
import { casIncrement } from './properties/concurrency.js'
import { crashCommitKeys } from './properties/durability.js'
import type { RegistryOp } from './registry-model.js'

interface Start {
  module: string
  location: string
  job: 'increment' | 'acked-commits' | 'crash-commits' | 'close-exit' | 'second-opener' | 'registry-ops' | 'blob-writes'
  args: Record<string, unknown>
}

type Open = (location: string) => KvStore | Promise<KvStore>
type OpenBlobs = (location: string) => BlobStore | Promise<BlobStore>

const send = (message: Record<string, unknown>) => new Promise<void>((resolve) => process.send!(message, () => resolve()))

async function main(start: Start): Promise<void> {
  const mod = (await import(start.module)) as { open?: Open; openBlobs?: OpenBlobs; default?: { open?: Open; openBlobs?: OpenBlobs } }
  if (start.job === 'blob-writes') {
    const openBlobs = mod.openBlobs ?? mod.default?.openBlobs
    if (typeof openBlobs !== 'function') throw new Error(`${start.module} exports no openBlobs(location) function`)
    const blobs = await openBlobs(start.location)
    await send({ type: 'opened' })
    // Objects of a few chunks, each from a source that pauses between pieces, so the parent's
    // SIGKILL lands inside a write; acknowledged once write() returned.
    const chunkBytes = Number(start.args.chunkBytes)
    const pause = () => new Promise<void>((r) => setImmediate(r))
    for (let i = 0; ; i++) {
      const id = crashObjectId(i, chunkBytes)
      await blobs.write(id, pieces(blobContent(id, crashObjectSize(id)), [Math.max(1, chunkBytes >> 2)], pause))
      await send({ type: 'ack', i })
    }
  }
  const open = mod.open ?? mod.default?.open
  if (typeof open !== 'function') throw new Error(`${start.module} exports no open(location) function`)
  if (start.job === 'second-opener') {
    // Another process holds the store: opening (or the first call, for lazy adapters) must fail.
    const outcome = await (async () => {
      const store = await open(start.location)
      await store.get('probe')
      await store.close()
      return 'ok'
    })().catch((e: unknown) => (e as { code?: string }).code ?? String(e))
    await send({ type: 'outcome', outcome })
    process.disconnect()
    return
  }
  const store = await open(start.location)
  await send({ type: 'opened' })
  if (start.job === 'registry-ops') {
    // Registry operations one by one, each acknowledged after it returned; the parent kills us.
    const { perform, registryOn } = await import('./properties/registry.js')
    const registry = registryOn(store)
    for (const [i, op] of (start.args.ops as RegistryOp[]).entries()) await send({ type: 'ack', i, outcome: await perform(registry, op) })
    await store.close()
    process.disconnect()
  } else if (start.job === 'increment') {
    let acked = 0
    const count = Number(start.args.count)
    for (let i = 0; i < count; i++) if (await casIncrement(store, String(start.args.key), async () => {}, 10_000)) acked++
    await store.close()
    await send({ type: 'done', acked })
    process.disconnect()
  } else if (start.job === 'acked-commits') {
    // Commit i writes two keys; each acknowledgement is sent only after commit() resolved.
    // The parent SIGKILLs us at some point; whatever was acknowledged must survive.
    for (let i = 0; ; i++) {
      const n = String(i).padStart(6, '0')
      const value = intValue(i)
      await store.commit({ puts: [{ key: `ack/${n}/a`, value }, { key: `ack/${n}/b`, value }], deletes: i > 0 ? [`tmp/${i - 1}`] : [] })
      await send({ type: 'ack', i })
    }
  } else if (start.job === 'crash-commits') {
    // Multi-key commits back to back, acknowledged after each returned; the parent kills us at
    // a random moment, usually in the middle of one.
    const maxKeys = Number(start.args.maxKeys)
    for (let i = 0; ; i++) {
      const puts = crashCommitKeys(i, maxKeys).map((key) => ({ key, value: intValue(i) }))
      puts.push({ key: `crash/mark/${String(i).padStart(6, '0')}`, value: intValue(i) })
      await store.commit({ puts, deletes: i > 0 ? [`crash/mark/${String(i - 1).padStart(6, '0')}`] : [] })
      await send({ type: 'ack', i })
    }
  } else {
    // Leaves work in flight, closes, and disconnects: the process must then exit by itself
    // (a handle left open by the adapter would keep it alive).
    const inflight = [store.get('x'), store.list({ prefix: '' }), store.commit({ puts: [{ key: 'x', value: intValue(1) }] })].map((p) =>
      p.then(
        () => 'ok',
        (e: unknown) => (e as { code?: string }).code ?? String(e),
      ),
    )
    await store.close()
    const outcomes = await Promise.all(inflight)
    await send({ type: 'closed', outcomes })
    process.disconnect()
  }
}

process.once('message', (start: Start) => {
  main(start).catch(async (e: unknown) => {
    await send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }).catch(() => {})
    process.exit(1)
  })
})
