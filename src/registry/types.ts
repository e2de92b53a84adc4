/**
 * Public option and result types of {@link Registry}.
 * @module
 */

import type { Channel, Manifest, ManifestWithChannels, PackageSummary, Signature } from '../model/types.js'
import type { BlobStore } from '../storage/blob.js'
import type { KvStore } from '../storage/kv.js'
import type { KeyInput } from '../trust/keys.js'
import type { EventOptions } from './events/types.js'

/** Bytes of a blob in any of the shapes a caller is likely to hold. */
export type BlobInput = Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>

/** Limits applied to every incoming blob before anything is stored. */
export interface ArchiveLimits {
  /** Largest gzip payload in bytes (default 64 MiB). */
  readonly maxCompressedBytes?: number
  /** Largest gunzipped tar stream in bytes (default 512 MiB). */
  readonly maxUncompressedBytes?: number
  /** Largest uncompressed ÷ compressed ratio, checked once past 1 MiB of output (default 200). */
  readonly maxRatio?: number
  /** Most tar entries (default 10,000). */
  readonly maxEntries?: number
  /** Largest single entry in bytes (default 256 MiB). */
  readonly maxEntryBytes?: number
  /** Longest entry path in characters (default 1,024). */
  readonly maxPathLength?: number
}

/** How one mutation ended: what {@link RegistryOptions.onMutation} is told. */
export interface MutationOutcome {
  /**
   * `committed`: its commit applied (or it had nothing to write); `failed`: an attempt threw
   * (the operation's own error, e.g. package-not-found; nothing written); `gave-up`: its last
   * attempt conflicted too, and it answered resource-in-use.
   */
  readonly outcome: 'committed' | 'failed' | 'gave-up'
  /**
   * Attempts run again after the first: after a commit conflict, or after an error decided on
   * reads another writer had changed meanwhile. A wrong guess of `presumeAbsent` is not one.
   */
  readonly retries: number
}

/** Options of the {@link Registry} constructor. */
export interface RegistryOptions {
  /** Where records live. The registry does not own it unless `ownsStore` is true. */
  readonly store: KvStore
  /** Where blob bytes live (default: chunks in `store`). */
  readonly blobs?: BlobStore
  /** Close `store` when the registry closes (default true). */
  readonly ownsStore?: boolean
  /** Clock for `created_at` (default `() => new Date()`). */
  readonly clock?: () => Date
  /** Limits on incoming blobs. */
  readonly limits?: ArchiveLimits
  /** How many times a mutation is retried after a commit conflict (default 16). */
  readonly maxRetries?: number
  /**
   * Told how each mutation (push, delete, channel change, OCI write, restore of a package, gc of
   * a repository, …) ended and how many times it ran again on conflict: for metrics
   * (`appr-core/metrics`, `Metrics.onMutation`). Called synchronously; it must not throw.
   */
  readonly onMutation?: (outcome: MutationOutcome) => void
  /**
   * After this many milliseconds an upload that was never recorded counts as abandoned and
   * {@link Registry.gc} may delete its bytes; a push still running then fails (default 1 hour).
   */
  readonly uploadTimeoutMs?: number
  /**
   * OCI content no manifest or tag uses any more (an untagged manifest no index names, a blob
   * no manifest names) is kept this many milliseconds before {@link Registry.gc} deletes it, so a
   * client pushing blobs and manifests by digest before the tag or index that names them is never
   * cut short (default 24 hours).
   */
  readonly ociGraceMs?: number
  /**
   * When true, a chart or appr artifact pushed through `/v2/` at the tag of an existing release
   * with other bytes replaces that format of the release (as a forced appr push does); otherwise
   * it is refused with `DENIED` (docs/oci.md, "Conflicts").
   */
  readonly ociOverwriteReleases?: boolean
  /**
   * How many decoded manifests a registry keeps to answer show and pull without reading them
   * again (default 10,000; 0 disables). Each is tied to the version of its package record, which
   * every call reads fresh, so nothing is served after another writer (any process) replaced it.
   */
  readonly cacheEntries?: number
  /**
   * Bytes of small blobs (≤ 256 KiB each) a registry keeps in memory to answer pulls without
   * reading the BlobStore (default 16 MiB; 0 disables). Filled by pushes of small blobs and by
   * pulls. A blob's content never changes under its digest, and a pull serves it only after
   * reading the package record fresh and finding a manifest that names it, so the cache needs no
   * invalidation, across processes too.
   */
  readonly blobCacheBytes?: number
  /**
   * Record a change feed (`registry.events`; docs/events.md): every mutation commits its event
   * with its change (default false). Off by default because an unread feed only grows until a
   * reader places and trims it; turn it on in every process that writes to the store, or the
   * feed misses their changes.
   */
  readonly events?: boolean | EventOptions
  /**
   * Signature policies by namespace (`'*'`: every namespace without its own). A policy names the
   * public keys whose signatures count and when one is required: `'push'` — a push must carry a
   * valid signature by one of them (and channels only point at releases that have one);
   * `'channel'` — pushes are free, but a channel may only point at a release whose every format
   * has one. Under a policy, only valid signatures by its keys are accepted at all. See docs/trust.md.
   * @throws invalid-parameters (from the constructor) for a key that is not Ed25519 or ECDSA P-256.
   */
  readonly signaturePolicies?: Readonly<Record<string, SignaturePolicy>>
}

/** A namespace's signature policy (see {@link RegistryOptions.signaturePolicies}). */
export interface SignaturePolicy {
  /** Public keys (PEM, JWK or KeyObject) whose signatures count. */
  readonly keys: readonly KeyInput[]
  /** What needs a valid signature: every push, or only pointing a channel at a release. */
  readonly require: 'push' | 'channel'
}

/** Input of {@link Registry.push}. */
export interface PushInput {
  /** `namespace/name`. */
  readonly package: string
  /** Exact SemVer 2.0.0 release. */
  readonly release: string
  /** Format short name (`helm`) or a full manifest media type; default `kpm` as in appr. */
  readonly format?: string
  /** The gzipped tarball. */
  readonly blob: BlobInput
  /** Free JSON stored on the manifest (default `null`). */
  readonly metadata?: unknown
  /** Overwrite an existing `(package, release, format)` (its signatures go with it). */
  readonly force?: boolean
  /**
   * Signatures of the manifest this push creates, stored with it in the same commit (needed
   * under a `'push'` signature policy). Each must sign that manifest's digest.
   */
  readonly signatures?: readonly unknown[]
}

/** Input of {@link StagedBlob.push}: a push whose blob was staged. */
export type StagedPushInput = Omit<PushInput, 'blob'>

/**
 * A blob {@link Registry.stage} streamed through validation into storage, not yet recorded as
 * any release. Gc reclaims one neither pushed nor discarded once `uploadTimeoutMs` has passed.
 */
export interface StagedBlob {
  /** appr digest of the blob. */
  readonly digest: string
  /** Size in bytes. */
  readonly size: number
  /**
   * Records the blob as a release, as {@link Registry.push} does; at most once. A push that fails
   * discards the blob.
   * @throws as Registry.push; invalid-usage when the blob was pushed or discarded already
   */
  push(input: StagedPushInput): Promise<Manifest>
  /** Drops the blob unless it was pushed; calling it again does nothing. */
  discard(): Promise<void>
}

/** How show/pull pick a release and a format. */
export interface ResolveOptions {
  /** `default`/absent = highest release; otherwise an exact release or a query (`>=1.0,<2`). */
  readonly release?: string
  /** Format short name, a media type, or `-` = the release's only format (default `-`). */
  readonly format?: string
  /**
   * When true, the query only considers releases that have the requested format.
   * Default false: like appr, the release is resolved first (so `default` may be a 404 when the
   * newest release lacks the format).
   */
  readonly formatAware?: boolean
}

/** A blob's bytes with what describes them. */
export interface BlobResult {
  /** appr digest (sha256 hex of the gunzipped tar). */
  readonly digest: string
  /** OCI digest of the stored gzip bytes: `sha256:<hex>`. */
  readonly ociDigest: string
  /** Size of the gzip bytes. */
  readonly size: number
  /** The gzip bytes, streamed. Consume it once. */
  readonly stream: AsyncIterable<Uint8Array>
}

/** Result of {@link Registry.pull}. */
export interface PullResult extends BlobResult {
  readonly manifest: ManifestWithChannels
  /** `<ns>_<name>_<release>.tar.gz`, as appr names it. */
  readonly filename: string
}

/** Options of {@link Registry.list}. */
export interface ListOptions {
  /** Only this namespace. */
  readonly namespace?: string
  /**
   * Only releases having this format (short name or media type) count, as in appr: packages
   * without one are skipped, and `manifests` is `[format]`.
   */
  readonly format?: string
  /** Only packages whose `ns/name` contains this text (plain substring, case-insensitive). */
  readonly query?: string
  /** Resume after this package name (the `next` of the previous page). */
  readonly after?: string
  /** Page size (default 1,000). */
  readonly limit?: number
}

/** Which page of a paged listing. */
export interface PageOptions {
  /** Resume after this entry (the `next` of the previous page). */
  readonly after?: string
  /** Page size (default 1,000, at most 10,000). */
  readonly limit?: number
}

/** A page of namespaces. `next` is present when more may follow. */
export interface NamespacePage {
  readonly namespaces: string[]
  readonly next?: string
}

/** A page of packages. `next` is present when more may follow. */
export interface ListPage {
  readonly packages: PackageSummary[]
  readonly next?: string
}

/** One entry of a backup document, as appr writes it. */
export interface BackupPackage extends Manifest {
  /** base64 of the gzip bytes. */
  readonly blob: string
  /** Channels that contain this release. */
  readonly channels: readonly string[]
  /** Signatures of this manifest, when it has some. */
  readonly signatures?: readonly Signature[]
}

/** appr's backup document. */
export interface BackupDocument {
  readonly packages: BackupPackage[]
  readonly channels: { readonly package: string; readonly name: string; readonly current: string }[]
}

/**
 * An OCI blob of a repository in a streamed backup: its bytes follow in `oci-chunk` records,
 * unless `from` says where the restore finds them (`appr`: the appr blob `appr`, restored by the
 * release records; `earlier`: carried earlier in the backup for another repository).
 */
export interface OciBlobBackupRecord {
  readonly kind: 'oci-blob'
  readonly repository: string
  /** `sha256:<hex>` of the bytes. */
  readonly digest: string
  readonly size: number
  readonly from?: 'appr' | 'earlier'
  /** With `from: "appr"`: the appr digest of the blob holding the bytes. */
  readonly appr?: string
}

/** The next bytes of the OCI blob before it, base64 (at most 1 MiB of bytes). */
export interface OciChunkBackupRecord {
  readonly kind: 'oci-chunk'
  readonly data: string
}

/** An OCI manifest of a repository: its exact bytes (base64) and media type. */
export interface OciManifestBackupRecord {
  readonly kind: 'oci-manifest'
  readonly repository: string
  readonly digest: string
  readonly mediaType: string
  readonly bytes: string
  /**
   * Set for a manifest of the appr view: the release (and the format, unless it is the release's
   * index); `projected` when appr-core made it rather than a `/v2/` client.
   */
  readonly appr?: { readonly release: string; readonly format?: string; readonly projected?: true }
}

/** A client's tag of an OCI repository (tags of appr releases and channels are not carried: they come back with them). */
export interface OciTagBackupRecord {
  readonly kind: 'oci-tag'
  readonly repository: string
  readonly tag: string
  readonly digest: string
}

/**
 * One record of a streamed backup ({@link Registry.backupStream}; one JSON line each in NDJSON):
 * a `header` (version 2), per package its `release` records then its `channel` records, then per
 * OCI repository its `oci-blob` (with their `oci-chunk`), `oci-manifest` and `oci-tag` records,
 * and an `end` with the counts (a stream without it was cut short). Version 1 backups (appr
 * records only, no OCI counts in `end`) are restored too. docs/architecture.md, "Backups".
 */
export type BackupRecord =
  | { readonly kind: 'header'; readonly format: 'appr-core-backup'; readonly version: 2; readonly created_at: string }
  | ({ readonly kind: 'release' } & BackupPackage)
  | { readonly kind: 'channel'; readonly package: string; readonly name: string; readonly current: string }
  | OciBlobBackupRecord
  | OciChunkBackupRecord
  | OciManifestBackupRecord
  | OciTagBackupRecord
  | {
      readonly kind: 'end'
      readonly packages: number
      readonly releases: number
      readonly channels: number
      readonly repositories: number
      readonly manifests: number
      readonly tags: number
      readonly blobs: number
    }

/** Where a {@link Registry.restoreStream} stands (and, at the end, what it did). */
export interface RestoreProgress {
  /** Records read, the header included. */
  readonly records: number
  /** Releases stored. */
  readonly releases: number
  /** Releases already stored with the same blob (a resumed restore), left alone. */
  readonly skipped: number
  /** Channels set (those already as the backup has them are left alone). */
  readonly channels: number
  /** OCI manifests stored (those of the appr view a restored release regenerated are not counted). */
  readonly manifests: number
  /** OCI client tags set. */
  readonly tags: number
  /** OCI blobs stored or linked to a repository. */
  readonly blobs: number
  /** Blob bytes stored (appr and OCI). */
  readonly bytes: number
}

/** Options of {@link Registry.restoreStream}. */
export interface RestoreStreamOptions {
  /** Called after each record. */
  readonly onProgress?: (progress: RestoreProgress) => void
}

/** What {@link Registry.stats} counts, in one scan of the records. */
export interface RegistryStats {
  readonly packages: number
  /** Distinct (package, release) pairs. */
  readonly releases: number
  /** (package, release, format) triples: what a pull names. */
  readonly manifests: number
  readonly channels: number
  /** Distinct blob contents and their bytes (shared blobs counted once). */
  readonly blobs: number
  readonly blobBytes: number
  /** OCI repositories with manifests, and distinct OCI blobs with their bytes. */
  readonly ociRepositories: number
  readonly ociBlobs: number
  readonly ociBlobBytes: number
}

/** Options of {@link Registry.ociBackfill}. */
export interface OciBackfillOptions {
  /** Start after this package name (a previous run's `last`): resumes a run cut short without reading the packages before it again. */
  readonly after?: string
  /** Called after each package with the counts so far and the package's name (`last`). */
  readonly onProgress?: (progress: OciBackfillResult & { readonly last: string }) => void
}

/** Result of {@link Registry.ociBackfill}. */
export interface OciBackfillResult {
  /** Packages read. */
  readonly packages: number
  /** Releases whose OCI view was written (each in one commit), and the formats they had. */
  readonly releases: number
  readonly formats: number
  /** Releases the view showed already (or that were deleted meanwhile): nothing written. */
  readonly shown: number
  /** Packages whose names are not OCI repository names: they have no view. */
  readonly notOci: number
}

/** Result of {@link Registry.gc}. */
export interface GcResult {
  /** Blob objects deleted because no record names them. */
  readonly deletedBlobs: number
  /** OCI manifests deleted because nothing named them for the grace period (`ociGraceMs`); absent when none. */
  readonly deletedManifests?: number
}

export type { Channel, Manifest, ManifestWithChannels, PackageSummary }
