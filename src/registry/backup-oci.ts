/**
 * OCI content in streamed backups (format version 2): what restoring the appr records does not
 * bring back. After every package's appr records, each OCI repository (`oci/repo/` order) gives
 *
 * - its manifests, every one with its exact bytes and media type: first those that name no
 *   manifest (images, artifacts, charts), each preceded by the `oci-blob` records of the blobs it
 *   names not yet in the backup for this repository; then the indexes, each after the manifests
 *   it names. Manifests of the appr view that restoring the release records makes again are
 *   left out: the projections appr-core made (`projected`; the same bytes, as restore keeps
 *   `created_at`) and the releases' indexes, with the blobs only they name. The view of a release
 *   a client pushed through `/v2/` is the client's bytes: it is carried (`appr`), and the restore
 *   puts it back in place of the projection the restored release got;
 * - its client tags (`oci-tag`); tags of releases and channels come back with them.
 *
 * An `oci-blob` record carries the blob's bytes in `oci-chunk` records that follow it (1 MiB
 * each, base64), unless its bytes are an appr blob's (`from: "appr"`: the release records bring
 * them back, and the blob shares that object as it does here) or were carried earlier in this
 * backup for another repository (`from: "earlier"`). Blobs nothing names (an upload no manifest
 * used yet) are not carried. Memory stays flat in the bytes; it grows only by a digest per blob or
 * manifest of the repository being read and per blob shared between repositories.
 *
 * Restoring goes through the upload operations (bytes streamed, the digest verified) and the
 * {@link OciGraph} (links, counts, `free_at`, repository records as a push writes them), one commit
 * per record; what is stored already is skipped, so a restore run again changes nothing.
 * @module
 */
import { z } from 'zod'
import { ApprError } from '../errors/index.js'
import { parsePackageName } from '../model/package-name.js'
import { ociDigestOf, parseOciDigest } from '../oci/digest.js'
import { projectIndex } from '../oci/projection.js'
import { isRepositoryName, isTag } from '../oci/reference.js'
import { type ParsedManifest, parseManifest } from '../oci/schemas.js'
import { listAll } from '../storage/util.js'
import { blobChunks, decodeBase64 } from './blob-input.js'
import type { RegistryContext } from './context.js'
import { recordRepositoryEvent } from './events/record.js'
import { cancelUpload, finishUpload, startUpload } from './oci-blobs.js'
import { type OciGraph, ociGraph, referencesOf } from './oci-graph.js'
import { givenFormat, showFormat } from './oci-projection.js'
import { OciBlobRecordType, type OciManifestRecord, OciManifestRecordType, OciReleaseRecordType, OciTagRecordType, ociKeys } from './oci-records.js'
import { decodePackage } from './packages.js'
import { deleteObjects } from './push.js'
import { BlobRecordType, decode, keys, own } from './records.js'
import { transact } from './transaction.js'
import type { BackupRecord, OciManifestBackupRecord } from './types.js'

const count = z.number().int().min(0)
const Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/)
const Repository = z.string().max(255)
export const OciBlobSchema = z.object({
  kind: z.literal('oci-blob'),
  repository: Repository,
  digest: Digest,
  size: count,
  from: z.enum(['appr', 'earlier']).optional(),
  appr: z.string().max(200).optional(),
})
export const OciChunkSchema = z.object({ kind: z.literal('oci-chunk'), data: z.string() })
export const OciManifestSchema = z.object({
  kind: z.literal('oci-manifest'),
  repository: Repository,
  digest: Digest,
  mediaType: z.string().max(256),
  bytes: z.string(),
  appr: z.object({ release: z.string().max(256), format: z.string().max(128).optional(), projected: z.literal(true).optional() }).optional(),
})
export const OciTagSchema = z.object({ kind: z.literal('oci-tag'), repository: Repository, tag: z.string().max(128), digest: Digest })
type OciBlobRecordIn = z.output<typeof OciBlobSchema>

/** Raw bytes per `oci-chunk` record. */
export const OCI_CHUNK_BYTES = 1024 * 1024

/** What the OCI part of a backup held, for its `end` record. */
export interface OciBackupCounts {
  repositories: number
  manifests: number
  tags: number
  blobs: number
}

/** The OCI records of every repository (see the module comment), counting them into `counts`. */
export async function* ociBackupRecords(ctx: RegistryContext, counts: OciBackupCounts): AsyncGenerator<BackupRecord> {
  // Blobs linked to several repositories whose bytes went out already.
  const shared = new Set<string>()
  for await (const entry of listAll(ctx.store, ociKeys.repos, 100)) {
    const repo = entry.key.slice(ociKeys.repos.length)
    const manifests = new Set<string>()
    const blobs = new Set<string>()
    const prefix = ociKeys.manifest(repo, '')
    // Pass 0: manifests naming no manifest. Then indexes whose manifests are all out; a pass that
    // moves nothing (an index naming one pushed since) lets the rest through.
    let stuck = false
    for (let pass = 0; ; pass++) {
      let waiting = 0
      let moved = false
      for await (const m of listAll(ctx.store, prefix, 100)) {
        const hex = m.key.slice(prefix.length)
        if (manifests.has(hex)) continue
        const record = decode(OciManifestRecordType, m.value, { name: repo })
        if (await regenerated(ctx, repo, hex, record)) {
          manifests.add(hex)
          moved = true
          continue
        }
        const bytes = Buffer.from(record.bytes, 'base64')
        const refs = referencesOf(parseManifest(bytes, record.mediaType))
        if (refs.children.length > 0 && !stuck) {
          const pending = refs.children.filter((c) => !manifests.has(c))
          const present = pass === 0 ? pending : (await ctx.store.getMany(pending.map((c) => ociKeys.manifest(repo, c)))).filter((e) => e !== undefined)
          if (present.length > 0) {
            waiting++
            continue
          }
        }
        manifests.add(hex)
        moved = true
        for (const b of refs.blobs) {
          if (blobs.has(b)) continue
          blobs.add(b)
          for await (const r of blobRecords(ctx, repo, b, shared)) {
            if (r.kind === 'oci-blob') counts.blobs++
            yield r
          }
        }
        counts.manifests++
        yield { kind: 'oci-manifest', repository: repo, digest: `sha256:${hex}`, mediaType: record.mediaType, bytes: record.bytes, ...(record.appr && { appr: apprOf(record.appr) }) }
      }
      if (waiting === 0) break
      stuck = pass > 0 && !moved
    }
    const tags = ociKeys.tags(repo)
    for await (const t of listAll(ctx.store, tags, 500)) {
      const tag = t.key.slice(tags.length)
      const record = decode(OciTagRecordType, t.value, { name: repo, tag })
      // Tags of releases and channels come back with them; a tag pushed since its manifests were read is not part of this backup.
      if (record.appr !== undefined || !manifests.has(parseOciDigest(record.digest))) continue
      counts.tags++
      yield { kind: 'oci-tag', repository: repo, tag, digest: record.digest }
    }
    counts.repositories++
  }
}

function apprOf(appr: NonNullable<OciManifestRecord['appr']>): NonNullable<OciManifestBackupRecord['appr']> {
  return { release: appr.release, ...(appr.format !== undefined && { format: appr.format }), ...(appr.projected && { projected: true }) }
}

/**
 * Whether restoring the release records makes this manifest again: a format's view appr-core
 * projected, or a release's index, while the release still shows it.
 */
async function regenerated(ctx: RegistryContext, repo: string, hex: string, record: OciManifestRecord): Promise<boolean> {
  const appr = record.appr
  if (appr === undefined || (appr.format !== undefined && !appr.projected)) return false
  const entry = await ctx.store.get(ociKeys.release(repo, appr.release))
  const formats = entry && decode(OciReleaseRecordType, entry.value, { name: repo, release: appr.release }).formats
  if (!formats) return false
  if (appr.format !== undefined) return own(formats, appr.format)?.digest === `sha256:${hex}`
  const names = Object.keys(formats)
  return names.length > 1 && projectIndex(names.map((format) => ({ format, ...formats[format]! }))).digest === `sha256:${hex}`
}

/** The `oci-blob` record of a blob of `repo` and its chunks; nothing when the repository lost it. */
async function* blobRecords(ctx: RegistryContext, repo: string, hex: string, shared: Set<string>): AsyncGenerator<BackupRecord> {
  const [link, entry] = await ctx.store.getMany([ociKeys.link(repo, hex), ociKeys.blob(hex)])
  // A blob a client deleted under a manifest naming it: the manifest is restored without it, as it is here.
  if (!link || !entry) return
  const blob = decode(OciBlobRecordType, entry.value, { name: repo, digest: hex })
  const base = { kind: 'oci-blob', repository: repo, digest: `sha256:${hex}`, size: blob.size } as const
  if (blob.appr !== undefined && blob.object !== undefined) {
    const apprEntry = await ctx.store.get(keys.blob(blob.appr))
    if (apprEntry && decode(BlobRecordType, apprEntry.value, { digest: blob.appr }).object === blob.object) {
      yield { ...base, from: 'appr', appr: blob.appr }
      return
    }
  }
  if (shared.has(hex)) {
    yield { ...base, from: 'earlier' }
    return
  }
  const stream = blob.object === undefined ? blobChunks(Buffer.from(blob.inline ?? '', 'base64')) : await ctx.blobs.read(blob.object)
  if (!stream) return
  if (blob.refs > 1) shared.add(hex)
  yield base
  let size = 0
  for await (const piece of pieces(stream, OCI_CHUNK_BYTES)) {
    size += piece.byteLength
    yield { kind: 'oci-chunk', data: piece.toString('base64') }
  }
  if (size !== blob.size) throw new ApprError('internal-error', `OCI blob sha256:${hex} has ${size} bytes, its record says ${blob.size}`, { details: { repository: repo, digest: `sha256:${hex}` } })
}

/** `stream` cut into pieces of `size` bytes (the last one shorter). */
async function* pieces(stream: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let pending: Uint8Array[] = []
  let filled = 0
  for await (let chunk of stream) {
    while (chunk.byteLength > 0) {
      const take = Math.min(size - filled, chunk.byteLength)
      pending.push(chunk.subarray(0, take))
      filled += take
      chunk = chunk.subarray(take)
      if (filled === size) {
        yield Buffer.concat(pending)
        pending = []
        filled = 0
      }
    }
  }
  if (filled > 0) yield Buffer.concat(pending)
}

function invalidRecord(message: string, details: Record<string, unknown>): ApprError {
  return new ApprError('invalid-parameters', message, { details })
}

function checkedRepository(repository: string, details: Record<string, unknown>): string {
  if (!isRepositoryName(repository)) throw invalidRecord(`${String(repository).slice(0, 300)} is not an OCI repository name`, details)
  return repository
}

/** What restoring an `oci-blob` record does: nothing (linked already), link a stored blob, or store the bytes that follow. */
export async function blobPlan(ctx: RegistryContext, record: OciBlobRecordIn, details: Record<string, unknown>): Promise<'present' | 'link' | 'upload'> {
  const repo = checkedRepository(record.repository, details)
  const hex = parseOciDigest(record.digest)
  const [link, blob] = await ctx.store.getMany([ociKeys.link(repo, hex), ociKeys.blob(hex)])
  if (link && blob) return 'present'
  return blob || record.from !== undefined ? 'link' : 'upload'
}

/**
 * Links a blob stored already (for another repository, or as the appr blob the record names) to
 * the record's repository.
 * @throws invalid-parameters when it is not stored (the backup's bytes were skipped or cut)
 */
export async function linkBlob(ctx: RegistryContext, record: OciBlobRecordIn, details: Record<string, unknown>): Promise<void> {
  const hex = parseOciDigest(record.digest)
  await transact(ctx, details, async (tx) => {
    const graph = ociGraph(ctx, tx)
    const apprEntry = record.appr === undefined ? undefined : await tx.get(keys.blob(record.appr))
    const appr = apprEntry && decode(BlobRecordType, apprEntry.value, details)
    const create = appr?.ociDigest === record.digest ? () => ({ size: appr.size, object: appr.object, appr: appr.digest }) : undefined
    if (!(await graph.link(record.repository, hex, create))) {
      const where = record.from === 'appr' ? `appr blob ${record.appr ?? ''}, which no restored release has` : 'bytes carried earlier in the backup, which are not stored'
      throw invalidRecord(`OCI blob ${record.digest} of ${record.repository} is the ${where}: restore the whole backup`, details)
    }
  })
}

/** Stores a blob's bytes as an upload to its repository (digest verified); a failed one leaves no session. */
export async function uploadBlob(ctx: RegistryContext, record: OciBlobRecordIn, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const { id } = await startUpload(ctx, record.repository)
  try {
    await finishUpload(ctx, record.repository, id, record.digest, chunks)
  } catch (error) {
    await cancelUpload(ctx, record.repository, id).catch(() => undefined)
    throw error
  }
}

/**
 * Stores a manifest unless its repository has it: a format of an appr release the restore stored
 * takes it as its view (a `/v2/` push's bytes in place of the projection); any other is stored
 * as a push by digest (an appr view's that no release shows keeping its mark). Answers whether it
 * wrote.
 */
export async function restoreManifest(ctx: RegistryContext, record: z.output<typeof OciManifestSchema>, details: Record<string, unknown>): Promise<boolean> {
  const repo = checkedRepository(record.repository, details)
  const bytes = decodeBase64(record.bytes, details)
  if (ociDigestOf(bytes) !== record.digest) throw invalidRecord(`the manifest's bytes have digest ${ociDigestOf(bytes)}, not ${record.digest}`, details)
  let parsed: ParsedManifest
  try {
    parsed = parseManifest(bytes, record.mediaType)
  } catch (cause) {
    throw new ApprError('invalid-parameters', `manifest ${record.digest} of ${repo} is not a manifest: ${(cause as Error).message}`, { details, cause })
  }
  const hex = parseOciDigest(record.digest)
  const { stored, doomed } = await transact(ctx, details, async (tx) => {
    const graph = ociGraph(ctx, tx)
    if (await graph.manifest(repo, hex)) return { stored: false, doomed: [] }
    const format = record.appr?.format
    if (format === undefined || !(await showRestoredView(graph, repo, record.appr!.release, format, bytes, parsed))) {
      // A manifest of the appr view that no release shows any more (a client's tag keeps it) keeps its mark, as here.
      const appr = record.appr && apprOf(record.appr)
      await graph.putManifest(repo, { hex, bytes, parsed, ...(appr && { appr }) }, { dangling: true })
      await recordRepositoryEvent(ctx, tx, repo, { type: 'oci.manifest.pushed', digest: record.digest, mediaType: parsed.mediaType, restored: true })
    }
    return { stored: true, doomed: graph.doomed }
  })
  await deleteObjects(ctx, doomed)
  return stored
}

/** Makes `bytes` the view of a format of a release the package has with the blob it names. False when it has not. */
async function showRestoredView(graph: OciGraph, repo: string, release: string, format: string, bytes: Uint8Array, parsed: ParsedManifest): Promise<boolean> {
  let name: ReturnType<typeof parsePackageName>
  try {
    name = parsePackageName(repo)
  } catch {
    return false
  }
  const pkgEntry = await graph.tx.get(keys.pkg(name))
  const pkg = pkgEntry && decodePackage(pkgEntry, name)
  const digest = pkg && own(own(pkg.releases, release), format)
  const blobEntry = digest === undefined ? undefined : await graph.tx.get(keys.blob(digest))
  const blob = blobEntry && decode(BlobRecordType, blobEntry.value, { package: repo, release })
  const layer = blob && parsed.layers.find((l) => l.digest === blob.ociDigest)
  if (!pkg || !blob || !layer) return false
  await showFormat(graph, givenFormat(repo, format, bytes, parsed, layer), release, pkg, { digest: blob.digest, object: blob.object })
  return true
}

/**
 * Points a client's tag at its manifest (restored before it). A channel's tag of that name gives
 * way, as it did where the backup was made (a channel is not shown over a client's tag). Answers
 * whether it wrote.
 * @throws resource-in-use when an appr release holds the tag here
 */
export async function restoreTag(ctx: RegistryContext, record: z.output<typeof OciTagSchema>, details: Record<string, unknown>): Promise<boolean> {
  const repo = checkedRepository(record.repository, details)
  if (!isTag(record.tag)) throw invalidRecord(`${String(record.tag).slice(0, 200)} is not an OCI tag`, details)
  const hex = parseOciDigest(record.digest)
  return transact(ctx, details, async (tx) => {
    const graph = ociGraph(ctx, tx)
    const existing = await graph.tag(repo, record.tag)
    if (existing?.digest === record.digest && existing.appr === undefined) return false
    if (existing?.appr === 'release') {
      throw new ApprError('resource-in-use', `${repo}:${record.tag} is an appr release's tag here, a client's tag in the backup: delete the release to restore it`, { details })
    }
    const target = await graph.manifest(repo, hex)
    if (!target) throw invalidRecord(`tag ${record.tag} names ${record.digest}, which the backup does not hold for ${repo}`, details)
    await graph.setTag(repo, record.tag, hex)
    const replaced = existing && existing.digest !== record.digest ? { replaced: existing.digest } : {}
    await recordRepositoryEvent(ctx, tx, repo, { type: 'oci.manifest.pushed', digest: record.digest, mediaType: target.mediaType, tag: record.tag, ...replaced, restored: true })
    return true
  })
}
