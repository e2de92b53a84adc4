/**
 * Backup and restore in appr's backup format. Backup reads package by package; restore validates
 * the whole document before it writes anything, then stores each manifest as a forced push and
 * sets each channel, one commit each.
 * @module
 */
import { validateBlob } from '../archive/validate.js'
import { ApprError, type ErrorDetails } from '../errors/index.js'
import { parseFormat } from '../model/media-type.js'
import { type PackageName, parseChannelName, parsePackageName } from '../model/package-name.js'
import { parseRelease } from '../model/release.js'
import type { z } from 'zod'
import type { BackupPackageSchema } from '../model/schemas.js'
import { BackupDocumentSchema } from '../model/schemas.js'
import { listAll } from '../storage/util.js'
import { blobChunks, collectBytes, decodeBase64 } from './blob-input.js'
import { followChannelTags, readChannels, writeChannel } from './channels.js'
import type { RegistryContext } from './context.js'
import { eventReadKeys, recordEvent } from './events/record.js'
import { decodePackage, packageNotFound, readPackage } from './packages.js'
import { storeRelease } from './push.js'
import { getManifests, manifestKeys, openBlob } from './read.js'
import { ChannelRecordType, decode, encode, keys, nameMap, own } from './records.js'
import { acceptSignatures, assertPushAllowed, releaseSignatures } from './signatures.js'
import { transact } from './transaction.js'
import type { BackupDocument, BackupPackage } from './types.js'

export async function backup(ctx: RegistryContext): Promise<BackupDocument> {
  const packages: BackupPackage[] = []
  const channels: BackupDocument['channels'] = []
  for await (const entry of listAll(ctx.store, keys.packages, 100)) {
    const full = entry.key.slice(keys.packages.length)
    const name = parsePackageName(full)
    // One read of the package record names both its channels and its manifests.
    const { record, version } = await readPackage(ctx, name)
    const channelList = await readChannels(ctx, name, record)
    for (const c of channelList) channels.push({ package: full, name: c.name, current: c.current })
    for (const manifest of await getManifests(ctx, name, version, manifestKeys(name, record))) {
      const { stream } = await openBlob(ctx, name, manifest.content.digest, { package: full, release: manifest.release })
      const bytes = await collectBytes(stream)
      const signatures = record.signatures && releaseSignatures(record, manifest.release, parseFormat(manifest.mediaType))
      packages.push({
        ...manifest,
        blob: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
        channels: channelList.filter((c) => c.releases.includes(manifest.release)).map((c) => c.name),
        ...(signatures && signatures.length > 0 && { signatures }),
      })
    }
  }
  return { packages, channels }
}

/** Older appr backups (backup1.json) have no `metadata` in their entries; the schema wants the key present. */
export function entryWithMetadata(entry: unknown): unknown {
  return typeof entry === 'object' && entry !== null && !('metadata' in entry) ? { ...entry, metadata: null } : entry
}

/** A backup entry's names, checked, and its blob decoded. */
export function backupEntry(entry: z.output<typeof BackupPackageSchema>, details: ErrorDetails) {
  const name = parsePackageName(entry.package)
  const release = parseRelease(entry.release)
  const format = parseFormat(entry.mediaType)
  if (parseFormat(entry.content.mediaType) !== format) {
    throw new ApprError('invalid-parameters', 'manifest and content media types name different formats', { details })
  }
  for (const c of entry.channels) parseChannelName(c)
  return { name, release, format, bytes: decodeBase64(entry.blob, details), details }
}

type Entry = ReturnType<typeof backupEntry> & { readonly entry: z.output<typeof BackupPackageSchema> }

/** Refuses an entry whose signatures the namespace's policy does not accept. */
export function assertEntryAllowed(ctx: RegistryContext, { entry, name, release }: Entry): void {
  const manifest = { ...entry, package: name.full, release, created_at: entry.created_at ?? '' }
  assertPushAllowed(ctx, manifest, acceptSignatures(ctx, manifest, entry.signatures ?? []))
}

/** Stores an entry as a forced push keeping its dates and media types (its blob checked against its digest and size). */
export async function storeEntry(ctx: RegistryContext, item: Entry): Promise<void> {
  await storeRelease(ctx, {
    name: item.name,
    release: item.release,
    format: item.format,
    source: blobChunks(item.bytes),
    metadata: item.entry.metadata,
    force: true,
    restored: true,
    mediaTypes: { manifest: item.entry.mediaType, content: item.entry.content.mediaType },
    expect: { digest: item.entry.content.digest, size: item.entry.content.size },
    ...(item.entry.created_at !== undefined && { createdAt: item.entry.created_at }),
    signatures: item.entry.signatures,
  })
}

export async function restore(ctx: RegistryContext, doc: unknown): Promise<void> {
  const withMetadata =
    typeof doc === 'object' && doc !== null && Array.isArray((doc as { packages?: unknown }).packages)
      ? { ...doc, packages: (doc as { packages: unknown[] }).packages.map(entryWithMetadata) }
      : doc
  const parsed = BackupDocumentSchema.safeParse(withMetadata)
  if (!parsed.success) {
    throw new ApprError('invalid-parameters', `not an appr backup document: ${parsed.error.issues[0]?.message ?? 'invalid'}`, {
      details: { issues: parsed.error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message })) },
      cause: parsed.error,
    })
  }
  const items = parsed.data.packages.map((entry, index) => ({ ...backupEntry(entry, { index, package: entry.package, release: entry.release }), entry }))
  const currents = parsed.data.channels.map((c) => ({ name: parsePackageName(c.package), channel: parseChannelName(c.name), current: parseRelease(c.current) }))
  for (const item of items) {
    const facts = await validateBlob(item.bytes, ctx.limits)
    if (facts.digest !== item.entry.content.digest || facts.size !== item.entry.content.size) {
      throw new ApprError('invalid-parameters', 'a backup blob does not match its manifest (digest or size)', {
        details: { ...item.details, digest: item.entry.content.digest, actual: facts.digest },
      })
    }
    // Signatures and policies are checked here too, so a refused entry stops the restore before anything is written.
    assertEntryAllowed(ctx, item)
  }

  for (const item of items) await storeEntry(ctx, item)

  // Channel membership comes from the manifests, `current` from the channel list.
  const wanted = new Map<string, { name: PackageName; channel: string; releases: Set<string>; current?: string }>()
  const slot = (name: PackageName, channel: string) => {
    const id = `${name.full}\u0000${channel}`
    const value = wanted.get(id) ?? { name, channel, releases: new Set<string>() }
    wanted.set(id, value)
    return value
  }
  for (const item of items) for (const c of item.entry.channels) slot(item.name, c).releases.add(item.release)
  for (const c of currents) {
    const value = slot(c.name, c.channel)
    value.current = c.current
    value.releases.add(c.current)
  }
  for (const { name, channel, releases, current } of wanted.values()) await restoreChannel(ctx, name, channel, releases, current)
}

/**
 * Sets a channel to `releases` with `current` (all must be releases of the package), in one
 * commit with its event; a channel that already is exactly that is left alone (so a restore run
 * again writes nothing). Answers whether it wrote.
 */
export async function restoreChannel(ctx: RegistryContext, name: PackageName, channel: string, releases: ReadonlySet<string>, current: string | undefined): Promise<boolean> {
  return transact(ctx, { package: name.full, channel }, async (tx) => {
    const [pkgEntry, chanEntry] = await tx.getMany([keys.pkg(name), keys.chan(name, channel), ...eventReadKeys(ctx, name)])
    if (pkgEntry === undefined) throw packageNotFound({ package: name.full })
    const record = decodePackage(pkgEntry, name)
    const missing = [...releases].find((r) => own(record.releases, r) === undefined)
    if (missing !== undefined) {
      throw new ApprError('package-release-not-found', `channel ${channel} names ${name.full} ${missing}, which the backup does not contain`, {
        details: { package: name.full, channel, release: missing },
      })
    }
    const existing = chanEntry && decode(ChannelRecordType, chanEntry.value, { package: name.full, channel })
    if (existing && existing.releases.length === releases.size && existing.releases.every((r) => releases.has(r)) && (current === undefined || existing.current === current)) return false
    const before = nameMap(record.channels)
    const written = writeChannel(tx, name, record, channel, [...releases], current)!
    await recordEvent(ctx, tx, name, { type: 'channel.set', channel, releases: written.releases, current: written.current }, record)
    tx.put(keys.pkg(name), encode(record))
    await followChannelTags(ctx, tx, name, before, record)
    return true
  })
}
