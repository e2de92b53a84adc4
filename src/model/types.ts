/**
 * The appr data model as it appears on the wire and in the public API.
 * Field names follow appr's wire format (`created_at`, `mediaType`) so records pass through
 * unchanged to appr clients.
 * @module
 */

/** An OCI-style content descriptor: what a manifest points at. */
export interface Descriptor {
  /** Content media type, e.g. `application/vnd.appr.package.helm.v0.tar+gzip`. */
  readonly mediaType: string
  /** Size of the gzip bytes. */
  readonly size: number
  /** appr digest: lowercase hex SHA-256 of the gunzipped tar stream. */
  readonly digest: string
  readonly urls: readonly string[]
}

/** A release record: one `(package, release, format)`. */
export interface Manifest {
  /** `namespace/name`. */
  readonly package: string
  /** Exact SemVer 2.0.0 release. */
  readonly release: string
  /** Manifest media type, e.g. `application/vnd.appr.package-manifest.helm.v0.json`. */
  readonly mediaType: string
  readonly content: Descriptor
  /** Free JSON supplied at push time, or `null`. */
  readonly metadata: unknown
  /** RFC 3339 timestamp of the push. */
  readonly created_at: string
}

/** A signature of a manifest digest (see docs/trust.md). */
export interface Signature {
  /** `sha256:` + hex SHA-256 of the signing key's DER SubjectPublicKeyInfo. */
  readonly keyid: string
  readonly alg: 'ed25519' | 'ecdsa-p256'
  /** The manifest digest signed, `sha256:<hex>`. */
  readonly digest: string
  /** base64 of the 64-byte signature. */
  readonly sig: string
}

/**
 * A manifest as `show` returns it: with the names of the channels whose current release it is,
 * and its signatures when it has some.
 */
export interface ManifestWithChannels extends Manifest {
  readonly channels: readonly string[]
  readonly signatures?: readonly Signature[]
}

/** A channel: a movable pointer over a set of releases of one package. */
export interface Channel {
  readonly name: string
  /** The channel's current release (one of `releases`). */
  readonly current: string
  /** Releases in the channel, highest first. */
  readonly releases: readonly string[]
}

/** One row of a package listing, as appr's `GET /api/v1/packages` returns it. */
export interface PackageSummary {
  /** `namespace/name`. */
  readonly name: string
  /** The default (highest) release. */
  readonly default: string
  /** Every release, newest (highest) first. */
  readonly releases: readonly string[]
  /** Formats of the default release. */
  readonly manifests: readonly string[]
  readonly visibility: 'public'
  readonly created_at: string
}
