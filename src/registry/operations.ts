/**
 * The operation groups a {@link Registry} exposes as properties (`channels`, `signatures`,
 * `ociBlobs`, `ociManifests`): their interfaces, which HTTP surfaces and embedders type against.
 * @module
 */
import type { Channel, Signature } from '../model/types.js'
import type { OciBlobInfo, OciBlobRead, OciChunkOptions, OciUploadStatus } from './oci-blobs.js'
import type { OciListPage, OciReferrersPage, OciStoredManifest } from './oci-manifests.js'
import type { Registry } from './registry.js'

/** Channel operations of a {@link Registry}. */
export interface ChannelOperations {
  /** Every channel of a package, by name. @throws package-not-found */
  list(pkg: string): Promise<Channel[]>
  /** One channel. @throws package-not-found, channel-not-found */
  show(pkg: string, channel: string): Promise<Channel>
  /** Adds an exact release (creating the channel if needed); it becomes current. @throws package-not-found, package-release-not-found, invalid-release, invalid-parameters (channel name) */
  add(pkg: string, channel: string, release: string): Promise<Channel>
  /**
   * Removes a release; the highest remaining becomes current (also when the release was not in
   * the channel, as appr does); the last one deletes the channel. Returns the channel afterwards,
   * or undefined when it was deleted.
   * @throws package-not-found (also for a release the package does not have), channel-not-found
   */
  remove(pkg: string, channel: string, release: string): Promise<Channel | undefined>
  /** Deletes a channel. @throws package-not-found, channel-not-found */
  delete(pkg: string, channel: string): Promise<void>
  /**
   * Names of the channels whose current release is `release` (default), or, with
   * `{ membership: true }`, of every channel that contains it. @throws package-not-found
   */
  ofRelease(pkg: string, release: string, options?: { membership?: boolean }): Promise<string[]>
}

/** Signature operations of a {@link Registry} (see docs/trust.md). */
export interface SignatureOperations {
  /** The signatures of one `(package, release, format)`. @throws package-not-found */
  list(pkg: string, release: string, format: string): Promise<Signature[]>
  /**
   * Adds signatures of one `(package, release, format)`'s manifest digest, one per key (a key's
   * new signature replaces its old one); returns all its signatures. Without a policy the registry
   * checks their form and digest (clients verify them); under one, each must verify with its keys.
   * @throws package-not-found, invalid-release, invalid-parameters (malformed, another digest,
   *   invalid under the policy, more than 16)
   */
  add(pkg: string, release: string, format: string, signatures: readonly unknown[]): Promise<Signature[]>
  /** Removes the signature by `keyid`; true when there was one. @throws package-not-found */
  remove(pkg: string, release: string, format: string, keyid: string): Promise<boolean>
}

/**
 * OCI blobs and upload sessions of a {@link Registry} (the data of `/v2/<name>/blobs/…`).
 * Repository names, digests and session ids are checked; failures are `OciError`s (`appr-core/oci`) with the
 * spec's codes (`NAME_INVALID`, `DIGEST_INVALID`, `BLOB_UPLOAD_UNKNOWN`, `RANGE_INVALID`).
 */
export interface OciBlobOperations {
  /** Starts an upload session in `repository`. */
  startUpload(repository: string): Promise<OciUploadStatus>
  /** Where a session stands. */
  uploadStatus(repository: string, id: string): Promise<OciUploadStatus>
  /**
   * Appends a chunk; `range` (a `Content-Range`) must continue the upload. With `minChunk`, only
   * the last chunk may be shorter: a chunk after a shorter one is `BLOB_UPLOAD_INVALID`.
   */
  appendUpload(repository: string, id: string, chunks: AsyncIterable<Uint8Array>, range?: { start: number; end?: number }, options?: OciChunkOptions): Promise<OciUploadStatus>
  /** Appends the last bytes (if any, under the same `minChunk` rule), verifies `digest` and links the blob to the repository; ends the session. */
  finishUpload(repository: string, id: string, digest: string, chunks?: AsyncIterable<Uint8Array>, options?: OciChunkOptions): Promise<OciBlobInfo>
  /** Cancels a session and deletes what it received. */
  cancelUpload(repository: string, id: string): Promise<void>
  /** A blob linked to `repository`, or `undefined`. */
  head(repository: string, digest: string): Promise<OciBlobInfo | undefined>
  /** A blob's bytes (or an inclusive range), or `undefined` when it is not linked to `repository`. */
  get(repository: string, digest: string, range?: { start: number; end?: number }): Promise<OciBlobRead | undefined>
  /** Unlinks a blob from `repository` (its bytes go with its last link); false when it was not linked. */
  delete(repository: string, digest: string): Promise<boolean>
  /** Links a blob of `from` to `repository` too; false when `from` has no such blob. */
  mount(repository: string, digest: string, from: string): Promise<boolean>
}

/**
 * OCI manifests, tags and the catalog of a {@link Registry} (the data of
 * `/v2/<name>/manifests/…`, `/v2/<name>/tags/list`, `/v2/_catalog`). Failures are `OciError`s
 * (`appr-core/oci`) with the spec's codes.
 */
export interface OciManifestOperations {
  /**
   * Stores a manifest (the exact bytes) at a tag or its digest; `contentType` is the request's
   * `Content-Type`. `subject`: the digest its `subject` names. A chart or appr artifact at a
   * SemVer tag of a `<ns>/<name>` repository becomes an appr release (docs/oci.md, "One registry,
   * two views"); conflicts with a release or channel are `DENIED`.
   */
  put(repository: string, reference: string, bytes: Uint8Array, contentType?: string): Promise<{ digest: string; mediaType: string; subject?: string }>
  /** A manifest by tag or digest, or `undefined` (also for a reference that cannot be a tag). @throws `DIGEST_INVALID` for a malformed digest */
  get(repository: string, reference: string): Promise<OciStoredManifest | undefined>
  /** A manifest's digest, media type and size, or `undefined`. */
  head(repository: string, reference: string): Promise<{ digest: string; mediaType: string; size: number } | undefined>
  /**
   * Deletes by digest (with every tag naming it) or by tag (the tag only); the tag or manifest
   * of an appr release deletes the release (or that format), a channel's tag the channel. False
   * when absent.
   */
  delete(repository: string, reference: string): Promise<boolean>
  /** One page of a repository's tags, lexical order (none for a repository that holds only blobs). @throws `NAME_UNKNOWN` when it holds neither manifests nor blobs */
  tags(repository: string, options?: { n?: number; last?: string }): Promise<OciListPage>
  /** One page of repositories with manifests, lexical order. */
  catalog(options?: { n?: number; last?: string }): Promise<OciListPage>
  /**
   * One page of the descriptors of the manifests whose `subject` is `digest` (the referrers API),
   * in digest order, optionally of one `artifactType`: at most `n` (default and at most 1,000) and
   * about 4 MiB of descriptors, after the referrer `last`; `next` is the `last` of the following page.
   * @throws `PAGINATION_NUMBER_INVALID`, `DIGEST_INVALID`
   */
  referrers(repository: string, digest: string, options?: { artifactType?: string; n?: number; last?: string }): Promise<OciReferrersPage>
}
