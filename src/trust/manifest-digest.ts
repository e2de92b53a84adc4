/**
 * The manifest digest: what names a release record `(package, release, format)` by content.
 *
 * `sha256:` + lowercase hex SHA-256 of the UTF-8 bytes of the RFC 8785 canonical JSON of
 * exactly these fields of the manifest (see docs/trust.md for the reasons and a worked example):
 *
 * ```json
 * { "content": { "digest", "mediaType", "size", "urls" }, "mediaType", "metadata", "package", "release" }
 * ```
 *
 * `created_at` is left out: it records when one registry stored the release, not what the release
 * is, so the same release pushed, mirrored or restored elsewhere keeps its digest (and its
 * signatures). Everything else a client reads from `show` to fetch and use the release is in.
 * Fields a server adds next to a manifest (`channels`, the digest itself, signatures) are not part
 * of it: the digest is computed from this allow-list, never from "everything but".
 * @module
 */
import { fromOciDigest, sha256Hex } from '../digest/index.js'
import { contentMediaType, manifestMediaType, parseFormat } from '../model/media-type.js'
import { parsePackageName } from '../model/package-name.js'
import { canonicalJson } from './canonical-json.js'

/** What a manifest digest covers. Any other property of the input is ignored. */
export interface DigestedManifest {
  readonly package: string
  readonly release: string
  readonly mediaType: string
  readonly content: {
    readonly mediaType: string
    readonly size: number
    readonly digest: string
    /** Absent counts as `[]` (appr always sends `[]`). */
    readonly urls?: readonly string[] | undefined
  }
  /** Absent counts as `null`. */
  readonly metadata?: unknown
}

/** The object whose canonical JSON is hashed: the allow-listed fields, defaults applied. */
export function digestedFields(manifest: DigestedManifest): Record<string, unknown> {
  const { content } = manifest
  return {
    package: manifest.package,
    release: manifest.release,
    mediaType: manifest.mediaType,
    content: { mediaType: content.mediaType, size: content.size, digest: content.digest, urls: content.urls ?? [] },
    metadata: manifest.metadata ?? null,
  }
}

/** The canonical JSON text a manifest digest hashes. */
export function canonicalManifest(manifest: DigestedManifest): string {
  return canonicalJson(digestedFields(manifest))
}

/**
 * The manifest digest, `sha256:<hex>`.
 * @throws ApprError `invalid-parameters` when the metadata is not I-JSON (see {@link canonicalJson}).
 * @example
 * ```ts
 * const shown = await registry.show('acme/nginx', { release: '1.0.0', format: 'helm' })
 * manifestDigest(shown) // 'sha256:…', the same whatever else `shown` carries
 * ```
 */
export function manifestDigest(manifest: DigestedManifest): string {
  return `sha256:${sha256Hex(canonicalManifest(manifest))}`
}

/** True when `value` has the form of a manifest digest (`sha256:` + 64 lowercase hex). */
export function isManifestDigest(value: unknown): value is string {
  return typeof value === 'string' && fromOciDigest(value) !== undefined
}

/** What a push is made of, as far as the manifest digest goes. */
export interface PushedRelease {
  /** `namespace/name` (lowercased as the registry stores it). */
  readonly package: string
  readonly release: string
  /** Format short name (`helm`) or a media type. */
  readonly format: string
  /** The blob's appr digest and gzip size (`digestBlob` or `inspect` give both). */
  readonly blob: { readonly digest: string; readonly size: number }
  readonly metadata?: unknown
}

/**
 * The manifest digest of the release a push to appr-core will create: what to sign before
 * pushing into a namespace whose policy requires signed pushes.
 * @throws ApprError `invalid-parameters` for a bad name, format or metadata.
 */
export function pushedManifestDigest(push: PushedRelease): string {
  const format = parseFormat(push.format)
  return manifestDigest({
    package: parsePackageName(push.package).full,
    release: push.release,
    mediaType: manifestMediaType(format),
    content: { mediaType: contentMediaType(format), size: push.blob.size, digest: push.blob.digest, urls: [] },
    metadata: push.metadata === undefined ? null : push.metadata,
  })
}
