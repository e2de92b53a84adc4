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
import { apprLayerOf, packageOfRepository } from '../oci/releases.js'
import type { OciDescriptor, ParsedManifest } from '../oci/schemas.js'
import { parseManifest } from '../oci/schemas.js'
import { listAll } from '../storage/util.js'
import { deleteChannel } from './channels.js'
import type { RegistryContext } from './context.js'
import { deleteRelease as deleteApprRelease } from './delete.js'
import { givenFormat } from './oci-projection.js'
import { OciBlobRecordType, OciManifestRecordType, OciReleaseRecordType, OciTagRecordType, ociKeys } from './oci-records.js'
import { commitRelease } from './push.js'
import { decode, own } from './records.js'

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
    await putFormat(ctx, repo, name, release, single.format, bytes, parsed, single.layer)
    return true
  }
  if (parsed.mediaType !== OCI_INDEX || parsed.manifests.length < 2) return false
  const entries: { format: string; bytes: Uint8Array; parsed: ParsedManifest; layer: OciDescriptor; descriptor: OciDescriptor }[] = []
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
  for (const e of entries) await putFormat(ctx, repo, name, release, e.format, e.bytes, e.parsed, e.layer)
  return true
}

/** Records one format of a release whose manifest (exact bytes) and blobs a client pushed. */
async function putFormat(ctx: RegistryContext, repo: string, name: PackageName, release: string, format: string, bytes: Uint8Array, parsed: ParsedManifest, layer: OciDescriptor): Promise<void> {
  const layerHex = parseOciDigest(layer.digest)
  const [link, blobEntry, releaseEntry] = await ctx.store.getMany([ociKeys.link(repo, layerHex), ociKeys.blob(layerHex), ociKeys.release(repo, release)])
  const blob = link && blobEntry && decode(OciBlobRecordType, blobEntry.value, { name: repo, digest: layer.digest })
  if (!link || !blob?.object) {
    throw new OciError('MANIFEST_BLOB_UNKNOWN', `the manifest names blob ${layer.digest}, which ${repo} does not have`, { detail: { digest: layer.digest } })
  }
  const view = givenFormat(repo, format, bytes, parsed, layer)
  const shown = releaseEntry && decode(OciReleaseRecordType, releaseEntry.value, { name: repo, release }).formats[format]
  if (shown?.digest === view.manifest.digest) return // pushed again: it is the release already
  const facts = await analyze(ctx, blob.object, layer.digest)
  try {
    await commitRelease(ctx, { name, release, format, metadata: null, force: ctx.ociOverwriteReleases }, { id: blob.object, facts, adopted: true }, view)
  } catch (error) {
    if (isApprError(error) && error.code === 'package-exists') {
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
 * format whose manifest it is. False when the reference is none of appr's.
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
    // And one manifest may be the format of releases no tag names it for: two releases of one
    // chart pushed at the same instant share it, and their indexes name it. The record claims
    // only the first, so the releases' own records say which formats it is.
    if (record.appr !== undefined) {
      const prefix = ociKeys.release(repo, '')
      for await (const shown of listAll(ctx.store, prefix, 100)) {
        const release = shown.key.slice(prefix.length)
        const named = decode(OciReleaseRecordType, shown.value, { name: repo }).formats
        for (const format of Object.keys(named)) if (own(named, format)?.digest === ref.digest) formats.push({ release, format })
      }
    }
  }
  let done = false
  for (const release of releases) {
    const entry = await ctx.store.get(ociKeys.release(repo, release))
    for (const format of entry ? Object.keys(decode(OciReleaseRecordType, entry.value, { name: repo }).formats) : []) formats.push({ release, format })
  }
  for (const { release, format } of formats) {
    const entry = await ctx.store.get(ociKeys.release(repo, release))
    const shown = entry && own(decode(OciReleaseRecordType, entry.value, { name: repo }).formats, format)
    if (!shown || (ref.kind === 'digest' && !releases.includes(release) && shown.digest !== ref.digest)) continue
    await ignoreGone(deleteApprRelease(ctx, name.full, release, format))
    done = true
  }
  return done || releases.length > 0
}

/** A delete that another writer did first is done. */
async function ignoreGone(done: Promise<void>): Promise<void> {
  try {
    await done
  } catch (error) {
    if (!(error instanceof ApprError) || (error.code !== 'package-not-found' && error.code !== 'channel-not-found')) throw error
  }
}
