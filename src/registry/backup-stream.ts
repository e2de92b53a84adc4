/**
 * Streamed backups: the registry as a sequence of records (NDJSON on disk or on the wire), read
 * and written one package at a time, so memory does not grow with the registry. A restore of
 * such a stream is resumable: a release already stored with the same digest and a channel already
 * set the same way are skipped, so running it again after an interruption picks up where it
 * stopped.
 *
 * The records: a `header`, then per package its `release` records (appr's backup entry: the
 * manifest, the blob in base64, the channels holding it, its signatures) followed by its
 * `channel` records (name and current), then the OCI content the appr records do not regenerate
 * (version 2, backup-oci.ts), then an `end` with the counts, whose absence tells a truncated
 * stream. Version 1 streams (appr records only) restore as before; a reader of version 1 refuses
 * a version 2 stream at its header.
 * @module
 */
import { z } from 'zod'
import { ApprError } from '../errors/index.js'
import { isOciError } from '../oci/errors.js'
import { parseFormat } from '../model/media-type.js'
import { type PackageName, parseChannelName, parsePackageName } from '../model/package-name.js'
import { parseRelease } from '../model/release.js'
import { BackupPackageSchema } from '../model/schemas.js'
import { listAll } from '../storage/util.js'
import { assertEntryAllowed, backupEntry, entryWithMetadata, restoreChannel, storeEntry } from './backup.js'
import {
  blobPlan,
  linkBlob,
  type OciBackupCounts,
  OciBlobSchema,
  OciChunkSchema,
  OciManifestSchema,
  OciTagSchema,
  ociBackupRecords,
  restoreManifest,
  restoreTag,
  uploadBlob,
} from './backup-oci.js'
import { collectBytes, decodeBase64 } from './blob-input.js'
import type { RegistryContext } from './context.js'
import { decodePackage } from './packages.js'
import { openBlob } from './read.js'
import { ChannelRecordType, decode, keys, ManifestRecordType, own } from './records.js'
import { releaseSignatures } from './signatures.js'
import type { BackupRecord, RestoreProgress, RestoreStreamOptions } from './types.js'

/** The format name and version every streamed backup starts with. */
export const BACKUP_FORMAT = 'appr-core-backup'
/** 2 since backups carry OCI content; 1 (appr records only) is still read. */
export const BACKUP_VERSION = 2

/** The registry as backup records, package by package, read as they are produced. */
export async function* backupRecords(ctx: RegistryContext): AsyncGenerator<BackupRecord> {
  yield { kind: 'header', format: BACKUP_FORMAT, version: BACKUP_VERSION, created_at: ctx.clock().toISOString() }
  let packages = 0
  let releases = 0
  let channels = 0
  for await (const entry of listAll(ctx.store, keys.packages, 100)) {
    const full = entry.key.slice(keys.packages.length)
    const name = parsePackageName(full)
    // Read past the caches: a full scan would only evict what serving needs from them.
    const record = decodePackage(entry, name)
    const chanKeys = Object.keys(record.channels).map((c) => keys.chan(name, c))
    const chans = (await ctx.store.getMany(chanKeys)).flatMap((e) => (e ? [decode(ChannelRecordType, e.value, { package: full })] : []))
    const manKeys = Object.entries(record.releases).flatMap(([release, formats]) => Object.keys(formats).map((format) => keys.man(name, release, format)))
    for (let i = 0; i < manKeys.length; i += 100) {
      for (const manEntry of await ctx.store.getMany(manKeys.slice(i, i + 100))) {
        // A manifest deleted since the package record was read: not part of this backup.
        if (manEntry === undefined) continue
        const manifest = decode(ManifestRecordType, manEntry.value, { package: full })
        const blob = await openBlob(ctx, name, manifest.content.digest, { package: full, release: manifest.release }).catch(() => undefined)
        if (blob === undefined) continue
        const bytes = await collectBytes(blob.stream)
        const signatures = record.signatures && releaseSignatures(record, manifest.release, parseFormat(manifest.mediaType))
        releases++
        yield {
          kind: 'release',
          ...manifest,
          blob: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
          channels: chans.filter((c) => c.releases.includes(manifest.release)).map((c) => c.name),
          ...(signatures && signatures.length > 0 && { signatures }),
        }
      }
    }
    for (const c of chans) {
      channels++
      yield { kind: 'channel', package: full, name: c.name, current: c.current }
    }
    packages++
  }
  const oci: OciBackupCounts = { repositories: 0, manifests: 0, tags: 0, blobs: 0 }
  yield* ociBackupRecords(ctx, oci)
  yield { kind: 'end', packages, releases, channels, ...oci }
}

const HeaderSchema = z.object({ kind: z.literal('header'), format: z.literal(BACKUP_FORMAT), version: z.union([z.literal(1), z.literal(BACKUP_VERSION)]) }).loose()
const ReleaseRecordSchema = BackupPackageSchema.extend({ kind: z.literal('release') })
const ChannelRecordSchema = z.object({ kind: z.literal('channel'), package: z.string().max(600), name: z.string().max(128), current: z.string().max(256) })
const count = z.number().int().min(0)
const EndSchema = z.object({ kind: z.literal('end'), packages: count, releases: count, channels: count })
const RecordSchema = z.discriminatedUnion('kind', [ReleaseRecordSchema, ChannelRecordSchema, EndSchema, OciBlobSchema, OciChunkSchema, OciManifestSchema, OciTagSchema])

function invalid(message: string, line: number, cause?: unknown): ApprError {
  return new ApprError('invalid-parameters', `backup record ${line}: ${message}`, { details: { record: line }, ...(cause !== undefined && { cause }) })
}

function parseRecord(raw: unknown, line: number) {
  const parsed = RecordSchema.safeParse(entryWithMetadata(raw))
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw invalid(`${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'}`, line, parsed.error)
  }
  return parsed.data
}

/**
 * Restores backup records (parsed NDJSON lines, or the records {@link backupRecords} yields), one
 * at a time: each release is checked (names, signatures under the namespace's policy, its blob
 * against its digest and size) and stored as it comes, each channel set once its package's
 * releases are in, then the OCI content (backup-oci.ts: blobs streamed into uploads, digests
 * verified). Unlike the document restore this writes as it goes: a bad record stops the restore
 * after the records before it were stored, and running it again skips them.
 * @throws invalid-parameters for a record that is not one (naming it by its number from 1),
 *   or a stream that ends without its `end` record (everything before it is stored)
 */
export async function restoreRecords(ctx: RegistryContext, records: AsyncIterable<unknown>, options: RestoreStreamOptions = {}): Promise<RestoreProgress> {
  const progress = { records: 0, releases: 0, skipped: 0, channels: 0, manifests: 0, tags: 0, blobs: 0, bytes: 0 }
  const report = () => options.onProgress?.({ ...progress })
  // Channel membership of the package being restored (the releases naming each channel).
  let current: { name: PackageName; members: Map<string, Set<string>> } | undefined
  let ended = false
  // Pulled by hand: a blob's chunk records are read by the upload that stores them.
  const iterator = records[Symbol.asyncIterator]()
  const next = async (): Promise<{ raw: unknown; line: number } | undefined> => {
    const step = await iterator.next()
    return step.done ? undefined : { raw: step.value, line: ++progress.records }
  }
  /** The bytes of the blob of record `line` (`size` of them) from the chunk records after it. */
  async function* chunksOf(size: number, line: number, storing: boolean): AsyncGenerator<Uint8Array> {
    let read = 0
    while (read < size) {
      const item = await next()
      if (!item) throw invalid(`the backup ends inside the blob of record ${line}: it was cut short (run the restore again with the whole backup)`, progress.records + 1)
      const chunk = OciChunkSchema.safeParse(item.raw)
      if (!chunk.success) throw invalid(`the blob of record ${line} has ${size - read} more bytes, and this is not an oci-chunk record`, item.line)
      const bytes = decodeBase64(chunk.data.data, { record: item.line })
      read += bytes.byteLength
      if (read > size) throw invalid(`the blob of record ${line} has more bytes than its size, ${size}`, item.line)
      if (storing) progress.bytes += bytes.byteLength
      report()
      yield bytes
    }
  }
  /** Restores one record after the header. */
  async function restoreRecord(record: ReturnType<typeof parseRecord>, line: number): Promise<void> {
    const details = { record: line }
    switch (record.kind) {
      case 'end':
        ended = true
        return
      case 'oci-chunk':
        throw invalid('an oci-chunk record that follows no oci-blob record', line)
      case 'oci-blob': {
        const plan = await blobPlan(ctx, record, details)
        const chunks = record.from === undefined ? chunksOf(record.size, line, plan === 'upload') : undefined
        if (plan === 'link') await linkBlob(ctx, record, details)
        else if (plan === 'upload') await uploadBlob(ctx, record, chunks!)
        // Bytes of a blob stored already are read past.
        if (chunks) for await (const _ of chunks);
        if (plan !== 'present') progress.blobs++
        break
      }
      case 'oci-manifest':
        if (await restoreManifest(ctx, record, details)) progress.manifests++
        break
      case 'oci-tag':
        if (await restoreTag(ctx, record, details)) progress.tags++
        break
      case 'release':
      case 'channel': {
        const name = parsePackageName(record.package)
        if (current?.name.full !== name.full) current = { name, members: new Map() }
        if (record.kind === 'release') await restoreRelease(ctx, record, line, current.members, progress)
        else {
          const channel = parseChannelName(record.name)
          const releases = current.members.get(channel) ?? new Set<string>()
          releases.add(parseRelease(record.current))
          if (await restoreChannel(ctx, name, channel, releases, record.current)) progress.channels++
        }
      }
    }
  }

  try {
    for (let item = await next(); item; item = await next()) {
      const { raw, line } = item
      if (ended) throw invalid('a record after the end record', line)
      if (line === 1) {
        if (!HeaderSchema.safeParse(raw).success) throw invalid(`not a streamed appr-core backup (the first record must be {"kind":"header","format":"${BACKUP_FORMAT}","version":${BACKUP_VERSION}})`, line)
        continue
      }
      const record = parseRecord(raw, line)
      await restoreRecord(record, line).catch((error: unknown) => {
        // The OCI operations answer in the spec's codes; a restore answers in appr's.
        throw isOciError(error) ? invalid(error.message, line, error) : error
      })
      report()
    }
  } finally {
    await iterator.return?.()
  }
  if (progress.records === 0) throw invalid('the backup is empty', 1)
  if (!ended) throw invalid('the backup ends without its end record: it was cut short (what came before it is restored; run the restore again with the whole backup)', progress.records + 1)
  return progress
}

/** Stores a release record unless it is stored with the same blob; notes the channels naming it. */
async function restoreRelease(
  ctx: RegistryContext,
  record: z.output<typeof ReleaseRecordSchema>,
  line: number,
  members: Map<string, Set<string>>,
  progress: { releases: number; skipped: number; bytes: number },
): Promise<void> {
  const { kind: _, ...entry } = record
  const item = { ...backupEntry(entry, { record: line, package: entry.package, release: entry.release }), entry }
  for (const c of entry.channels) {
    const set = members.get(c) ?? new Set<string>()
    set.add(item.release)
    members.set(c, set)
  }
  if (await alreadyStored(ctx, item.name, item.release, item.format, entry.content.digest)) progress.skipped++
  else {
    assertEntryAllowed(ctx, item)
    await storeEntry(ctx, item)
    progress.releases++
    progress.bytes += item.bytes.byteLength
  }
}

/** Whether the release is stored with this exact blob (then a resumed restore skips it). */
async function alreadyStored(ctx: RegistryContext, name: PackageName, release: string, format: string, digest: string): Promise<boolean> {
  const entry = await ctx.store.get(keys.pkg(name))
  if (entry === undefined) return false
  return own(own(decodePackage(entry, name).releases, release), format) === digest
}
