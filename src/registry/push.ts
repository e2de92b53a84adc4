/**
 * Push: the blob's upload (upload.ts), recording the release in one commit ({@link commitRelease})
 * and keeping blob reference counts ({@link adjustRefs}, shared with delete).
 * @module
 */
import { QUICK_BYTES } from '../archive/quick.js'
import { ApprError, type ErrorDetails } from '../errors/index.js'
import { contentMediaType, DEFAULT_FORMAT, manifestMediaType, parseFormat } from '../model/media-type.js'
import { type PackageName, parsePackageName } from '../model/package-name.js'
import { parseRelease } from '../model/release.js'
import type { Manifest } from '../model/types.js'
import { parseOciDigest } from '../oci/digest.js'
import { OciError } from '../oci/errors.js'
import { blobChunks } from './blob-input.js'
import type { RegistryContext } from './context.js'
import { eventReadKeys, recordEvent } from './events/record.js'
import { updateHead } from './heads.js'
import { OciGraph } from './oci-graph.js'
import { chartYamlOf, type FormatView, ociRepositoryOf, projectFormat, showFormat, viewKeys } from './oci-projection.js'
import { OciBlobRecordType, ociKeys } from './oci-records.js'
import { decodePackage } from './packages.js'
import { type BlobRecord, BlobRecordType, decode, encode, keys, ManifestRecordType, type NameMap, nameMap, ObjectRecordType, own, PackageBlobType, type PackageRecord } from './records.js'
import { acceptSignatures, assertPushAllowed, setReleaseSignatures } from './signatures.js'
import { type Transaction, transact } from './transaction.js'
import type { BlobInput, PushInput, StagedBlob, StagedPushInput } from './types.js'
import { deleteObjects, discardUpload, inlineUpload, type Upload, uploadBlob, writeSmall } from './upload.js'

export { deleteObjects, type Upload } from './upload.js'

export interface ReleaseInput {
  readonly name: PackageName
  readonly release: string
  readonly format: string
  readonly metadata: unknown
  readonly force: boolean
  /** Restore keeps the document's timestamp and media types verbatim. */
  readonly createdAt?: string
  readonly mediaTypes?: { readonly manifest: string; readonly content: string }
  /** Signatures of the manifest being written (checked, then stored in the same commit). */
  readonly signatures?: readonly unknown[] | undefined
  /** Restore: its event says so. */
  readonly restored?: boolean
}

export interface StoreReleaseInput extends ReleaseInput {
  readonly source: AsyncIterable<Uint8Array>
  readonly expect?: { readonly digest: string; readonly size: number }
}

/** Push metadata as stored: plain JSON (a copy), `null` when absent. */
function jsonMetadata(value: unknown): unknown {
  if (value === undefined || value === null) return null
  try {
    return JSON.parse(JSON.stringify(value)) as unknown
  } catch (cause) {
    throw new ApprError('invalid-parameters', 'metadata must be JSON', { cause })
  }
}

const now = (ctx: RegistryContext): string => ctx.clock().toISOString()

const packageExists = (details: ErrorDetails): ApprError =>
  new ApprError('package-exists', `${details.package} ${details.release} (${details.media_type}) exists already; use force to overwrite`, { details })

/** The checked fields of a push, everything but its blob. */
function releaseInput(input: StagedPushInput): ReleaseInput {
  const name = parsePackageName(input.package)
  const release = parseRelease(input.release)
  const format = parseFormat(input.format ?? DEFAULT_FORMAT)
  return { name, release, format, metadata: jsonMetadata(input.metadata), force: input.force === true, signatures: input.signatures }
}

export async function push(ctx: RegistryContext, input: PushInput): Promise<Manifest> {
  const base = releaseInput(input)
  // A chart with an OCI view needs its Chart.yaml (Helm's config): read in validation's pass.
  const inline = inlineUpload(ctx, input.blob, base.format === 'helm' && ociRepositoryOf(base.name) !== undefined)
  if (inline) {
    const { manifest } = await commitRelease(ctx, base, inline.upload)
    ctx.blobCache.set(manifest.content.digest, inline.bytes)
    return manifest
  }
  const small = await smallUpload(ctx, base, input.blob)
  if (small) {
    const manifest = await commitUpload(ctx, base, small)
    ctx.blobCache.set(manifest.content.digest, small.bytes!)
    return manifest
  }
  return storeRelease(ctx, { ...base, source: blobChunks(input.blob) })
}

/**
 * A small blob given as bytes for a store that keeps objects apart (files, an OCI registry):
 * validated in memory in one synchronous pass, as an inline push is, then written as one chunk.
 * The streamed path would inflate it through zlib's thread pool and, for a chart with an OCI
 * view, read it back for its Chart.yaml: ~3 ms of CPU a push on level's file store against ~0.9
 * ms inline (measured, 1 KB charts). `undefined` → the streaming path.
 */
async function smallUpload(ctx: RegistryContext, base: ReleaseInput, blob: PushInput['blob']): Promise<Upload | undefined> {
  if (ctx.kvBlobs !== undefined || !(blob instanceof Uint8Array) || blob.byteLength > QUICK_BYTES) return undefined
  const details = { package: base.name.full, release: base.release, media_type: base.format }
  if (!base.force && (await ctx.store.get(keys.man(base.name, base.release, base.format))) !== undefined) throw packageExists(details)
  return writeSmall(ctx, blob.slice(), base.format === 'helm' && ociRepositoryOf(base.name) !== undefined, details)
}

/** Streams `input.source` through validation into a fresh BlobStore object, then records the release. */
export async function storeRelease(ctx: RegistryContext, input: StoreReleaseInput): Promise<Manifest> {
  const { name, release, format } = input
  const details = { package: name.full, release, media_type: format }
  const manKey = keys.man(name, release, format)
  if (!input.force && (await ctx.store.get(manKey)) !== undefined) throw packageExists(details)
  const upload = await uploadBlob(ctx, input.source, details, input.expect)
  return commitUpload(ctx, input, upload)
}

/** Records a release whose blob {@link uploadBlob} stored; the upload is discarded if the release is not recorded. */
async function commitUpload(ctx: RegistryContext, input: ReleaseInput, upload: Upload): Promise<Manifest> {
  try {
    return (await commitRelease(ctx, input, upload)).manifest
  } catch (error) {
    // A commit whose outcome the adapter cannot know may have made this upload live: leave
    // it to gc, which deletes only objects whose marker still says `uploading`.
    const maybeApplied = error instanceof ApprError && error.details.applied === 'unknown'
    if (!maybeApplied) await discardUpload(ctx, upload.id)
    throw error
  }
}

/**
 * Streams a blob through validation before the release it belongs to is known (a push body
 * whose members come in any order): a small blob is kept for the inline commit, a larger one
 * goes to the BlobStore as an upload. Recorded by the returned handle's `push`, once.
 */
export async function stage(ctx: RegistryContext, blob: BlobInput): Promise<StagedBlob> {
  const source = blobChunks(blob)[Symbol.asyncIterator]()
  // Read ahead as far as a small blob goes: one that ends within it commits inline.
  const head: Uint8Array[] = []
  let size = 0
  let next = await source.next()
  while (!next.done && size + next.value.byteLength <= QUICK_BYTES) {
    head.push(next.value)
    size += next.value.byteLength
    next = await source.next()
  }
  const bytes = next.done ? Buffer.concat(head) : undefined
  const inline = bytes && inlineUpload(ctx, bytes)
  const pending = next
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield* head
    if (pending.done) return
    yield pending.value
    for (let item = await source.next(); !item.done; item = await source.next()) yield item.value
  }
  let upload: Upload
  try {
    // Small bytes for a separate blob store: validated in memory, written as one chunk.
    const small = bytes && ctx.kvBlobs === undefined ? await writeSmall(ctx, bytes, false, {}) : undefined
    upload = inline?.upload ?? small ?? (await uploadBlob(ctx, rest(), {}))
  } finally {
    // However the upload ended, the caller's stream is released (a ReadableStream is cancelled).
    await source.return?.(undefined)
  }
  let settled = false
  const discard = async (): Promise<void> => {
    if (settled) return
    settled = true
    if (inline === undefined) await discardUpload(ctx, upload.id)
  }
  return {
    digest: upload.facts.digest,
    size: upload.facts.size,
    async push(input) {
      if (settled) throw new ApprError('invalid-usage', 'a staged blob is pushed once')
      let base: ReleaseInput
      try {
        base = releaseInput(input)
      } catch (error) {
        await discard()
        throw error
      }
      settled = true
      if (inline === undefined) return commitUpload(ctx, base, upload)
      const { manifest } = await commitRelease(ctx, base, upload)
      ctx.blobCache.set(manifest.content.digest, inline.bytes)
      return manifest
    },
    discard,
  }
}

/** One format of a release to record: its checked fields, its blob and, for a manifest a `/v2/` client pushed, that manifest as its OCI view. */
export interface FormatPush {
  readonly input: ReleaseInput
  readonly upload: Upload
  readonly given?: FormatView
}

/**
 * Records a release whose blob was uploaded (or, with `upload.staged`, is written now): one
 * commit of the manifest, the package record and the reference counts, retried on conflict.
 * Deletes objects the commit made unreachable afterwards.
 */
export async function commitRelease(ctx: RegistryContext, input: ReleaseInput, upload: Upload, given?: FormatView): Promise<{ manifest: Manifest }> {
  const { manifests } = await commitFormats(ctx, [{ input, upload, ...(given && { given }) }])
  return { manifest: manifests[0]! }
}

/**
 * Records several formats of one package (a release pushed through `/v2/` as an index) in ONE
 * commit, each as {@link commitRelease} records one, in order and each with its own event: a
 * reader sees all of them or none, and a refusal of any writes nothing.
 */
export async function commitFormats(ctx: RegistryContext, pushes: readonly FormatPush[]): Promise<{ manifests: Manifest[] }> {
  const name = pushes[0]!.input.name
  if (pushes.some((p) => p.input.name.full !== name.full) || new Set(pushes.map((p) => `${p.input.release}\n${p.input.format}`)).size !== pushes.length) {
    throw new ApprError('internal-error', 'one commit records distinct formats of one package', { details: { package: name.full } })
  }
  const pkgKey = keys.pkg(name)
  const at = now(ctx)
  const repo = ociRepositoryOf(name)
  const prepared = await Promise.all(pushes.map((p) => prepareFormat(ctx, p, repo, at)))
  const reads = [pkgKey, ...prepared.flatMap((p) => p.reads)]
  const eventReads = eventReadKeys(ctx, name)
  const markers = prepared.filter((p) => !p.upload.staged).map((p) => p.marker)
  // A small push of a package this registry has not seen is most likely a new package with new
  // content: presume every key absent and commit at once (one round trip); a wrong guess fails
  // the commit's checks and the push runs again with real reads (transact).
  const presumeAbsent = pushes.every((p) => p.upload.staged && !p.input.force) && !ctx.known.has(pkgKey) ? [...reads, ...eventReads] : []
  const outcome = await transact(ctx, prepared[0]!.details, async (tx) => {
    // A staged upload has a fresh id: the commit checks its marker is still absent, unread.
    for (const p of prepared) if (p.upload.staged) tx.expectAbsent(p.marker)
    // Every key the formats read, the blob keys adjustRefs reuses among them, in one round trip.
    const [pkgEntry] = await tx.getMany([...reads, ...eventReads, ...markers])
    const pkg = pkgEntry ? decodePackage(pkgEntry, name) : { name: name.full, created_at: at, releases: nameMap<NameMap<string>>(), channels: nameMap<string>() }
    const manifests: Manifest[] = []
    const doomed: string[] = []
    for (const p of prepared) {
      const written = await recordFormat(ctx, tx, p, pkg, at)
      manifests.push(written.manifest)
      doomed.push(...written.doomed)
    }
    tx.put(pkgKey, encode(pkg))
    return { manifests, doomed }
  }, { presumeAbsent })
  ctx.known.set(pkgKey, true)
  await deleteObjects(ctx, outcome.doomed)
  return outcome
}

/** What one format of {@link commitFormats} knows before its commit: keys, and its OCI view as far as it can be guessed. */
interface PreparedFormat extends FormatPush {
  readonly details: ErrorDetails
  readonly manKey: string
  readonly marker: string
  readonly created: string
  /** The format's OCI view for the blob record the commit settles on (another gzip of the same tar keeps the first one's bytes). */
  readonly viewOf: (blob: { ociDigest: string; size: number }) => FormatView | undefined
  readonly reads: readonly string[]
}

async function prepareFormat(ctx: RegistryContext, push: FormatPush, repo: string | undefined, at: string): Promise<PreparedFormat> {
  const { input, upload, given } = push
  const { name, release, format } = input
  const { id, facts } = upload
  const created = input.createdAt ?? at
  // Helm's config is made of the archive's Chart.yaml.
  const chart = format === 'helm' && repo !== undefined && !given ? (upload.chart ? upload.chart.document : await chartYamlOf(upload.bytes ?? (await ctx.blobs.read(id)))) : undefined
  const guess = given ?? (repo === undefined ? undefined : projectFormat(repo, name, release, format, created, facts, chart))
  const viewOf = (blob: { ociDigest: string; size: number }) =>
    given ?? (repo === undefined ? undefined : blob.ociDigest === facts.ociDigest && blob.size === facts.size ? guess : projectFormat(repo, name, release, format, created, blob, chart))
  const manKey = keys.man(name, release, format)
  const reads = [manKey, keys.blob(facts.digest), keys.pblob(name, facts.digest), ociKeys.blob(parseOciDigest(facts.ociDigest)), ...(guess ? viewKeys(guess, release) : [])]
  return { ...push, details: { package: name.full, release, media_type: format }, manKey, marker: keys.obj(id), created, viewOf, reads }
}

/** One format's part of the commit: its manifest, counts, head, event and OCI view; `pkg` is updated, not written. */
async function recordFormat(ctx: RegistryContext, tx: Transaction, p: PreparedFormat, pkg: PackageRecord, at: string): Promise<{ manifest: Manifest; doomed: string[] }> {
  const { input, upload, details } = p
  const { name, release, format } = input
  const { facts } = upload
  const manEntry = await tx.get(p.manKey)
  const markerEntry = upload.staged ? undefined : await tx.get(p.marker)
  if (upload.adopted) {
    if (markerEntry === undefined || decode(ObjectRecordType, markerEntry.value, details).state !== 'live') {
      throw new OciError('MANIFEST_BLOB_UNKNOWN', 'the chart blob was deleted meanwhile', { detail: { digest: facts.ociDigest } })
    }
  } else if (!upload.staged && (markerEntry === undefined || decode(ObjectRecordType, markerEntry.value, details).state !== 'uploading')) {
    throw new ApprError('unavailable', 'the upload took too long and was reclaimed; push again', { details, transient: true })
  }
  const previous = manEntry && decode(ManifestRecordType, manEntry.value, details)
  if (previous && !input.force) throw packageExists(details)
  const manifest: Manifest = {
    package: name.full,
    release,
    mediaType: input.mediaTypes?.manifest ?? manifestMediaType(format),
    content: { mediaType: input.mediaTypes?.content ?? contentMediaType(format), size: facts.size, digest: facts.digest, urls: [] },
    metadata: input.metadata,
    created_at: p.created,
  }
  const signatures = acceptSignatures(ctx, manifest, input.signatures ?? [])
  assertPushAllowed(ctx, manifest, signatures)
  tx.put(p.manKey, encode(manifest))
  const formats = nameMap(own(pkg.releases, release))
  formats[format] = facts.digest
  pkg.releases[release] = formats
  // What a force push replaces loses its signatures; the push's own take their place.
  if (signatures.length > 0 || own(own(pkg.signatures, release), format)) setReleaseSignatures(pkg, release, format, signatures)
  const deltas = new Map([[facts.digest, 1]])
  if (previous) deltas.set(previous.content.digest, (deltas.get(previous.content.digest) ?? 0) - 1)
  const stored = new Map<string, BlobRecord>()
  const doomed = await adjustRefs(tx, name, deltas, upload, stored)
  const blob = stored.get(facts.digest)
  updateHead(pkg, format, blob && { manifest, ociDigest: blob.ociDigest, size: blob.size, object: blob.object })
  const event = { type: 'release.pushed', release, format, digest: facts.digest } as const
  await recordEvent(ctx, tx, name, { ...event, ...(previous && { replaced: previous.content.digest }), ...(input.restored && { restored: true }) }, pkg)
  const view = blob && p.viewOf(blob)
  if (view && blob) {
    // A graph of its own: it reads what the formats before this one wrote in the transaction.
    const graph = new OciGraph(tx, at)
    await showFormat(graph, view, release, pkg, { digest: facts.digest, object: blob.object })
    doomed.push(...graph.doomed)
  }
  return { manifest, doomed }
}

/**
 * Applies reference-count changes for digests of one package inside `tx`. With `upload`, its
 * object becomes the stored bytes of its digest, or (when that digest is already stored) is
 * scheduled for deletion. Returns the object ids to delete once the commit succeeded.
 */
export async function adjustRefs(tx: Transaction, name: PackageName, deltas: Map<string, number>, upload?: Upload, stored?: Map<string, BlobRecord>): Promise<string[]> {
  const digests = [...deltas.keys()]
  // Values as this transaction leaves them: one commit may record several formats (commitFormats).
  await tx.getMany(digests.flatMap((d) => [keys.blob(d), keys.pblob(name, d)]))
  const doomed: string[] = []
  for (const digest of digests) {
    const details = { package: name.full, digest }
    const delta = deltas.get(digest)!
    const blobBytes = await tx.latest(keys.blob(digest))
    const pblobBytes = await tx.latest(keys.pblob(name, digest))
    let blob = blobBytes && decode(BlobRecordType, blobBytes, details)
    if (upload && upload.facts.digest === digest) {
      const { facts } = upload
      // The same bytes as an OCI blob (pushed through /v2/, or another package's view): one object serves both.
      const ociKey = ociKeys.blob(parseOciDigest(facts.ociDigest))
      const ociBytes = blob ? undefined : await tx.latest(ociKey)
      const oci = ociBytes && decode(OciBlobRecordType, ociBytes, details)
      const object = oci?.object ?? upload.id
      if (blob || object !== upload.id) {
        // Stored already: the new bytes are not needed (a staged object is simply never written).
        if (!upload.staged && !upload.adopted) {
          tx.delete(keys.obj(upload.id))
          doomed.push(upload.id)
        }
      }
      if (!blob) {
        blob = { digest, ociDigest: facts.ociDigest, size: facts.size, object, refs: 0 }
        if (oci) tx.put(ociKey, encode({ ...oci, appr: digest }))
        if (object === upload.id && !upload.adopted) {
          tx.put(keys.obj(upload.id), encode({ state: 'live', digest }))
          if (upload.staged) {
            for (const put of upload.staged.puts) tx.put(put.key, put.value)
            tx.expectAbsent(upload.staged.absent)
          }
        }
      }
    }
    if (blob === undefined) throw new ApprError('internal-error', 'a manifest names a blob that has no record', { details })
    stored?.set(digest, blob)
    if (delta === 0) continue
    const refs = blob.refs + delta
    if (refs > 0) {
      tx.put(keys.blob(digest), encode({ ...blob, refs }))
    } else {
      tx.delete(keys.blob(digest))
      // An OCI blob holding the same object keeps it (its own last unlink deletes it).
      const oci = await tx.latest(ociKeys.blob(parseOciDigest(blob.ociDigest)))
      if (oci === undefined || decode(OciBlobRecordType, oci, details).object !== blob.object) {
        tx.delete(keys.obj(blob.object))
        doomed.push(blob.object)
      }
    }
    const packageRefs = (pblobBytes ? decode(PackageBlobType, pblobBytes, details).refs : 0) + delta
    if (packageRefs > 0) tx.put(keys.pblob(name, digest), encode({ refs: packageRefs }))
    else tx.delete(keys.pblob(name, digest))
  }
  return doomed
}
