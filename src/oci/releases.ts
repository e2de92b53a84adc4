/**
 * appr releases to and from any OCI registry: {@link pushRelease} writes a release the way
 * {@link projectRelease} describes (a Helm chart as Helm pushes it, other formats as appr
 * artifacts, several formats as an index); {@link pullRelease} reads back a release written that
 * way, or a chart pushed by `helm push`. A repository prefix maps to appr namespaces:
 * `<prefix>/<namespace>/<name>`.
 * @module
 */
import { inspectArchive } from '../archive/inspect.js'
import { ApprError } from '../errors/index.js'
import { parseFormat } from '../model/media-type.js'
import { parsePackageName } from '../model/package-name.js'
import { isRelease } from '../model/release.js'
import type { ArchiveLimits } from '../registry/types.js'
import type { OciClient } from './client.js'
import { ociDigestOf } from './digest.js'
import { OciError } from './errors.js'
import { versionOfHelmTag } from './helm.js'
import { HELM_CHART_LAYER, HELM_CONFIG, isIndexMediaType, OCI_MANIFEST } from './media-types.js'
import { type ProjectedRelease, projectRelease } from './projection.js'
import { parseRepositoryName } from './reference.js'
import { type OciDescriptor, type ParsedManifest, parseManifest } from './schemas.js'

const APPR_CONTENT = /^application\/vnd\.(?:appr|cnr)\.package\.([a-z0-9][a-z0-9_-]{0,63})\.v\d{1,4}\.tar\+gzip$/

/**
 * The repository of appr package `pkg` under `prefix` (`''` for none): `<prefix>/<ns>/<name>`.
 * @throws OciError `NAME_INVALID` when the result is not a valid OCI name (appr allows `a..b`, OCI does not)
 */
export function repositoryOf(prefix: string, pkg: string): string {
  const { full } = parsePackageName(pkg)
  const clean = prefix.replace(/^\/+|\/+$/g, '')
  return parseRepositoryName(clean === '' ? full : `${clean}/${full}`)
}

/** The appr package of `repository` under `prefix`, or `undefined` when it is not `<prefix>/<ns>/<name>`. */
export function packageOfRepository(prefix: string, repository: string): string | undefined {
  const clean = prefix.replace(/^\/+|\/+$/g, '')
  const rest = clean === '' ? repository : repository.startsWith(`${clean}/`) ? repository.slice(clean.length + 1) : undefined
  if (rest === undefined || rest.split('/').length !== 2) return undefined
  try {
    return parsePackageName(rest).full
  } catch {
    return undefined
  }
}

/** One format of a release to push. */
export interface PushReleaseFormat {
  readonly format: string
  /** The package archive (gzipped tar), as appr stores it. */
  readonly blob: Uint8Array
}

/** What {@link pushRelease} did. */
export interface PushedRelease {
  readonly repository: string
  readonly tag: string
  /** Digest of what the tag resolves to (the manifest, or the index of several formats). */
  readonly digest: string
  readonly mediaType: string
}

/**
 * Pushes an appr release to `repository` at its tag (`+` written `_`). Blobs the repository
 * already has are not uploaded again; with several formats, each manifest is put by digest
 * before the index that names them.
 * @throws ApprError `invalid-release` for a release that is not SemVer; the archive's rejection when a Helm blob is not a valid archive; OciError from the registry
 */
export async function pushRelease(
  client: OciClient,
  input: { readonly repository: string; readonly package: string; readonly release: string; readonly created?: string; readonly formats: readonly PushReleaseFormat[] },
): Promise<PushedRelease> {
  if (!isRelease(input.release)) throw new ApprError('invalid-release', `'${String(input.release).slice(0, 200)}' is not a SemVer release`)
  const repository = parseRepositoryName(input.repository)
  const formats = await Promise.all(
    input.formats.map(async (f) => {
      const format = parseFormat(f.format)
      const chartYaml = format === 'helm' ? (await inspectArchive(f.blob)).manifest?.document : undefined
      return { format, bytes: f.blob, blob: { digest: ociDigestOf(f.blob), size: f.blob.byteLength }, chartYaml }
    }),
  )
  const projected = projectRelease({
    package: parsePackageName(input.package).full,
    release: input.release,
    created: input.created ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    formats: formats.map(({ format, blob, chartYaml }) => ({ format, blob, ...(chartYaml === undefined ? {} : { chartYaml }) })),
  })
  for (const f of formats) {
    await client.ensureBlob(repository, f.bytes, { digest: f.blob.digest })
  }
  return writeProjection(client, repository, projected)
}

/**
 * Writes what a release's package blobs need around them (already in `repository`): the configs
 * the repository lacks, each format's manifest by digest when there are several, then the tag.
 */
export async function writeProjection(client: OciClient, repository: string, projected: ProjectedRelease): Promise<PushedRelease> {
  for (const f of projected.formats) {
    await client.ensureBlob(repository, f.config.bytes, { digest: f.config.digest })
  }
  if (projected.formats.length > 1) {
    for (const f of projected.formats) await client.putManifest(repository, f.manifest.digest, f.manifest.bytes, f.manifest.mediaType)
  }
  const digest = await client.putManifest(repository, projected.tag, projected.manifest.bytes, projected.manifest.mediaType)
  return { repository, tag: projected.tag, digest, mediaType: projected.manifest.mediaType }
}

/** One format of a pulled release. */
export interface PulledFormat {
  readonly format: string
  /** The package archive, verified against its digest. */
  readonly blob: Uint8Array
  /** `sha256:` digest of the archive. */
  readonly digest: string
  /** Digest of the format's manifest. */
  readonly manifestDigest: string
  /** The manifest's annotations. */
  readonly annotations: Readonly<Record<string, string>>
}

/** What {@link pullRelease} read. */
export interface PulledRelease {
  /** The SemVer release: from the tag (`_` read as `+`), else the `org.opencontainers.image.version` annotation. */
  readonly release: string | undefined
  /** Digest of what the reference resolved to. */
  readonly digest: string
  readonly formats: readonly PulledFormat[]
}

/** The appr format and package layer of a manifest, or undefined when it is not an appr package. */
export function apprLayerOf(manifest: ParsedManifest): { format: string; layer: OciDescriptor } | undefined {
  if (manifest.mediaType !== OCI_MANIFEST) return undefined
  if (manifest.config?.mediaType === HELM_CONFIG) {
    const layer = manifest.layers.find((l) => l.mediaType === HELM_CHART_LAYER)
    return layer && { format: 'helm', layer }
  }
  for (const layer of manifest.layers) {
    const m = APPR_CONTENT.exec(layer.mediaType)
    if (m) return { format: m[1]!, layer }
  }
  return undefined
}

async function readAll(stream: AsyncIterable<Uint8Array>, limit: number, digest: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let total = 0
  for await (const chunk of stream) {
    total += chunk.byteLength
    if (total > limit) throw new ApprError('payload-too-large', `the package ${digest} exceeds ${limit} bytes`, { details: { digest, limit } })
    parts.push(chunk)
  }
  return new Uint8Array(Buffer.concat(parts))
}

/** One format of a release found in an OCI registry: where its package blob is. */
export interface ResolvedFormat {
  readonly format: string
  /** The package layer (its digest is the archive's `sha256:`). */
  readonly layer: OciDescriptor
  /** Digest of the format's manifest. */
  readonly manifestDigest: string
  /** The format's manifest as a descriptor names it (the `subject` of its signatures). */
  readonly manifest: { readonly mediaType: string; readonly digest: string; readonly size: number }
  /** The manifest's annotations. */
  readonly annotations: Readonly<Record<string, string>>
}

/** What {@link resolveRelease} found: the release and its formats, nothing downloaded but manifests. */
export interface ResolvedRelease {
  /** The SemVer release: from the tag (`_` read as `+`), else the `org.opencontainers.image.version` annotation. */
  readonly release: string | undefined
  /** Digest of what the reference resolved to. */
  readonly digest: string
  readonly formats: readonly ResolvedFormat[]
}

/**
 * Reads the manifests of an appr release (or a Helm chart pushed by `helm push`) at a tag or
 * digest of `repository`: every format of an index whose entries are appr packages, or the one of
 * a manifest. Index entries that are not appr packages (an image for another platform, a
 * signature) are skipped. No package blob is downloaded.
 * @throws ApprError `package-release-not-found` when the reference is absent; `invalid-parameters` when it is not an appr package
 */
export async function resolveRelease(client: OciClient, repository: string, reference: string): Promise<ResolvedRelease> {
  const top = await client.getManifest(repository, reference)
  if (!top) throw new ApprError('package-release-not-found', `${repository}:${reference} does not exist`, { details: { repository, reference } })
  const parsed = parseManifest(top.bytes, top.mediaType)
  const entries = isIndexMediaType(parsed.mediaType)
    ? await Promise.all(
        parsed.manifests.map(async (d) => {
          const m = await client.getManifest(repository, d.digest)
          if (!m) throw new OciError('MANIFEST_UNKNOWN', `the index names ${d.digest}, which the registry does not have`, { detail: { digest: d.digest } })
          return { digest: m.digest, size: m.bytes.byteLength, manifest: parseManifest(m.bytes, m.mediaType) }
        }),
      )
    : [{ digest: top.digest, size: top.bytes.byteLength, manifest: parsed }]
  const formats: ResolvedFormat[] = []
  for (const { digest, size, manifest } of entries) {
    const found = apprLayerOf(manifest)
    if (!found || formats.some((f) => f.format === found.format)) continue
    formats.push({ format: found.format, layer: found.layer, manifestDigest: digest, manifest: { mediaType: manifest.mediaType, digest, size }, annotations: manifest.annotations })
  }
  if (formats.length === 0) {
    throw new ApprError('invalid-parameters', `${repository}:${reference} is not an appr package or Helm chart`, { details: { repository, reference, mediaType: parsed.mediaType } })
  }
  const fromTag = reference.includes(':') ? undefined : versionOfHelmTag(reference)
  const annotated = formats.map((f) => f.annotations['org.opencontainers.image.version']).find((v) => isRelease(v))
  return { release: fromTag ?? annotated, digest: top.digest, formats }
}

/**
 * Pulls an appr release (or a Helm chart pushed by `helm push`) from `repository` at a tag or
 * digest, as {@link resolveRelease} finds it. Archives are downloaded whole, each verified
 * against its digest, up to `limits.maxCompressedBytes` (default 64 MiB).
 * @throws ApprError `package-release-not-found` when the reference is absent; `invalid-parameters` when it is not an appr package
 */
export async function pullRelease(
  client: OciClient,
  repository: string,
  reference: string,
  options: { readonly limits?: ArchiveLimits } = {},
): Promise<PulledRelease> {
  const limit = options.limits?.maxCompressedBytes ?? 64 * 1024 * 1024
  const resolved = await resolveRelease(client, repository, reference)
  const formats: PulledFormat[] = []
  for (const f of resolved.formats) {
    const blob = await client.getBlob(repository, f.layer.digest)
    if (!blob) throw new OciError('BLOB_UNKNOWN', `the manifest names ${f.layer.digest}, which the registry does not have`, { detail: { digest: f.layer.digest } })
    formats.push({ format: f.format, blob: await readAll(blob.body, limit, f.layer.digest), digest: f.layer.digest, manifestDigest: f.manifestDigest, annotations: f.annotations })
  }
  return { release: resolved.release, digest: resolved.digest, formats }
}
