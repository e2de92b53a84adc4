/**
 * Deleting one `(package, release, format)`: the manifest, its reference counts, the head of its
 * format, the release's channel memberships (when its last format goes) and the package (when
 * its last release goes), in one commit.
 * @module
 */
import { dropFromChannels } from './channels.js'
import type { RegistryContext } from './context.js'
import { eventReadKeys, recordEvent } from './events/record.js'
import { nextDefault, updateHead } from './heads.js'
import { ociGraph } from './oci-graph.js'
import { followChannels, hideFormat, hideKeys, ociRepositoryOf } from './oci-projection.js'
import { decodePackage, lookupFormat, lookupName, packageNotFound } from './packages.js'
import { adjustRefs, deleteObjects } from './push.js'
import { BlobRecordType, decode, encode, type Head, keys, ManifestRecordType, nameMap, own } from './records.js'
import { setReleaseSignatures } from './signatures.js'
import { transact } from './transaction.js'

export async function deleteRelease(ctx: RegistryContext, pkg: string, release: string, format: string): Promise<void> {
  const name = lookupName(pkg)
  const details = { package: name.full, release: String(release).slice(0, 300), media_type: String(format).slice(0, 200) }
  const fmt = lookupFormat(format, details)
  const repo = ociRepositoryOf(name)
  const doomed = await transact(ctx.store, ctx.maxRetries, details, async (tx) => {
    const [pkgEntry] = await tx.getMany([keys.pkg(name), ...eventReadKeys(ctx, name), ...(repo === undefined ? [] : hideKeys(repo, release))])
    if (pkgEntry === undefined) throw packageNotFound({ package: name.full })
    const record = decodePackage(pkgEntry, name)
    const digest = own(own(record.releases, release), fmt)
    if (digest === undefined) throw packageNotFound(details)
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
    if (packageGone) tx.delete(keys.pkg(name))
    else tx.put(keys.pkg(name), encode(record))
    const doomed = await adjustRefs(tx, name, new Map([[digest, -1]]))
    if (repo !== undefined) {
      // The OCI view goes in the same commit: the format's manifest, the tag if it was the last.
      const graph = ociGraph(ctx, tx)
      await hideFormat(graph, repo, release, fmt, record)
      await followChannels(graph, repo, before, record)
      doomed.push(...graph.doomed)
    }
    return doomed
  })
  await deleteObjects(ctx, doomed)
}
