/**
 * Channel semantics, all in one place: the channel operations of `Registry.channels`, and
 * {@link writeChannel} / {@link dropFromChannels}, through which delete and restore change
 * channels too. A channel record lists its releases highest first; the package record mirrors
 * each channel's current release, so every channel change rewrites both in one commit.
 * @module
 */
import { ApprError } from '../errors/index.js'
import { type PackageName, parseChannelName } from '../model/package-name.js'
import { parseQuery } from '../model/query.js'
import { isRelease, sortReleasesDesc } from '../model/release.js'
import type { Channel } from '../model/types.js'
import type { RegistryContext } from './context.js'
import { eventReadKeys, recordEvent } from './events/record.js'
import { ociGraph } from './oci-graph.js'
import { followChannels, ociRepositoryOf } from './oci-projection.js'
import { decodePackage, lookupName, packageNotFound, readPackage } from './packages.js'
import { ChannelRecordType, decode, encode, keys, type NameMap, nameMap, own, type PackageRecord } from './records.js'
import { assertChannelAllowed } from './signatures.js'
import { type Transaction, transact } from './transaction.js'

/** Names of the channels whose current release is `release`, sorted. */
export function channelsOf(pkg: PackageRecord, release: string): string[] {
  return Object.entries(pkg.channels)
    .filter(([, current]) => current === release)
    .map(([name]) => name)
    .sort()
}

export async function listChannels(ctx: RegistryContext, pkg: string): Promise<Channel[]> {
  const name = lookupName(pkg)
  return readChannels(ctx, name, (await readPackage(ctx, name)).record)
}

/** The channel records `record` names, by name. */
export async function readChannels(ctx: RegistryContext, name: PackageName, record: PackageRecord): Promise<Channel[]> {
  const names = Object.keys(record.channels).sort()
  const entries = await ctx.store.getMany(names.map((c) => keys.chan(name, c)))
  const out: Channel[] = []
  entries.forEach((entry, i) => {
    if (entry) out.push(decode(ChannelRecordType, entry.value, { package: name.full, channel: names[i] }))
  })
  return out
}

export async function showChannel(ctx: RegistryContext, pkg: string, channel: string): Promise<Channel> {
  const name = lookupName(pkg)
  const [pkgEntry, chanEntry] = await ctx.store.getMany([keys.pkg(name), keys.chan(name, channelKeyPart(channel))])
  if (pkgEntry === undefined) throw packageNotFound({ package: name.full })
  if (chanEntry === undefined) throw channelNotFound(name, channel)
  return decode(ChannelRecordType, chanEntry.value, { package: name.full, channel })
}

export async function addToChannel(ctx: RegistryContext, pkg: string, channel: string, release: string): Promise<Channel> {
  const name = lookupName(pkg)
  const channelName = parseChannelName(channel)
  // A channel takes an exact release. A well-formed query names none, so it is not found (as
  // appr answers); a malformed one is invalid-release.
  const exact = isRelease(release) ? release : undefined
  if (exact === undefined) parseQuery(release)
  const shown = exact ?? String(release).slice(0, 300)
  const details = { package: name.full, channel: channelName, release: shown }
  return transact(ctx, details, async (tx) => {
    const [pkgEntry, chanEntry] = await tx.getMany([keys.pkg(name), keys.chan(name, channelName), ...eventReadKeys(ctx, name)])
    if (pkgEntry === undefined) throw packageNotFound({ package: name.full })
    const record = decodePackage(pkgEntry, name)
    if (exact === undefined || own(record.releases, exact) === undefined) {
      throw new ApprError('package-release-not-found', `${name.full} has no release ${shown}`, { details: { package: name.full, release: shown } })
    }
    await assertChannelAllowed(ctx, name.namespace, record, pkgEntry.version, exact)
    const existing = chanEntry ? decode(ChannelRecordType, chanEntry.value, details).releases : []
    const before = nameMap(record.channels)
    const channelValue = writeChannel(tx, name, record, channelName, [...new Set([...existing, exact])], exact)!
    await recordEvent(ctx, tx, name, { type: 'channel.added', channel: channelName, release: exact }, record)
    tx.put(keys.pkg(name), encode(record))
    await followChannelTags(ctx, tx, name, before, record)
    return channelValue
  })
}

export async function removeFromChannel(ctx: RegistryContext, pkg: string, channel: string, release: string): Promise<Channel | undefined> {
  const name = lookupName(pkg)
  const channelPart = channelKeyPart(channel)
  const details = { package: name.full, channel: String(channel).slice(0, 200), release: String(release).slice(0, 300) }
  return transact(ctx, details, async (tx) => {
    const [pkgEntry, chanEntry] = await tx.getMany([keys.pkg(name), keys.chan(name, channelPart), ...eventReadKeys(ctx, name)])
    if (pkgEntry === undefined) throw packageNotFound({ package: name.full })
    if (chanEntry === undefined) throw channelNotFound(name, channel)
    const record = decodePackage(pkgEntry, name)
    if (own(record.releases, release) === undefined) throw packageNotFound({ package: name.full, release: details.release })
    const current = decode(ChannelRecordType, chanEntry.value, details)
    const before = nameMap(record.channels)
    const result = writeChannel(tx, name, record, current.name, current.releases.filter((r) => r !== release))
    await recordEvent(ctx, tx, name, { type: 'channel.removed', channel: current.name, release, current: result?.current ?? null }, record)
    tx.put(keys.pkg(name), encode(record))
    await followChannelTags(ctx, tx, name, before, record)
    return result
  })
}

export async function deleteChannel(ctx: RegistryContext, pkg: string, channel: string): Promise<void> {
  const name = lookupName(pkg)
  const channelPart = channelKeyPart(channel)
  await transact(ctx, { package: name.full, channel: String(channel).slice(0, 200) }, async (tx) => {
    const [pkgEntry, chanEntry] = await tx.getMany([keys.pkg(name), keys.chan(name, channelPart), ...eventReadKeys(ctx, name)])
    if (pkgEntry === undefined) throw packageNotFound({ package: name.full })
    if (chanEntry === undefined) throw channelNotFound(name, channel)
    const record = decodePackage(pkgEntry, name)
    const before = nameMap(record.channels)
    writeChannel(tx, name, record, channelPart, [])
    await recordEvent(ctx, tx, name, { type: 'channel.deleted', channel: channelPart }, record)
    tx.put(keys.pkg(name), encode(record))
    await followChannelTags(ctx, tx, name, before, record)
  })
}

export async function channelsOfRelease(ctx: RegistryContext, pkg: string, release: string, membership: boolean): Promise<string[]> {
  const name = lookupName(pkg)
  const record = (await readPackage(ctx, name)).record
  if (own(record.releases, release) === undefined) throw packageNotFound({ package: name.full, release: String(release).slice(0, 300) })
  if (!membership) return channelsOf(record, release)
  return (await listChannels(ctx, pkg)).filter((c) => c.releases.includes(release)).map((c) => c.name)
}

/** Moves the OCI tags of the channels a commit changed (`before`: the package's channels before it). */
export async function followChannelTags(ctx: RegistryContext, tx: Transaction, name: PackageName, before: NameMap<string>, record: PackageRecord): Promise<void> {
  const repo = ociRepositoryOf(name)
  if (repo !== undefined) await followChannels(ociGraph(ctx, tx), repo, before, record)
}

/** A channel name for a lookup: one that cannot exist is simply not found. */
function channelKeyPart(channel: string): string {
  try {
    return parseChannelName(channel)
  } catch {
    // `\u0000` never appears in a stored channel key, so the lookup misses.
    return '\u0000'
  }
}

function channelNotFound(name: PackageName, channel: string): ApprError {
  const shown = String(channel).slice(0, 200)
  return new ApprError('channel-not-found', `channel ${shown} of ${name.full} not found`, { details: { package: name.full, channel: shown } })
}

/**
 * Removes a deleted release from every channel of the package (records updated in `record` and
 * `tx`). Returns the names of the channels that contained it, sorted.
 */
export async function dropFromChannels(tx: Transaction, name: PackageName, record: PackageRecord, release: string): Promise<string[]> {
  const names = Object.keys(record.channels).sort()
  if (names.length === 0) return []
  await tx.getMany(names.map((c) => keys.chan(name, c)))
  const changed: string[] = []
  for (const channelName of names) {
    // As the transaction leaves it: one commit may drop several releases (deleteFormats).
    const value = await tx.latest(keys.chan(name, channelName))
    if (value === undefined) continue
    const channel = decode(ChannelRecordType, value, { package: name.full, channel: channelName })
    if (!channel.releases.includes(release)) continue
    writeChannel(tx, name, record, channelName, channel.releases.filter((r) => r !== release))
    changed.push(channelName)
  }
  return changed
}

/** Writes a channel with `releases` (current = the highest), or deletes it when empty. */
export function writeChannel(tx: Transaction, name: PackageName, record: PackageRecord, channel: string, releases: readonly string[], current?: string): Channel | undefined {
  if (releases.length === 0) {
    tx.delete(keys.chan(name, channel))
    delete record.channels[channel]
    return undefined
  }
  const sorted = sortReleasesDesc(releases)
  const value: Channel = { name: channel, current: current ?? sorted[0]!, releases: sorted }
  tx.put(keys.chan(name, channel), encode(value))
  record.channels[channel] = value.current
  return value
}
