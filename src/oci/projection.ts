/**
 * An appr release seen as OCI content: the exact manifest bytes appr-core serves for it, so
 * its digest is stable and a copy made by any OCI tool verifies.
 *
 * - format `helm`: the Helm chart manifest, as Helm writes it ({@link helmChartManifest});
 * - any other format: an OCI artifact whose `artifactType` is the appr manifest media type,
 *   with the empty config and one layer of the appr content media type;
 * - several formats: an OCI image index at the release's tag, Helm's manifest first, the rest
 *   by format name. Its descriptors carry only `mediaType`, `digest`, `size` and a
 *   `vnd.appr.format` annotation, fields copy tools keep, so a copy keeps the index digest.
 * @module
 */
import { goJsonBytes, sortedMap } from './canonical.js'
import { ociDigestOf } from './digest.js'
import { type BlobRef, helmAnnotations, helmChartManifest, helmChartMetadata, helmConfigBytes, helmTagOf, type ManifestBytes, manifestBytes } from './helm.js'
import { apprArtifactType, apprLayerMediaType, EMPTY_JSON, EMPTY_JSON_DIGEST, HELM_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from './media-types.js'

/** The annotation naming the appr format of an index entry. */
export const FORMAT_ANNOTATION = 'vnd.appr.format'

/** One format of a release to project. */
export interface ReleaseFormatInput {
  /** The appr format (`helm`, `kpm` …). */
  readonly format: string
  /** The appr blob: `sha256:` digest of its gzip bytes (its `ociDigest`) and size. */
  readonly blob: BlobRef
  /** For `helm`: the parsed Chart.yaml (e.g. `inspectArchive(...).manifest.document`). */
  readonly chartYaml?: unknown
  /**
   * This format's own `created_at`, when it differs from the release's `created` (a registry
   * serves each format with the time it was pushed, so adding a format keeps the others' digests).
   */
  readonly created?: string
}

/** What to project. */
export interface ReleaseProjectionInput {
  /** `namespace/name`. */
  readonly package: string
  /** The SemVer release. */
  readonly release: string
  /** The release's `created_at` (used as `org.opencontainers.image.created`). */
  readonly created: string
  /** At least one format. */
  readonly formats: readonly ReleaseFormatInput[]
}

/** A config blob a projected manifest references (bytes derived, never stored by appr). */
export interface DerivedBlob extends BlobRef {
  readonly mediaType: string
  readonly bytes: Uint8Array
}

/** One projected format. */
export interface ProjectedFormat {
  readonly format: string
  readonly manifest: ManifestBytes
  /** The config blob its manifest references. */
  readonly config: DerivedBlob
}

/** A projected release. */
export interface ProjectedRelease {
  /** The tag it is served at (`+` written `_`). */
  readonly tag: string
  /** What the tag resolves to: the single format's manifest, or the index of all. */
  readonly manifest: ManifestBytes
  /** Each format's manifest, in index order (Helm first). */
  readonly formats: readonly ProjectedFormat[]
}

const EMPTY_CONFIG: DerivedBlob = { mediaType: OCI_EMPTY, digest: EMPTY_JSON_DIGEST, size: EMPTY_JSON.byteLength, bytes: EMPTY_JSON }

function projectHelm(input: ReleaseProjectionInput, format: ReleaseFormatInput): ProjectedFormat {
  // A chart archive without a readable Chart.yaml still needs Helm's two required fields.
  const chartYaml = { name: input.package.split('/')[1], version: input.release, ...(isObject(format.chartYaml) ? format.chartYaml : {}) }
  const bytes = helmConfigBytes(chartYaml)
  const config: DerivedBlob = { mediaType: HELM_CONFIG, digest: ociDigestOf(bytes), size: bytes.byteLength, bytes }
  const manifest = helmChartManifest(config, format.blob, helmAnnotations(helmChartMetadata(chartYaml), format.created ?? input.created))
  return { format: format.format, manifest, config }
}

function projectArtifact(input: ReleaseProjectionInput, format: ReleaseFormatInput): ProjectedFormat {
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: apprArtifactType(format.format),
    config: { mediaType: OCI_EMPTY, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
    layers: [{ mediaType: apprLayerMediaType(format.format), digest: format.blob.digest, size: format.blob.size }],
    annotations: sortedMap([
      ['org.opencontainers.image.created', format.created ?? input.created],
      ['org.opencontainers.image.title', input.package],
      ['org.opencontainers.image.version', input.release],
    ]),
  }
  return { format: format.format, manifest: manifestBytes(OCI_MANIFEST, goJsonBytes(manifest)), config: EMPTY_CONFIG }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Index order: Helm first (what `helm pull` reads), then by format name. */
function byIndexOrder(a: { readonly format: string }, b: { readonly format: string }): number {
  if (a.format === b.format) return 0
  if (a.format === 'helm') return -1
  if (b.format === 'helm') return 1
  return a.format < b.format ? -1 : 1
}

/**
 * The OCI view of an appr release: its tag, each format's manifest and config blob, and what
 * the tag resolves to. Deterministic: the same release always gives the same bytes.
 * @throws TypeError when `formats` is empty (a release always has a format)
 */
export function projectRelease(input: ReleaseProjectionInput): ProjectedRelease {
  if (input.formats.length === 0) throw new TypeError('projectRelease needs at least one format')
  const formats = [...input.formats].sort(byIndexOrder).map((f) => (f.format === 'helm' ? projectHelm(input, f) : projectArtifact(input, f)))
  const tag = helmTagOf(input.release)
  if (formats.length === 1) return { tag, manifest: formats[0]!.manifest, formats }
  return { tag, manifest: projectIndex(formats.map((f) => ({ format: f.format, mediaType: f.manifest.mediaType, digest: f.manifest.digest, size: f.manifest.size }))), formats }
}

/** One format's manifest, as an index names it. */
export interface FormatDescriptor {
  readonly format: string
  readonly mediaType: string
  readonly digest: string
  readonly size: number
}

/**
 * The index of a release with several formats, from each format's manifest descriptor (in any
 * order: Helm's comes first, then by format name). {@link projectRelease} builds its index with it.
 */
export function projectIndex(formats: readonly FormatDescriptor[]): ManifestBytes {
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [...formats].sort(byIndexOrder).map((f) => ({
      mediaType: f.mediaType,
      digest: f.digest,
      size: f.size,
      annotations: { [FORMAT_ANNOTATION]: f.format },
    })),
  }
  return manifestBytes(OCI_INDEX, goJsonBytes(index))
}
