/**
 * Deleting one `(package, release, format)`: the manifest, its reference counts, the head of its
 * format, the release's channel memberships (when its last format goes) and the package (when
 * its last release goes), in one commit. {@link deleteFormats} deletes several of one package
 * (a whole release deleted through `/v2/`) in one commit too.
 * @module
 */
import type { PackageName } from '../model/package-name.js'
import { dropFromChannels } from './channels.js'
import type { RegistryContext } from './context.js'
import { eventReadKeys, recordEvent } from './events/record.js'
import { nextDefault, updateHead } from './heads.js'
import { ociGraph } from './oci-graph.js'
import { followChannels, hideFormat, hideKeys, ociRepositoryOf } from './oci-projection.js'
import { OciReleaseRecordType, ociKeys } from './oci-records.js'
import { decodePackage, lookupFormat, lookupName, packageNotFound } from './packages.js'
import { adjustRefs, deleteObjects } from './push.js'
import { BlobRecordType, decode, encode, type Head, keys, ManifestRecordType, nameMap, own, type PackageRecord } from './records.js'
import { setReleaseSignatures } from './signatures.js'
import { type Transaction, transact } from './transaction.js'

export async function deleteRelease(ctx: RegistryContext, pkg: string, release: string, format: string): Promise<void> {
  const name = lookupName(pkg)
  const details = { package: name.full, release: String(release).slice(0, 300), media_type: String(format).slice(0, 200) }
  const fmt = lookupFormat(format, details)
  await deleteFormats(ctx, name, [{ release, format: fmt }], { missing: 'throw' })
}

/**
 * What {@link deleteFormats} deletes: one format of a release, or (`format` absent) every format
 * the release has when the commit is made. With `ociDigest`, a format goes only while the OCI
 * view of the release still shows it with that manifest digest.
 */
export interface FormatTarget {
  readonly release: string
  readonly format?: string
  readonly ociDigest?: string
}

/**
 * Deletes `targets` of one package in ONE commit, each format as {@link deleteRelease} deletes
 * one and with its own event, so no reader sees a release with some of them gone. With
 * `missing: 'skip'`, a target that is not there (deleted meanwhile) is left out instead of
 * failing the whole; returns the number of formats deleted.
 * @throws package-not-found (with `missing: 'throw'`, for an absent package, release or format)
 */
export async function deleteFormats(ctx: RegistryContext, name: PackageName, targets: readonly FormatTarget[], options: { missing: 'throw' | 'skip' }): Promise<number> {
  const repo = ociRepositoryOf(name)
  const first = targets[0]
  if (first === undefined) return 0
  const details = { package: name.full, release: String(first.release).slice(0, 300), ...(first.format === undefined ? {} : { media_type: String(first.format).slice(0, 200) }) }
  const releases = [...new Set(targets.map((t) => t.release))]
  const outcome = await transact(ctx, details, async (tx) => {
    const [pkgEntry] = await tx.getMany([keys.pkg(name), ...eventReadKeys(ctx, name), ...(repo === undefined ? [] : releases.flatMap((r) => hideKeys(repo, r)))])
    if (pkgEntry === undefined) {
      if (options.missing === 'skip') return { deleted: 0, doomed: [] }
      throw packageNotFound({ package: name.full })
    }
    const record = decodePackage(pkgEntry, name)
    const chosen: { release: string; format: string }[] = []
    for (const target of targets) {
      const formats = target.format === undefined ? Object.keys(own(record.releases, target.release) ?? {}).sort() : [target.format]
      for (const format of formats) {
        if (chosen.some((c) => c.release === target.release && c.format === format)) continue
        if (own(own(record.releases, target.release), format) === undefined) {
          if (options.missing === 'skip') continue
          throw packageNotFound(details)
        }
        if (target.ociDigest !== undefined && !(repo !== undefined && (await shownAs(tx, repo, target.release, format)) === target.ociDigest)) continue
        chosen.push({ release: target.release, format })
      }
    }
    const doomed: string[] = []
    for (const { release, format } of chosen) doomed.push(...(await deleteFormat(ctx, tx, name, record, release, format)))
    const packageGone = Object.keys(record.releases).length === 0
    if (packageGone) tx.delete(keys.pkg(name))
    else if (chosen.length > 0) tx.put(keys.pkg(name), encode(record))
    return { deleted: chosen.length, doomed }
  })
  await deleteObjects(ctx, outcome.doomed)
  return outcome.deleted
}

/** The manifest digest the OCI view of a release shows for a format, as the transaction leaves it. */
async function shownAs(tx: Transaction, repo: string, release: string, format: string): Promise<string | undefined> {
  const bytes = await tx.latest(ociKeys.release(repo, release))
  return bytes && own(decode(OciReleaseRecordType, bytes, { name: repo, release }).formats, format)?.digest
}

/** One format's part of a delete's commit; `record` is updated (its write is the caller's). Returns the objects to delete after the commit. */
async function deleteFormat(ctx: RegistryContext, tx: Transaction, name: PackageName, record: PackageRecord, release: string, fmt: string): Promise<string[]> {
  const digest = record.releases[release]![fmt]!
  const releaseGoes = Object.keys(record.releases[release]!).length === 1
  // One round trip for everything the helpers below read (they reuse the transaction's reads).
  const channelKeys = releaseGoes ? Object.keys(record.channels).map((c) => keys.chan(name, c)) : []
  // When the format's head goes, the next default release's manifest becomes the head: read it in the same round trip.
  const next = own(record.heads, fmt)?.manifest.release === release ? nextDefault(record, release, fmt) : undefined
  const nextKeys = next ? [keys.man(name, next.release, fmt), keys.blob(next.digest)] : []
  const read = await tx.getMany([keys.blob(digest), keys.pblob(name, digest), ...channelKeys, ...nextKeys])
  tx.delete(keys.man(name, release, fmt))
  delete record.releases[release]![fmt]
  if (own(own(record.signatures, release), fmt)) setReleaseSignatures(record, release, fmt, [])
  let channels: string[] = []
  const before = nameMap(record.channels)
  if (releaseGoes) {
    delete record.releases[release]
    channels = await dropFromChannels(tx, name, record, release)
  }
  let candidate: Head | undefined
  const [manEntry, blobEntry] = read.slice(read.length - nextKeys.length)
  if (next && manEntry && blobEntry) {
    const manifest = decode(ManifestRecordType, manEntry.value, { package: name.full, release: next.release, media_type: fmt })
    const blob = decode(BlobRecordType, blobEntry.value, { package: name.full, digest: next.digest })
    candidate = { manifest, ociDigest: blob.ociDigest, size: blob.size, object: blob.object }
  }
  updateHead(record, fmt, candidate)
  const packageGone = Object.keys(record.releases).length === 0
  const event = { type: 'release.deleted', release, format: fmt, digest, releaseGone: releaseGoes, packageGone, channels } as const
  await recordEvent(ctx, tx, name, event, record, packageGone)
  const doomed = await adjustRefs(tx, name, new Map([[digest, -1]]))
  const repo = ociRepositoryOf(name)
  if (repo !== undefined) {
    // The OCI view goes in the same commit: the format's manifest, the tag if it was the last.
    const graph = ociGraph(ctx, tx)
    await hideFormat(graph, repo, release, fmt, record)
    await followChannels(graph, repo, before, record)
    doomed.push(...graph.doomed)
  }
  return doomed
}
