/**
 * gc: deleting blob objects no record points at (abandoned uploads, and bytes a crash separated
 * from their records). Safe while the registry is in use.
 * @module
 */
import { listAll } from '../storage/util.js'
import type { RegistryContext } from './context.js'
import { OciUploadRecordType, ociKeys } from './oci-records.js'
import { decode, encode, keys, ObjectRecordType } from './records.js'
import type { GcResult } from './types.js'

export async function gc(ctx: RegistryContext): Promise<GcResult> {
  let deletedBlobs = 0
  const now = ctx.clock().getTime()
  // OCI upload sessions expire with the upload timeout; their chunks' markers are as old, so the
  // object sweep below reclaims the bytes.
  for await (const entry of listAll(ctx.store, ociKeys.uploads, 200)) {
    const record = decode(OciUploadRecordType, entry.value, { upload: entry.key.slice(ociKeys.uploads.length) })
    const started = Date.parse(record.started_at)
    if (Number.isFinite(started) && now - started < ctx.uploadTimeoutMs) continue
    await ctx.store.commit({ checks: [{ key: entry.key, version: entry.version }], deletes: [entry.key] })
  }
  for await (const entry of listAll(ctx.store, keys.objects, 200)) {
    const id = entry.key.slice(keys.objects.length)
    const record = decode(ObjectRecordType, entry.value, { object: id })
    if (record.state === 'live') continue
    if (record.state === 'uploading') {
      const started = Date.parse(record.started_at)
      if (Number.isFinite(started) && now - started < ctx.uploadTimeoutMs) continue
      // Doom it first: the push commit checks this key, so a slow writer now fails instead of recording deleted bytes.
      const doomed = await ctx.store.commit({ checks: [{ key: entry.key, version: entry.version }], puts: [{ key: entry.key, value: encode({ state: 'doomed' }) }] })
      if (!doomed.ok) continue
    }
    await ctx.blobs.delete(id)
    await ctx.store.commit({ deletes: [entry.key] })
    deletedBlobs++
  }
  let batch: string[] = []
  const sweep = async () => {
    const markers = await ctx.store.getMany(batch.map((id) => keys.obj(id)))
    for (let i = 0; i < batch.length; i++) {
      // An object without a marker was never recorded (its marker is written before its first byte) or lost its record.
      if (markers[i] === undefined) {
        await ctx.blobs.delete(batch[i]!)
        deletedBlobs++
      }
    }
    batch = []
  }
  for await (const id of ctx.blobs.ids()) {
    batch.push(id)
    if (batch.length === 100) await sweep()
  }
  if (batch.length > 0) await sweep()
  return { deletedBlobs }
}
