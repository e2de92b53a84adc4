// OCI blobs and upload sessions of the Registry (registry.ociBlobs): monolithic and chunked
// uploads, ranges, verification, dedup across repositories, mount, delete, cancel, races,
// sessions that survive a restart (level) and move between processes' registries (redis), gc.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { levelStore } from 'appr-core/adapters/level'
import { memoryStore } from 'appr-core/adapters/memory'
import { redisStore } from 'appr-core/adapters/redis'
import { isOciError, ociDigestOf } from 'appr-core/oci'
import { startRedis } from '../helpers/servers.js'
import { keysOf, rejectsOci } from '../oci/helpers.js'
import { collect } from './helpers.js'

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed) & 0xff)
async function* chunks(...parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* parts
}

test('monolithic upload: start, then finish with the whole body; the digest is verified', async () => {
  const registry = new Registry({ store: memoryStore() })
  const data = bytes(5000, 1)
  const session = await registry.ociBlobs.startUpload('acme/app')
  assert.equal(session, { id: session.id, repository: 'acme/app', size: 0 })
  assert.equal(await registry.ociBlobs.finishUpload('acme/app', session.id, ociDigestOf(data), chunks(data)), { digest: ociDigestOf(data), size: 5000 })
  assert.equal(await registry.ociBlobs.head('acme/app', ociDigestOf(data)), { digest: ociDigestOf(data), size: 5000 })
  assert.equal(await collect((await registry.ociBlobs.get('acme/app', ociDigestOf(data)))!.stream), data)
  await rejectsOci(registry.ociBlobs.uploadStatus('acme/app', session.id), 'BLOB_UPLOAD_UNKNOWN', 404)

  const wrong = await registry.ociBlobs.startUpload('acme/app')
  await rejectsOci(registry.ociBlobs.finishUpload('acme/app', wrong.id, ociDigestOf('other'), chunks(data.subarray(0, 10))), 'DIGEST_INVALID', 400)
  await rejectsOci(registry.ociBlobs.uploadStatus('acme/app', wrong.id), 'BLOB_UPLOAD_UNKNOWN')
  await rejectsOci(registry.ociBlobs.finishUpload('acme/app', (await registry.ociBlobs.startUpload('acme/app')).id, 'sha256:nope'), 'DIGEST_INVALID')
})

test('chunked upload: PATCHes with and without a range, status, PUT without a body; ranges that do not continue are RANGE_INVALID', async () => {
  const store = memoryStore()
  const registry = new Registry({ store })
  const data = bytes(10_000, 2)
  const { id } = await registry.ociBlobs.startUpload('acme/app')
  assert.is((await registry.ociBlobs.appendUpload('acme/app', id, chunks(data.subarray(0, 3000)), { start: 0, end: 2999 })).size, 3000)
  await rejectsOci(registry.ociBlobs.appendUpload('acme/app', id, chunks(data.subarray(3000, 4000)), { start: 2000 }), 'RANGE_INVALID', 416)
  await rejectsOci(registry.ociBlobs.appendUpload('acme/app', id, chunks(data.subarray(3000, 4000)), { start: 3000, end: 3500 }), 'RANGE_INVALID', 416)
  assert.is((await registry.ociBlobs.uploadStatus('acme/app', id)).size, 3000)
  assert.is((await registry.ociBlobs.appendUpload('acme/app', id, chunks(data.subarray(3000, 7000)))).size, 7000)
  assert.is((await registry.ociBlobs.appendUpload('acme/app', id, chunks())).size, 7000, 'an empty chunk changes nothing')
  assert.is((await registry.ociBlobs.appendUpload('acme/app', id, chunks(data.subarray(7000)), { start: 7000 })).size, 10_000)
  await rejectsOci(registry.ociBlobs.uploadStatus('other/repo', id), 'BLOB_UPLOAD_UNKNOWN')
  assert.equal(await registry.ociBlobs.finishUpload('acme/app', id, ociDigestOf(data)), { digest: ociDigestOf(data), size: 10_000 })
  assert.equal(await collect((await registry.ociBlobs.get('acme/app', ociDigestOf(data)))!.stream), data)
  // The chunks were concatenated into one object; nothing else is left behind.
  const keys = await keysOf(store)
  assert.is(keys.filter((k) => k.startsWith('obj/')).length, 1, keys.join('\n'))
  assert.is(keys.filter((k) => k.startsWith('oci/upload/')).length, 0)

  const empty = await registry.ociBlobs.startUpload('acme/app')
  assert.equal(await registry.ociBlobs.finishUpload('acme/app', empty.id, ociDigestOf(new Uint8Array(0))), { digest: ociDigestOf(new Uint8Array(0)), size: 0 })
  assert.equal(await collect((await registry.ociBlobs.get('acme/app', ociDigestOf(new Uint8Array(0))))!.stream), new Uint8Array(0))
})

test('byte ranges of a blob, and ranges outside it', async () => {
  const registry = new Registry({ store: memoryStore() })
  const data = bytes(3000, 3)
  const { id } = await registry.ociBlobs.startUpload('acme/app')
  await registry.ociBlobs.appendUpload('acme/app', id, chunks(data.subarray(0, 1000), data.subarray(1000)))
  await registry.ociBlobs.finishUpload('acme/app', id, ociDigestOf(data))
  const digest = ociDigestOf(data)
  for (const [start, end] of [[0, 0], [10, 19], [999, 1001], [2990, 2999], [2990, 5000]] as const) {
    const read = await registry.ociBlobs.get('acme/app', digest, { start, end })
    const last = Math.min(end, 2999)
    assert.equal(read?.range, { start, end: last })
    assert.equal(await collect(read!.stream), data.subarray(start, last + 1), `${start}-${end}`)
  }
  assert.equal(await collect((await registry.ociBlobs.get('acme/app', digest, { start: 2500 }))!.stream), data.subarray(2500))
  await rejectsOci(registry.ociBlobs.get('acme/app', digest, { start: 3000 }), 'RANGE_INVALID', 416)
  await rejectsOci(registry.ociBlobs.get('acme/app', digest, { start: 10, end: 5 }), 'RANGE_INVALID')
})

test('one blob in two repositories is stored once; mount links it; delete unlinks, the last link takes the bytes', async () => {
  const store = memoryStore()
  const registry = new Registry({ store })
  const data = bytes(2000, 4)
  const digest = ociDigestOf(data)
  for (const repo of ['acme/a', 'acme/b']) {
    const { id } = await registry.ociBlobs.startUpload(repo)
    await registry.ociBlobs.finishUpload(repo, id, digest, chunks(data))
  }
  const objects = async () => (await keysOf(store)).filter((k) => k.startsWith('obj/'))
  assert.is((await objects()).length, 1, 'deduplicated')
  assert.is(await registry.ociBlobs.head('acme/c', digest), undefined, 'not linked to acme/c')
  assert.is(await registry.ociBlobs.mount('acme/c', digest, 'acme/nowhere'), false)
  assert.is(await registry.ociBlobs.mount('acme/c', ociDigestOf('unknown'), 'acme/a'), false)
  assert.is(await registry.ociBlobs.mount('acme/c', digest, 'acme/a'), true)
  assert.is(await registry.ociBlobs.mount('acme/c', digest, 'acme/a'), true, 'mounting twice is harmless')
  assert.equal(await collect((await registry.ociBlobs.get('acme/c', digest))!.stream), data)
  for (const repo of ['acme/a', 'acme/c']) assert.is(await registry.ociBlobs.delete(repo, digest), true)
  assert.is(await registry.ociBlobs.delete('acme/a', digest), false)
  assert.is(await registry.ociBlobs.get('acme/a', digest), undefined)
  assert.equal(await collect((await registry.ociBlobs.get('acme/b', digest))!.stream), data)
  assert.is(await registry.ociBlobs.delete('acme/b', digest), true)
  assert.equal(await keysOf(store), [], 'the last unlink removes the record, the marker and the bytes')
})

test('cancel deletes what a session received; bad names, ids and digests are spec errors', async () => {
  const store = memoryStore()
  const registry = new Registry({ store })
  const { id } = await registry.ociBlobs.startUpload('acme/app')
  await registry.ociBlobs.appendUpload('acme/app', id, chunks(bytes(100, 5)))
  await registry.ociBlobs.cancelUpload('acme/app', id)
  await rejectsOci(registry.ociBlobs.cancelUpload('acme/app', id), 'BLOB_UPLOAD_UNKNOWN')
  assert.equal(await keysOf(store), [])
  await rejectsOci(registry.ociBlobs.startUpload('Acme/App'), 'NAME_INVALID', 400)
  await rejectsOci(registry.ociBlobs.uploadStatus('acme/app', 'not-a-uuid'), 'BLOB_UPLOAD_UNKNOWN')
  await rejectsOci(registry.ociBlobs.uploadStatus('acme/app', '../../pkg/x'), 'BLOB_UPLOAD_UNKNOWN')
  await rejectsOci(registry.ociBlobs.head('acme/app', 'sha512:abc'), 'DIGEST_INVALID')
})

test('two appends racing at one offset: one wins, the other is RANGE_INVALID and leaves nothing', async () => {
  const store = memoryStore()
  const registry = new Registry({ store })
  const { id } = await registry.ociBlobs.startUpload('acme/app')
  const [a, b] = [bytes(500, 6), bytes(500, 7)]
  const results = await Promise.allSettled([
    registry.ociBlobs.appendUpload('acme/app', id, chunks(a), { start: 0 }),
    registry.ociBlobs.appendUpload('acme/app', id, chunks(b), { start: 0 }),
  ])
  const won = results.filter((r) => r.status === 'fulfilled')
  assert.is(won.length, 1)
  const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
  assert.ok(isOciError(lost.reason, 'RANGE_INVALID'), String(lost.reason))
  assert.is((await registry.ociBlobs.uploadStatus('acme/app', id)).size, 500)
  const winner = results[0]!.status === 'fulfilled' ? a : b
  await registry.ociBlobs.finishUpload('acme/app', id, ociDigestOf(winner))
  assert.equal(await collect((await registry.ociBlobs.get('acme/app', ociDigestOf(winner)))!.stream), winner)
  assert.is((await keysOf(store)).filter((k) => k.startsWith('obj/')).length, 1)
})

test('gc ends sessions older than the upload timeout and reclaims their chunks', async () => {
  const store = memoryStore()
  let now = Date.parse('2026-01-01T00:00:00Z')
  const registry = new Registry({ store, clock: () => new Date(now), uploadTimeoutMs: 60_000 })
  const young = await registry.ociBlobs.startUpload('acme/app')
  await registry.ociBlobs.appendUpload('acme/app', young.id, chunks(bytes(100, 8)))
  await registry.gc()
  assert.is((await registry.ociBlobs.uploadStatus('acme/app', young.id)).size, 100, 'a young session stays')
  now += 61_000
  await registry.gc()
  await rejectsOci(registry.ociBlobs.uploadStatus('acme/app', young.id), 'BLOB_UPLOAD_UNKNOWN')
  assert.equal(await keysOf(store), [])
})

test('uploading or mounting a blob again restarts its grace period: gc does not unlink it before the manifest PUT can come', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const registry = new Registry({ store: memoryStore(), clock: () => new Date(now), ociGraceMs: 60_000 })
  const data = bytes(300, 7)
  const upload = async (repo: string) => {
    const { id } = await registry.ociBlobs.startUpload(repo)
    await registry.ociBlobs.finishUpload(repo, id, ociDigestOf(data), chunks(data))
  }
  await upload('acme/app')
  await upload('acme/web')
  now += 59_000 // both links free for almost the grace period
  await upload('acme/app') // a client pushes the blob again, its manifest PUT still to come
  assert.ok(await registry.ociBlobs.mount('acme/web', ociDigestOf(data), 'acme/app'), 'mounted onto its own free link')
  now += 2_000
  await registry.gc()
  assert.ok(await registry.ociBlobs.head('acme/app', ociDigestOf(data)), 'the blob uploaded again is still linked')
  assert.ok(await registry.ociBlobs.head('acme/web', ociDigestOf(data)), 'the blob mounted again is still linked')
  now += 60_000
  await registry.gc()
  assert.is(await registry.ociBlobs.head('acme/app', ociDigestOf(data)), undefined, 'a whole grace period later gc unlinks it')
  assert.is(await registry.ociBlobs.head('acme/web', ociDigestOf(data)), undefined)
})

test('a session survives a restart (level) and a later request continues it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appr-oci-level-'))
  try {
    const data = bytes(4000, 9)
    const first = new Registry({ store: levelStore({ path: join(dir, 'kv') }) })
    const { id } = await first.ociBlobs.startUpload('acme/app')
    await first.ociBlobs.appendUpload('acme/app', id, chunks(data.subarray(0, 1500)), { start: 0 })
    await first.close()
    const second = new Registry({ store: levelStore({ path: join(dir, 'kv') }) })
    assert.is((await second.ociBlobs.uploadStatus('acme/app', id)).size, 1500)
    await second.ociBlobs.finishUpload('acme/app', id, ociDigestOf(data), chunks(data.subarray(1500)))
    assert.equal(await collect((await second.ociBlobs.get('acme/app', ociDigestOf(data)))!.stream), data)
    await second.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('consecutive requests of one session on different registries of one Redis (as different serve processes)', async () => {
  const redis = await startRedis({ suite: 'oci upload sessions on redis' })
  if (!redis) return
  const prefix = `oci-${process.pid}`
  const registries = [0, 1, 2].map(() => new Registry({ store: redisStore({ url: redis.url, prefix }) }))
  try {
    const data = bytes(9000, 10)
    const { id } = await registries[0]!.ociBlobs.startUpload('acme/app')
    await registries[1]!.ociBlobs.appendUpload('acme/app', id, chunks(data.subarray(0, 3000)), { start: 0, end: 2999 })
    await registries[2]!.ociBlobs.appendUpload('acme/app', id, chunks(data.subarray(3000, 6000)), { start: 3000 })
    assert.is((await registries[0]!.ociBlobs.uploadStatus('acme/app', id)).size, 6000)
    await registries[1]!.ociBlobs.finishUpload('acme/app', id, ociDigestOf(data), chunks(data.subarray(6000)))
    assert.equal(await collect((await registries[2]!.ociBlobs.get('acme/app', ociDigestOf(data)))!.stream), data)
    assert.is(await registries[0]!.ociBlobs.mount('acme/other', ociDigestOf(data), 'acme/app'), true)
  } finally {
    for (const r of registries) await r.close()
    await redis.stop()
  }
})

test.run()
