/**
 * gc: deleting blob objects no record points at (abandoned uploads, and bytes a crash separated
 * from their records). Safe while the registry is in use.
 * @module
 */
import { listAll } from '../storage/util.js'
import type { RegistryContext } from './context.js'
import { ociGraph } from './oci-graph.js'
import { OciLinkRecordType, OciManifestRecordType, OciUploadRecordType, ociKeys } from './oci-records.js'
import { deleteObjects } from './push.js'
import { decode, encode, keys, ObjectRecordType } from './records.js'
import { transact } from './transaction.js'
import type { GcResult } from './types.js'

/** `<repository>@<hex>` of an `oci/manifest/` or `oci/link/` key. */
function repoAndHex(key: string, prefix: string): [string, string] {
  const rest = key.slice(prefix.length)
  const at = rest.lastIndexOf('@')
  return [rest.slice(0, at), rest.slice(at + 1)]
}

/** Free past the grace period: `free_at` is set while nothing names the manifest or blob. */
function expired(ctx: RegistryContext, freeAt: string | undefined, now: number): boolean {
  if (freeAt === undefined) return false
  const since = Date.parse(freeAt)
  return Number.isFinite(since) && now - since >= ctx.ociGraceMs
}

/**
 * OCI content nothing has named for the grace period: manifests without tags or indexes, then
 * blobs no manifest names (each in a commit that checks it is still free). A manifest freed by
 * this run (an index's child) waits for its own grace period.
 */
async function collectOci(ctx: RegistryContext, now: number): Promise<{ manifests: number; objects: number }> {
  let deleted = 0
  let objects = 0
  for await (const entry of listAll(ctx.store, ociKeys.manifests, 200)) {
    const [repo, hex] = repoAndHex(entry.key, ociKeys.manifests)
    if (!expired(ctx, decode(OciManifestRecordType, entry.value, { name: repo }).free_at, now)) continue
    const gone = await transact(ctx, { name: repo }, async (tx) => {
      const graph = ociGraph(ctx, tx)
      const record = await graph.manifest(repo, hex)
      return record !== undefined && expired(ctx, record.free_at, now) && graph.deleteManifest(repo, hex)
    })
    if (gone) deleted++
  }
  for await (const entry of listAll(ctx.store, ociKeys.links, 200)) {
    const [repo, hex] = repoAndHex(entry.key, ociKeys.links)
    if (!expired(ctx, decode(OciLinkRecordType, entry.value, { name: repo }).free_at, now)) continue
    const doomed = await transact(ctx, { name: repo }, async (tx) => {
      const graph = ociGraph(ctx, tx)
      const link = await graph.read(OciLinkRecordType, ociKeys.link(repo, hex))
      if (link && expired(ctx, link.free_at, now)) await graph.unlink(repo, hex)
      return graph.doomed
    })
    await deleteObjects(ctx, doomed)
    objects += doomed.length
  }
  return { manifests: deleted, objects }
}

export async function gc(ctx: RegistryContext): Promise<GcResult> {
  const now = ctx.clock().getTime()
  const oci = await collectOci(ctx, now)
  const deletedManifests = oci.manifests
  let deletedBlobs = oci.objects
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
  return deletedManifests > 0 ? { deletedBlobs, deletedManifests } : { deletedBlobs }
}
