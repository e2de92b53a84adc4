/**
 * OCI blobs and upload sessions (the data side of `/v2/<name>/blobs/…`): start, append
 * (chunks, with or without a range), status, finish (`?digest=`, verified), cancel; HEAD/GET
 * (with a byte range), DELETE and cross-repository mount of blobs linked to a repository.
 *
 * Every step is one commit over the shared {@link transact}; a session lives in the store
 * (`oci/upload/<id>`), so consecutive requests may reach different processes or a restarted one.
 * Chunks are written to BlobStore objects of their own: a one-chunk upload (what skopeo and
 * Docker send) becomes the blob's object without being read again; chunks of a multi-chunk
 * upload are concatenated into one object when it completes.
 * @module
 */
import { sha256, sha256Hex } from '../digest/index.js'
import type { ErrorDetails } from '../errors/index.js'
import type { OciBlobInfo } from '../oci/client.js'
import { parseOciDigest } from '../oci/digest.js'
import { OciError } from '../oci/errors.js'
import { parseRepositoryName } from '../oci/reference.js'
import { blobChunks } from './blob-input.js'
import type { RegistryContext } from './context.js'
import { ociGraph } from './oci-graph.js'
import { type OciBlobRecord, OciBlobRecordType, type OciLinkRecord, OciLinkRecordType, type OciUploadRecord, OciUploadRecordType, ociKeys } from './oci-records.js'
import { deleteObjects } from './push.js'
import { decode, encode, keys, ObjectRecordType } from './records.js'
import { type Transaction, transact } from './transaction.js'

/** Where an upload session stands. */
export interface OciUploadStatus {
  /** The session id (the `<uuid>` of its URL). */
  readonly id: string
  readonly repository: string
  /** Bytes received so far: the next chunk starts at this offset (`Range: 0-<size - 1>`). */
  readonly size: number
}

export type { OciBlobInfo }

/** A blob being read (all of it, or `range`). */
export interface OciBlobRead extends OciBlobInfo {
  readonly stream: AsyncIterable<Uint8Array>
  /** The served range, inclusive, when one was asked for. */
  readonly range?: { readonly start: number; readonly end: number }
}

/** How chunks of an upload must be sized. */
export interface OciChunkOptions {
  /** Every chunk but the last has at least this many bytes (`OCI-Chunk-Min-Length`; default 0). */
  readonly minChunk?: number
}

const now = (ctx: RegistryContext): string => ctx.clock().toISOString()

function uploadUnknown(id: string): OciError {
  return new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${String(id).slice(0, 100)} is unknown (finished, cancelled or expired)`, { detail: { id: String(id).slice(0, 100) } })
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

async function readSession(ctx: RegistryContext, repository: string, id: string): Promise<{ record: OciUploadRecord; version: string }> {
  if (typeof id !== 'string' || !UUID.test(id)) throw uploadUnknown(id)
  const entry = await ctx.store.get(ociKeys.upload(id))
  if (!entry) throw uploadUnknown(id)
  const record = decode(OciUploadRecordType, entry.value, { upload: id })
  if (record.repository !== repository) throw uploadUnknown(id)
  return { record, version: entry.version }
}

/** Starts an upload session in `repository`. */
export async function startUpload(ctx: RegistryContext, repository: string): Promise<OciUploadStatus> {
  const repo = parseRepositoryName(repository)
  const id = crypto.randomUUID()
  const record: OciUploadRecord = { repository: repo, started_at: now(ctx), size: 0, parts: [] }
  const done = await ctx.store.commit({ checks: [{ key: ociKeys.upload(id), version: null }], puts: [{ key: ociKeys.upload(id), value: encode(record) }] })
  if (!done.ok) throw new OciError('UNKNOWN', 'an upload id was used twice')
  return { id, repository: repo, size: 0 }
}

/** Where a session stands. @throws OciError `BLOB_UPLOAD_UNKNOWN` */
export async function uploadStatus(ctx: RegistryContext, repository: string, id: string): Promise<OciUploadStatus> {
  const repo = parseRepositoryName(repository)
  const { record } = await readSession(ctx, repo, id)
  return { id, repository: repo, size: record.size }
}

/** Writes `chunks` to a fresh object under an `uploading` marker; `undefined` when there were no bytes. */
async function writePart(ctx: RegistryContext, chunks: AsyncIterable<Uint8Array>): Promise<{ object: string; size: number; sha256: string } | undefined> {
  const object = crypto.randomUUID()
  const marker = keys.obj(object)
  await ctx.store.commit({ checks: [{ key: marker, version: null }], puts: [{ key: marker, value: encode({ state: 'uploading', started_at: now(ctx) }) }] })
  const hash = sha256()
  let size = 0
  async function* counted() {
    for await (const chunk of chunks) {
      hash.update(chunk)
      size += chunk.byteLength
      yield chunk
    }
  }
  try {
    await ctx.blobs.write(object, counted())
  } catch (error) {
    await discardObjects(ctx, [object])
    throw error
  }
  if (size === 0) {
    await discardObjects(ctx, [object])
    return undefined
  }
  return { object, size, sha256: hash.hex() }
}

/** Deletes objects that were never recorded: bytes first, then markers (a crash leaves markers gc finds). */
async function discardObjects(ctx: RegistryContext, objects: readonly string[]): Promise<void> {
  for (const object of objects) {
    try {
      await ctx.blobs.delete(object)
      await ctx.store.commit({ deletes: [keys.obj(object)] })
    } catch {
      // gc reclaims it once its marker is older than the upload timeout
    }
  }
}

/**
 * Appends a chunk to a session. With `range` (a PATCH's `Content-Range`), it must start where
 * the session stands and, when it names an end, hold exactly that many bytes.
 * @throws OciError `BLOB_UPLOAD_UNKNOWN`; `RANGE_INVALID` (416) for a range that does not continue the upload or another append that won the race
 */
export async function appendUpload(
  ctx: RegistryContext,
  repository: string,
  id: string,
  chunks: AsyncIterable<Uint8Array>,
  range?: { readonly start: number; readonly end?: number },
  options: OciChunkOptions = {},
): Promise<OciUploadStatus> {
  const repo = parseRepositoryName(repository)
  const { record, version } = await readSession(ctx, repo, id)
  const rangeInvalid = (message: string) => new OciError('RANGE_INVALID', message, { detail: { id, size: record.size } })
  if (range && range.start !== record.size) throw rangeInvalid(`the chunk starts at ${range.start}, the upload is at ${record.size}`)
  const part = await writePart(ctx, chunks)
  if (!part) return { id, repository: repo, size: record.size }
  // A short chunk can only have been the last one: no bytes may follow it (an empty PUT still closes the upload).
  const previous = record.parts.at(-1)
  if (previous && options.minChunk && previous.size < options.minChunk) {
    await discardObjects(ctx, [part.object])
    throw new OciError('BLOB_UPLOAD_INVALID', `the previous chunk has ${previous.size} bytes, under OCI-Chunk-Min-Length ${options.minChunk}: only the last chunk may be shorter`, {
      detail: { id, size: record.size, minLength: options.minChunk },
    })
  }
  if (range?.end !== undefined && range.end - range.start + 1 !== part.size) {
    await discardObjects(ctx, [part.object])
    throw rangeInvalid(`Content-Range names ${range.end - range.start + 1} bytes, the chunk has ${part.size}`)
  }
  const next: OciUploadRecord = { ...record, size: record.size + part.size, parts: [...record.parts, part] }
  const done = await ctx.store.commit({ checks: [{ key: ociKeys.upload(id), version }], puts: [{ key: ociKeys.upload(id), value: encode(next) }] })
  if (!done.ok) {
    await discardObjects(ctx, [part.object])
    throw rangeInvalid('another chunk of this upload was written at the same time')
  }
  return { id, repository: repo, size: next.size }
}

async function* concatenate(ctx: RegistryContext, parts: readonly { object: string }[], id: string): AsyncIterable<Uint8Array> {
  for (const part of parts) {
    const stream = await ctx.blobs.read(part.object)
    if (!stream) throw uploadUnknown(id)
    yield* stream
  }
}

/**
 * Completes a session: appends `chunks` (the PUT's body, possibly empty), checks the bytes
 * have `digest`, and links the blob to the repository, in one commit that also ends the
 * session. Content already stored is not stored twice.
 * @throws OciError `DIGEST_INVALID` (malformed, or not the bytes received: the session is then cancelled), `BLOB_UPLOAD_UNKNOWN`
 */
export async function finishUpload(
  ctx: RegistryContext,
  repository: string,
  id: string,
  digest: string,
  chunks?: AsyncIterable<Uint8Array>,
  options: OciChunkOptions = {},
): Promise<OciBlobInfo> {
  const repo = parseRepositoryName(repository)
  const hex = parseOciDigest(digest)
  if (chunks) await appendUpload(ctx, repo, id, chunks, undefined, options)
  const { record } = await readSession(ctx, repo, id)
  // The object the blob will live in, and objects that become garbage once it is recorded.
  let object: string
  let actual: string
  let composed: string | undefined
  if (record.parts.length === 1) {
    object = record.parts[0]!.object
    actual = record.parts[0]!.sha256
  } else {
    const written = await writePart(ctx, concatenate(ctx, record.parts, id))
    // An empty blob is a legal blob: it still needs an object.
    composed = written?.object ?? (await writeEmpty(ctx))
    object = composed
    actual = written?.sha256 ?? sha256Hex(new Uint8Array(0))
  }
  if (actual !== hex) {
    if (composed) await discardObjects(ctx, [composed])
    await cancelUpload(ctx, repo, id).catch(() => undefined)
    throw new OciError('DIGEST_INVALID', `the uploaded bytes have digest sha256:${actual}, not ${digest}`, { detail: { expected: digest, actual: `sha256:${actual}` } })
  }
  const details = { repository: repo, digest }
  let outcome: { doomed: string[] }
  try {
    outcome = await transact(ctx, details, async (tx) => {
      const sessionKey = ociKeys.upload(id)
      const partMarkers = record.parts.map((p) => keys.obj(p.object))
      const [session, blobEntry, linkEntry, ...markers] = await tx.getMany([sessionKey, ociKeys.blob(hex), ociKeys.link(repo, hex), ...partMarkers])
      if (!session || decode(OciUploadRecordType, session.value, { upload: id }).parts.length !== record.parts.length) throw uploadUnknown(id)
      // gc dooms parts of a session older than the upload timeout; their bytes may be gone.
      for (const m of markers) if (!m || decode(ObjectRecordType, m.value, details).state !== 'uploading') throw uploadUnknown(id)
      tx.delete(sessionKey)
      const doomed: string[] = []
      for (const part of record.parts) {
        if (part.object === object) continue
        tx.delete(keys.obj(part.object))
        doomed.push(part.object)
      }
      let blob = blobEntry && decode(OciBlobRecordType, blobEntry.value, details)
      if (blob) {
        tx.delete(keys.obj(object))
        doomed.push(object)
      } else {
        blob = { size: record.size, object, refs: 0 }
        tx.put(keys.obj(object), encode({ state: 'live', digest }))
      }
      if (!linkEntry) {
        tx.put(ociKeys.link(repo, hex), encode({ created_at: now(ctx), free_at: now(ctx) }))
        blob = { ...blob, refs: blob.refs + 1 }
      } else markUploaded(ctx, tx, repo, hex, linkEntry.value, details)
      tx.put(ociKeys.blob(hex), encode(blob))
      return { doomed }
    })
  } catch (error) {
    if (composed) await discardObjects(ctx, [composed])
    throw error
  }
  await deleteObjects(ctx, outcome.doomed)
  return { digest, size: record.size }
}

async function writeEmpty(ctx: RegistryContext): Promise<string> {
  const object = crypto.randomUUID()
  await ctx.store.commit({ puts: [{ key: keys.obj(object), value: encode({ state: 'uploading', started_at: now(ctx) }) }] })
  await ctx.blobs.write(object, (async function* () {})())
  return object
}

/** Cancels a session and deletes what it received. @throws OciError `BLOB_UPLOAD_UNKNOWN` */
export async function cancelUpload(ctx: RegistryContext, repository: string, id: string): Promise<void> {
  const repo = parseRepositoryName(repository)
  const { record, version } = await readSession(ctx, repo, id)
  const done = await ctx.store.commit({ checks: [{ key: ociKeys.upload(id), version }], deletes: [ociKeys.upload(id)] })
  if (!done.ok) throw uploadUnknown(id)
  await discardObjects(
    ctx,
    record.parts.map((p) => p.object),
  )
}

async function linkedBlob(ctx: RegistryContext, repository: string, digest: string): Promise<OciBlobRecord | undefined> {
  const repo = parseRepositoryName(repository)
  const hex = parseOciDigest(digest)
  const [link, blob] = await ctx.store.getMany([ociKeys.link(repo, hex), ociKeys.blob(hex)])
  return link && blob ? decode(OciBlobRecordType, blob.value, { repository: repo, digest }) : undefined
}

/** A blob of `repository`, or `undefined` when it is not linked there. */
export async function headBlob(ctx: RegistryContext, repository: string, digest: string): Promise<OciBlobInfo | undefined> {
  const blob = await linkedBlob(ctx, repository, digest)
  return blob && { digest, size: blob.size }
}

async function* slice(stream: AsyncIterable<Uint8Array>, start: number, end: number): AsyncIterable<Uint8Array> {
  let offset = 0
  for await (const chunk of stream) {
    const from = Math.max(start - offset, 0)
    const to = Math.min(end + 1 - offset, chunk.byteLength)
    if (from < to) yield chunk.subarray(from, to)
    offset += chunk.byteLength
    if (offset > end) return
  }
}

/**
 * The bytes of a blob of `repository` (or an inclusive byte range: `end` defaults to the last
 * byte), or `undefined` when it is not linked there.
 * @throws OciError `RANGE_INVALID` (416) for a range outside the blob
 */
export async function getBlob(ctx: RegistryContext, repository: string, digest: string, range?: { readonly start: number; readonly end?: number }): Promise<OciBlobRead | undefined> {
  const blob = await linkedBlob(ctx, repository, digest)
  if (!blob) return undefined
  const stream = blob.object === undefined ? blobChunks(Buffer.from(blob.inline ?? '', 'base64')) : await ctx.blobs.read(blob.object)
  if (!stream) throw new OciError('UNKNOWN', 'a blob record names bytes that are gone', { status: 500, detail: { digest } })
  if (!range) return { digest, size: blob.size, stream }
  const end = Math.min(range.end ?? blob.size - 1, blob.size - 1)
  if (!Number.isSafeInteger(range.start) || range.start < 0 || range.start > end) {
    throw new OciError('RANGE_INVALID', `bytes ${range.start}-${range.end ?? ''} are outside the blob of ${blob.size} bytes`, { detail: { digest, size: blob.size } })
  }
  return { digest, size: blob.size, stream: slice(stream, range.start, end), range: { start: range.start, end } }
}

/**
 * Unlinks a blob from `repository`; its bytes go with its last link (unless an appr blob holds
 * the same object). A manifest that names it is not checked, as CNCF distribution allows. False
 * when it was not linked there.
 */
export async function deleteBlob(ctx: RegistryContext, repository: string, digest: string): Promise<boolean> {
  const repo = parseRepositoryName(repository)
  const hex = parseOciDigest(digest)
  const { deleted, doomed } = await transact(ctx, { repository: repo, digest }, async (tx) => {
    const graph = ociGraph(ctx, tx)
    return { deleted: await graph.unlink(repo, hex), doomed: graph.doomed }
  })
  await deleteObjects(ctx, doomed)
  return deleted
}

/** Links a blob of `from` to `repository` too (cross-repository mount). False when `from` has no such blob. */
export async function mountBlob(ctx: RegistryContext, repository: string, digest: string, from: string): Promise<boolean> {
  const repo = parseRepositoryName(repository)
  const source = parseRepositoryName(from)
  const hex = parseOciDigest(digest)
  const details = { repository: repo, digest, from: source }
  return transact(ctx, details, async (tx) => {
    const [sourceLink, link, blobEntry] = await tx.getMany([ociKeys.link(source, hex), ociKeys.link(repo, hex), ociKeys.blob(hex)])
    if (!sourceLink || !blobEntry) return false
    if (link) {
      markUploaded(ctx, tx, repo, hex, link.value, details)
      return true
    }
    const blob = decode(OciBlobRecordType, blobEntry.value, details)
    tx.put(ociKeys.link(repo, hex), encode({ created_at: now(ctx), free_at: now(ctx) }))
    tx.put(ociKeys.blob(hex), encode({ ...blob, refs: blob.refs + 1 }))
    return true
  })
}

/**
 * Records a client's upload (or mount) of a blob the repository already links, when manifests
 * name it: without this the upload changes nothing, and an appr delete of the last manifest
 * naming it would unlink it at once, under the manifest the client is about to push.
 */
function markUploaded(ctx: RegistryContext, tx: Transaction, repo: string, hex: string, value: Uint8Array, details: ErrorDetails): void {
  const link = decode(OciLinkRecordType, value, details)
  if (link.refs !== undefined) tx.put(ociKeys.link(repo, hex), encode({ ...link, uploaded_at: now(ctx) } satisfies OciLinkRecord))
  // A free link gets a whole grace period again, as a fresh upload would: the client's manifest
  // PUT naming it is still to come.
  else tx.put(ociKeys.link(repo, hex), encode({ ...link, free_at: now(ctx) } satisfies OciLinkRecord))
}
