/**
 * The OCI view of appr releases, kept by the very commits that change them: a push shows the
 * format's manifest (as `projectRelease` makes it, or the exact bytes a `/v2/` client pushed),
 * a delete hides it, and the release's tag names the format's manifest, or the index of all
 * its formats. Channels are tags that follow their current release. The view lives in the OCI
 * records of the repository named like the package (`<ns>/<name>`), through {@link OciGraph},
 * so `/v2/` serves it as any other content, and one commit changes both views.
 * @module
 */
import { inspectArchive } from '../archive/inspect.js'
import type { PackageName } from '../model/package-name.js'
import { ociDigestOf, parseOciDigest } from '../oci/digest.js'
import { helmTagOf, type ManifestBytes } from '../oci/helm.js'
import { apprArtifactType, apprLayerMediaType, HELM_CHART_LAYER, HELM_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../oci/media-types.js'
import { type DerivedBlob, projectIndex, projectRelease } from '../oci/projection.js'
import { isRepositoryName, isTag } from '../oci/reference.js'
import { type ParsedManifest, parseManifest } from '../oci/schemas.js'
import type { OciGraph } from './oci-graph.js'
import { ociKeys } from './oci-records.js'
import { type NameMap, nameMap, own, type PackageRecord } from './records.js'

/** The repository showing package `name`, or undefined when its name is not an OCI name. */
export function ociRepositoryOf(name: PackageName): string | undefined {
  return isRepositoryName(name.full) ? name.full : undefined
}

/** One format of a release as OCI content, prepared before its commit. */
export interface FormatView {
  readonly repo: string
  readonly format: string
  readonly manifest: ManifestBytes
  readonly parsed: ParsedManifest
  /** The derived config blob to keep inline (a projection); undefined for a manifest a client pushed, whose blobs it uploaded. */
  readonly config?: DerivedBlob
  /** The appr blob: its OCI digest hex and size. */
  readonly layer: { readonly hex: string; readonly size: number }
}

/** The parsed Chart.yaml of a chart archive (Helm's config is made of it), or undefined. */
export async function chartYamlOf(archive: Uint8Array | AsyncIterable<Uint8Array> | undefined): Promise<unknown> {
  return archive && (await inspectArchive(archive).catch(() => undefined))?.manifest?.document
}

/**
 * The projected view of one format of a release (`created` is the format's `created_at`,
 * `chartYaml` the chart's, for format `helm`).
 */
export function projectFormat(
  repo: string,
  name: PackageName,
  release: string,
  format: string,
  created: string,
  blob: { readonly ociDigest: string; readonly size: number },
  chartYaml: unknown,
): FormatView {
  const projected = projectRelease({
    package: name.full,
    release,
    created,
    formats: [{ format, blob: { digest: blob.ociDigest, size: blob.size }, ...(chartYaml === undefined ? {} : { chartYaml }) }],
  })
  const [only] = projected.formats
  const { manifest, config } = only!
  const layer = { hex: parseOciDigest(blob.ociDigest), size: blob.size }
  // What parseManifest reads from these bytes, known without parsing them (push's hot path);
  // annotations only matter for a manifest with a subject, which a projection never has.
  const parsed: ParsedManifest = {
    mediaType: OCI_MANIFEST,
    artifactType: format === 'helm' ? HELM_CONFIG : apprArtifactType(format),
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [{ mediaType: format === 'helm' ? HELM_CHART_LAYER : apprLayerMediaType(format), digest: blob.ociDigest, size: blob.size }],
    manifests: [],
    annotations: {},
  }
  return { repo, format, manifest, parsed, config, layer }
}

/** Keys {@link showFormat} reads, to read them in the commit's first round trip. */
export function viewKeys(view: FormatView, release: string): string[] {
  const { repo } = view
  const blobs = [view.layer.hex, ...(view.config ? [parseOciDigest(view.config.digest)] : [])]
  return [
    ociKeys.repo(repo),
    ociKeys.release(repo, release),
    ociKeys.tag(repo, helmTagOf(release)),
    ociKeys.manifest(repo, parseOciDigest(view.manifest.digest)),
    ...blobs.flatMap((b) => [ociKeys.link(repo, b), ociKeys.blob(b)]),
  ]
}

/** Keys {@link hideFormat} reads first. */
export function hideKeys(repo: string, release: string): string[] {
  return [ociKeys.repo(repo), ociKeys.release(repo, release), ociKeys.tag(repo, helmTagOf(release))]
}

/**
 * Shows a format of a release (after the commit's appr writes, `pkg` as it will be written):
 * links the appr blob (its BlobStore `object` shared, never copied) and the config, stores the
 * manifest, and points the release's tag and its channels at the release's manifest or index.
 */
export async function showFormat(g: OciGraph, view: FormatView, release: string, pkg: PackageRecord, appr: { readonly digest: string; readonly object: string }): Promise<void> {
  const { repo, format } = view
  const layer = await g.link(repo, view.layer.hex, () => ({ size: view.layer.size, object: appr.object, appr: appr.digest }))
  if (layer && layer.object === appr.object && layer.appr !== appr.digest) g.write(ociKeys.blob(view.layer.hex), { ...layer, appr: appr.digest })
  const { config } = view
  if (config) await g.link(repo, parseOciDigest(config.digest), () => ({ size: config.size, inline: Buffer.from(config.bytes).toString('base64') }))
  const hex = parseOciDigest(view.manifest.digest)
  await g.putManifest(repo, { hex, bytes: view.manifest.bytes, parsed: view.parsed, appr: { release, format, ...(view.config && { projected: true as const }) } })
  const formats = nameMap((await g.release(repo, release))?.formats)
  const previous = own(formats, format)
  formats[format] = { mediaType: view.manifest.mediaType, digest: view.manifest.digest, size: view.manifest.size }
  g.write(ociKeys.release(repo, release), { formats })
  await retag(g, repo, release, formats, pkg)
  if (previous && previous.digest !== view.manifest.digest) await dropView(g, repo, parseOciDigest(previous.digest))
}

/** Hides a deleted format of a release (after the commit's appr writes, `pkg` as it will be written). */
export async function hideFormat(g: OciGraph, repo: string, release: string, format: string, pkg: PackageRecord): Promise<void> {
  const record = await g.release(repo, release)
  const previous = own(record?.formats, format)
  if (!record || !previous) return
  const formats = nameMap(record.formats)
  delete formats[format]
  if (Object.keys(formats).length === 0) g.remove(ociKeys.release(repo, release))
  else g.write(ociKeys.release(repo, release), { formats })
  await retag(g, repo, release, formats, pkg)
  await dropView(g, repo, parseOciDigest(previous.digest))
}

/** Deletes a manifest of the appr view once nothing names it (it is the release's, not a client's, content). */
async function dropView(g: OciGraph, repo: string, hex: string): Promise<void> {
  if ((await g.manifest(repo, hex))?.appr) await g.deleteIfFree(repo, hex)
}

/** Points the release's tag (and its channels) at its one manifest, or at the index of its formats; none left: removes it. */
async function retag(g: OciGraph, repo: string, release: string, formats: NameMap<{ mediaType: string; digest: string; size: number }>, pkg: PackageRecord): Promise<void> {
  const tag = helmTagOf(release)
  const old = await g.tag(repo, tag)
  const names = Object.keys(formats)
  let top: string | undefined
  if (names.length === 1) top = parseOciDigest(formats[names[0]!]!.digest)
  else if (names.length > 1) {
    const index = projectIndex(names.map((format) => ({ format, ...formats[format]! })))
    top = parseOciDigest(index.digest)
    await g.putManifest(repo, { hex: top, bytes: index.bytes, parsed: parseManifest(index.bytes, OCI_INDEX), appr: { release } })
  }
  await g.setTag(repo, tag, top, 'release')
  for (const channel of Object.keys(pkg.channels).sort()) {
    if (pkg.channels[channel] === release) await setChannelTag(g, repo, channel, top)
  }
  if (old && old.digest !== (top && `sha256:${top}`)) await dropView(g, repo, parseOciDigest(old.digest))
}

/**
 * Points a channel's tag at `hex` (or removes it). A tag that is not a channel's (a release, or
 * a client's own tag of that name) is left alone: the channel is then not shown over OCI.
 */
async function setChannelTag(g: OciGraph, repo: string, channel: string, hex: string | undefined): Promise<void> {
  if (!isTag(channel)) return
  const existing = await g.tag(repo, channel)
  if (existing && existing.appr !== 'channel') return
  if (hex === undefined && !existing) return
  await g.setTag(repo, channel, hex, 'channel')
  // The release it left may be gone already, its manifest kept only by this tag.
  if (existing && existing.digest !== `sha256:${hex}`) await dropView(g, repo, parseOciDigest(existing.digest))
}

/**
 * Makes the channel tags of package record `pkg` follow their current releases after a channel
 * change (`before`: the record's channels before it).
 */
export async function followChannels(g: OciGraph, repo: string, before: Readonly<NameMap<string>>, pkg: PackageRecord): Promise<void> {
  const channels = [...new Set([...Object.keys(before), ...Object.keys(pkg.channels)])].sort()
  const changed = channels.filter((c) => own(before, c) !== own(pkg.channels, c))
  await g.prefetch(changed.flatMap((c) => [ociKeys.tag(repo, c), ...(own(pkg.channels, c) ? [ociKeys.tag(repo, helmTagOf(pkg.channels[c]!))] : [])]))
  for (const channel of changed) {
    const current = own(pkg.channels, channel)
    const target = current === undefined ? undefined : await g.tag(repo, helmTagOf(current))
    await setChannelTag(g, repo, channel, target && parseOciDigest(target.digest))
  }
}

/** The view of a manifest a `/v2/` client pushed as a format of a release: its exact bytes. */
export function givenFormat(repo: string, format: string, bytes: Uint8Array, parsed: ParsedManifest, layer: { readonly digest: string; readonly size: number }): FormatView {
  return { repo, format, manifest: { mediaType: parsed.mediaType, bytes, digest: ociDigestOf(bytes), size: bytes.byteLength }, parsed, layer: { hex: parseOciDigest(layer.digest), size: layer.size } }
}
