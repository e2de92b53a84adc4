/**
 * OCI content that is an appr release: a chart (as `helm push` writes it) or an appr artifact
 * pushed through `/v2/` at a SemVer tag of a `<ns>/<name>` repository becomes a release of package
 * `<ns>/<name>`, recorded by the same commit as an appr push (push.ts `commitRelease`) with the
 * pushed manifest as the format's OCI view and the uploaded blob's object as the appr blob's (one
 * stored copy). An index at such a tag becomes a release of several formats when it is exactly the
 * index appr-core serves for them. A `/v2/` DELETE of a release's tag or manifest deletes the
 * release (or the format); of a channel's tag, the channel. The rules are in docs/oci.md,
 * "Conflicts".
 * @module
 */
import { analyzeBlob } from '../archive/validate.js'
import { ApprError, isApprError } from '../errors/index.js'
import { type PackageName, parsePackageName } from '../model/package-name.js'
import { parseOciDigest } from '../oci/digest.js'
import { OciError } from '../oci/errors.js'
import { versionOfHelmTag } from '../oci/helm.js'
import { OCI_INDEX } from '../oci/media-types.js'
import { projectIndex } from '../oci/projection.js'
import type { ManifestReference } from '../oci/reference.js'
import type { KvEntry } from '../storage/kv.js'
import { apprLayerOf, packageOfRepository } from '../oci/releases.js'
import type { OciDescriptor, ParsedManifest } from '../oci/schemas.js'
import { parseManifest } from '../oci/schemas.js'
import { deleteChannel } from './channels.js'
import type { RegistryContext } from './context.js'
import { deleteFormats, type FormatTarget } from './delete.js'
import { givenFormat } from './oci-projection.js'
import { OciBlobRecordType, type OciManifestRecord, OciManifestRecordType, OciReleaseRecordType, OciTagRecordType, ociKeys } from './oci-records.js'
import { commitFormats, type FormatPush } from './push.js'
import { decodePackage } from './packages.js'
import { decode, keys, own } from './records.js'
import { isCommitTooLarge, type Transaction } from './transaction.js'

/** The appr package a repository shows (`<ns>/<name>`), or undefined. */
function packageOf(repo: string): PackageName | undefined {
  const pkg = packageOfRepository('', repo)
  return pkg === undefined ? undefined : parsePackageName(pkg)
}

/**
 * Records a manifest pushed at `tag` as an appr release when it is one (see the module comment).
 * False when it is not: the caller stores it as plain OCI content.
 * @throws OciError `DENIED` (the release has this format with other bytes, unless `ociOverwriteReleases`), `MANIFEST_INVALID` (the package archive is not one appr accepts), `MANIFEST_BLOB_UNKNOWN`
 */
export async function putRelease(ctx: RegistryContext, repo: string, tag: string, bytes: Uint8Array, parsed: ParsedManifest): Promise<boolean> {
  const name = packageOf(repo)
  const release = versionOfHelmTag(tag)
  if (name === undefined || release === undefined) return false
  const single = apprLayerOf(parsed)
  if (single) {
    await putFormats(ctx, repo, name, release, [{ format: single.format, bytes, parsed, layer: single.layer }])
    return true
  }
  if (parsed.mediaType !== OCI_INDEX || parsed.manifests.length < 2) return false
  const entries: (PushedFormat & { descriptor: OciDescriptor })[] = []
  const children = await ctx.store.getMany(parsed.manifests.map((d) => ociKeys.manifest(repo, parseOciDigest(d.digest))))
  for (const [i, entry] of children.entries()) {
    if (!entry) return false // the plain path reports the missing manifest
    const record = decode(OciManifestRecordType, entry.value, { name: repo })
    const childBytes = new Uint8Array(Buffer.from(record.bytes, 'base64'))
    const childParsed = parseManifest(childBytes, record.mediaType)
    const found = apprLayerOf(childParsed)
    if (!found || entries.some((e) => e.format === found.format)) return false
    entries.push({ format: found.format, bytes: childBytes, parsed: childParsed, layer: found.layer, descriptor: parsed.manifests[i]! })
  }
  // Only the index appr-core itself serves for these formats: another one (with platforms,
  // other annotations) would not be what the release's tag then resolves to.
  const expected = projectIndex(entries.map((e) => ({ format: e.format, mediaType: e.descriptor.mediaType, digest: e.descriptor.digest, size: e.descriptor.size })))
  if (Buffer.compare(expected.bytes, bytes) !== 0) return false
  await putFormats(ctx, repo, name, release, entries)
  return true
}

/** A format's manifest (exact bytes) a client pushed, with its package layer. */
interface PushedFormat {
  readonly format: string
  readonly bytes: Uint8Array
  readonly parsed: ParsedManifest
  readonly layer: OciDescriptor
}

/**
 * Records formats of a release whose manifests and blobs a client pushed, all in one commit
 * (docs/oci.md, "OCI → appr"): every layer is validated first, so a bad one writes nothing.
 */
async function putFormats(ctx: RegistryContext, repo: string, name: PackageName, release: string, formats: readonly PushedFormat[]): Promise<void> {
  const pushes: FormatPush[] = []
  // The release's view and every layer's link and blob record, in one round trip.
  const layers = formats.map((f) => parseOciDigest(f.layer.digest))
  const [releaseEntry, ...entries] = await ctx.store.getMany([ociKeys.release(repo, release), ...layers.flatMap((hex) => [ociKeys.link(repo, hex), ociKeys.blob(hex)])])
  const shown = releaseEntry && decode(OciReleaseRecordType, releaseEntry.value, { name: repo, release }).formats
  for (const [i, { format, bytes, parsed, layer }] of formats.entries()) {
    const [link, blobEntry] = [entries[2 * i], entries[2 * i + 1]]
    const blob = link && blobEntry && decode(OciBlobRecordType, blobEntry.value, { name: repo, digest: layer.digest })
    if (!link || !blob?.object) {
      throw new OciError('MANIFEST_BLOB_UNKNOWN', `the manifest names blob ${layer.digest}, which ${repo} does not have`, { detail: { digest: layer.digest } })
    }
    const view = givenFormat(repo, format, bytes, parsed, layer)
    if (own(shown, format)?.digest === view.manifest.digest) continue // pushed again: it is the release's already
    const facts = await analyze(ctx, blob.object, layer.digest)
    pushes.push({ input: { name, release, format, metadata: null, force: ctx.ociOverwriteReleases }, upload: { id: blob.object, facts, adopted: true }, given: view })
  }
  if (pushes.length === 0) return
  try {
    await commitFormats(ctx, pushes).catch(async (error: unknown) => {
      // A store whose commits cannot hold them all (etcd, past about six formats) gets one format a commit.
      if (!isCommitTooLarge(error) || pushes.length === 1) throw error
      for (const push of pushes) await commitFormats(ctx, [push])
    })
  } catch (error) {
    if (isApprError(error) && error.code === 'package-exists') {
      const format = String(error.details.media_type)
      throw new OciError('DENIED', `${name.full} ${release} has format ${format} already, with other bytes; delete it first (docs/oci.md, "Conflicts")`, {
        detail: { name: repo, release, format },
      })
    }
    throw error
  }
}

/** Validates and digests an OCI blob as an appr package archive. */
async function analyze(ctx: RegistryContext, object: string, digest: string): Promise<Awaited<ReturnType<typeof analyzeBlob>['facts']>> {
  const stream = await ctx.blobs.read(object)
  if (!stream) throw new OciError('MANIFEST_BLOB_UNKNOWN', `the bytes of ${digest} are gone`, { detail: { digest } })
  const analysis = analyzeBlob(stream, ctx.limits)
  try {
    for await (const _ of analysis.chunks) {
      // drained: validation and digests
    }
    return await analysis.facts
  } catch (error) {
    if (!isApprError(error)) throw error
    throw new OciError('MANIFEST_INVALID', `the package layer ${digest} is not an archive appr accepts: ${error.message}`, { detail: { digest, ...error.details } })
  }
}

/**
 * A `/v2/` DELETE of what an appr release or channel holds: a release's tag (the whole release),
 * a channel's tag (the channel); by digest, every release whose tag names the manifest and the
 * format of every release whose manifest it is, in one commit. False when the reference is none of appr's.
 */
export async function deleteRelease(ctx: RegistryContext, repo: string, ref: ManifestReference): Promise<boolean> {
  const name = packageOf(repo)
  if (name === undefined) return false
  const releases: string[] = []
  const formats: { release: string; format: string }[] = []
  if (ref.kind === 'tag') {
    const entry = await ctx.store.get(ociKeys.tag(repo, ref.tag))
    const tag = entry && decode(OciTagRecordType, entry.value, { name: repo, tag: ref.tag })
    if (tag?.appr === 'channel') {
      await ignoreGone(deleteChannel(ctx, name.full, ref.tag))
      return true
    }
    const release = tag?.appr === 'release' ? versionOfHelmTag(ref.tag) : undefined
    if (release !== undefined) releases.push(release)
  } else {
    const entry = await ctx.store.get(ociKeys.manifest(repo, parseOciDigest(ref.digest)))
    const record = entry && decode(OciManifestRecordType, entry.value, { name: repo, reference: ref.digest })
    if (!record) return false
    // One manifest may be several releases' (a chart pushed at two tags), so its tags say which.
    const tags = await ctx.store.getMany(record.tags.map((t) => ociKeys.tag(repo, t)))
    record.tags.forEach((t, i) => {
      const held = tags[i] && decode(OciTagRecordType, tags[i]!.value, { name: repo, tag: t }).appr
      const release = held === 'release' ? versionOfHelmTag(t) : undefined
      if (release !== undefined) releases.push(release)
    })
    const format = record.appr?.format
    // The format's manifest of every release showing it (an index of another release may name it too).
    if (format !== undefined) for (const release of await releasesShowing((k) => ctx.store.getMany(k), name, repo, format, ref.digest)) formats.push({ release, format })
  }
  // The whole release, or the format whose manifest it is while the release still shows it: one commit.
  const targets: FormatTarget[] = [...releases.map((release) => ({ release })), ...formats.map((f) => ({ ...f, ...(ref.kind === 'digest' && { ociDigest: ref.digest }) }))]
  const deleted = await deleteFormats(ctx, name, targets, { missing: 'skip' }).catch(async (error: unknown) => {
    if (!isCommitTooLarge(error)) throw error
    return deleteEach(ctx, name, targets)
  })
  return deleted > 0 || releases.length > 0
}

/** {@link deleteFormats} one format a commit, for a store whose commits cannot hold a whole release. */
async function deleteEach(ctx: RegistryContext, name: PackageName, targets: readonly FormatTarget[]): Promise<number> {
  let deleted = 0
  for (const target of targets) {
    const entry = target.format === undefined ? await ctx.store.get(keys.pkg(name)) : undefined
    const formats = target.format === undefined ? Object.keys((entry && own(decodePackage(entry, name).releases, target.release)) ?? {}) : [target.format]
    for (const format of formats) deleted += await deleteFormats(ctx, name, [{ ...target, format }], { missing: 'skip' })
  }
  return deleted
}

/** The releases of `name` whose OCI view shows manifest `digest` as their `format`, read through `getMany` (a store's, or a transaction's). */
async function releasesShowing(getMany: (keys: readonly string[]) => Promise<(KvEntry | undefined)[]>, name: PackageName, repo: string, format: string, digest: string): Promise<string[]> {
  const [pkgEntry] = await getMany([keys.pkg(name)])
  const holders = pkgEntry ? Object.entries(decodePackage(pkgEntry, name).releases).flatMap(([r, f]) => (own(f, format) === undefined ? [] : [r])) : []
  const shown = await getMany(holders.map((r) => ociKeys.release(repo, r)))
  return holders.filter((release, i) => shown[i] !== undefined && own(decode(OciReleaseRecordType, shown[i]!.value, { name: repo, release }).formats, format)?.digest === digest)
}

/**
 * True when a release shows manifest `digest` (its `record`), read in `tx`: a DELETE by digest
 * deleted the releases showing it, but an index pushed meanwhile may have made it a format of
 * another, whose index would then name a deleted manifest. Only a format's manifest that an index
 * names can be one, so others cost nothing.
 */
export async function shownByRelease(tx: Transaction, repo: string, record: OciManifestRecord, digest: string): Promise<boolean> {
  const name = packageOf(repo)
  const format = record.appr?.format
  if (name === undefined || format === undefined || (record.refs ?? 0) === 0) return false
  return (await releasesShowing((k) => tx.getMany(k), name, repo, format, digest)).length > 0
}

/** A delete that another writer did first is done. */
async function ignoreGone(done: Promise<void>): Promise<void> {
  try {
    await done
  } catch (error) {
    if (!(error instanceof ApprError) || (error.code !== 'package-not-found' && error.code !== 'channel-not-found')) throw error
  }
}
