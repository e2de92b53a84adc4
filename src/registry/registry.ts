/**
 * The {@link Registry} facade: its options, the context it builds once (stores, caches, limits)
 * and the public API with its documentation. Each method delegates to the module of its
 * operation family (push.ts, read.ts, list.ts, delete.ts, channels.ts, backup.ts, gc.ts), which
 * take the {@link RegistryContext} built here.
 * @module
 */
import { ApprError } from '../errors/index.js'
import type { Channel, Manifest, ManifestWithChannels, Signature } from '../model/types.js'
import { backup, restore } from './backup.js'
import { backupRecords, restoreRecords } from './backup-stream.js'
import { showByDigest } from './by-digest.js'
import { addToChannel, channelsOfRelease, deleteChannel, listChannels, removeFromChannel, showChannel } from './channels.js'
import { createContext, type RegistryContext } from './context.js'
import { deleteRelease } from './delete.js'
import { latestCursor, readEvents, watchEvents } from './events/feed.js'
import type { EventOperations } from './events/types.js'
import { gc } from './gc.js'
import { stats } from './stats.js'
import { ociBackfill } from './oci-backfill.js'
import { list, namespaces, search } from './list.js'
import {
  appendUpload,
  cancelUpload,
  deleteBlob,
  finishUpload,
  getBlob,
  headBlob,
  mountBlob,
  type OciBlobInfo,
  type OciBlobRead,
  type OciChunkOptions,
  type OciUploadStatus,
  startUpload,
  uploadStatus,
} from './oci-blobs.js'
import { catalog, deleteManifest, getManifest, headManifest, listReferrers, listTags, type OciListPage, type OciReferrersPage, type OciStoredManifest, putManifest } from './oci-manifests.js'
import { push, stage } from './push.js'
import type { CacheStats } from './release-cache.js'
import { blob, manifests, pull, releases, show } from './read.js'
import { addSignatures, listSignatures, removeSignature } from './signatures.js'
import type {
  BackupDocument,
  BackupRecord,
  BlobInput,
  BlobResult,
  GcResult,
  OciBackfillOptions,
  OciBackfillResult,
  RegistryStats,
  RestoreProgress,
  RestoreStreamOptions,
  ListOptions,
  ListPage,
  NamespacePage,
  PageOptions,
  PullResult,
  PushInput,
  RegistryOptions,
  ResolveOptions,
  StagedBlob,
} from './types.js'

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

/**
 * An appr registry over a {@link KvStore}.
 *
 * Every mutation is one atomic `commit` whose checks cover every record it read, retried (with a
 * short random back-off) up to `maxRetries` times on conflict, then `resource-in-use`. Package
 * names are lowercased on input and compare case-insensitively; channel names are case-sensitive.
 * Cost of push, pull, show and every package-level call is independent of the number of packages.
 *
 * @example
 * ```ts
 * const registry = new Registry({ store: memoryStore() })
 * await registry.push({ package: 'acme/nginx', release: '1.0.0', format: 'helm', blob })
 * const { manifest, stream } = await registry.pull('acme/nginx', { release: '>=1.0', format: 'helm' })
 * ```
 */
export class Registry {
  readonly channels: ChannelOperations
  /** The change feed: what changed, in commit order per package, across processes (`options.events` records it). */
  readonly events: EventOperations
  /** OCI blobs and upload sessions (see docs/oci.md). */
  readonly ociBlobs: OciBlobOperations
  /** OCI manifests, tags and the catalog (see docs/oci.md). */
  readonly ociManifests: OciManifestOperations
  readonly signatures: SignatureOperations
  readonly #ctx: RegistryContext

  /**
   * @param options the stores and settings
   * @param context internal: the context a view made by {@link Registry.as} shares with its registry
   */
  constructor(
    readonly options: RegistryOptions,
    context?: RegistryContext,
  ) {
    const ctx = context ?? createContext(options)
    this.#ctx = ctx
    this.channels = {
      list: (pkg) => listChannels(ctx, pkg),
      show: (pkg, channel) => showChannel(ctx, pkg, channel),
      add: (pkg, channel, release) => addToChannel(ctx, pkg, channel, release),
      remove: (pkg, channel, release) => removeFromChannel(ctx, pkg, channel, release),
      delete: (pkg, channel) => deleteChannel(ctx, pkg, channel),
      ofRelease: (pkg, release, options) => channelsOfRelease(ctx, pkg, release, options?.membership ?? false),
    }
    this.events = {
      read: (options) => readEvents(ctx, options),
      watch: (options) => watchEvents(ctx, options),
      latest: () => latestCursor(ctx),
    }
    this.ociBlobs = {
      startUpload: (repository) => startUpload(ctx, repository),
      uploadStatus: (repository, id) => uploadStatus(ctx, repository, id),
      appendUpload: (repository, id, chunks, range, options) => appendUpload(ctx, repository, id, chunks, range, options),
      finishUpload: (repository, id, digest, chunks, options) => finishUpload(ctx, repository, id, digest, chunks, options),
      cancelUpload: (repository, id) => cancelUpload(ctx, repository, id),
      head: (repository, digest) => headBlob(ctx, repository, digest),
      get: (repository, digest, range) => getBlob(ctx, repository, digest, range),
      delete: (repository, digest) => deleteBlob(ctx, repository, digest),
      mount: (repository, digest, from) => mountBlob(ctx, repository, digest, from),
    }
    this.ociManifests = {
      put: (repository, reference, bytes, contentType) => putManifest(ctx, repository, reference, bytes, contentType),
      get: (repository, reference) => getManifest(ctx, repository, reference),
      head: (repository, reference) => headManifest(ctx, repository, reference),
      delete: (repository, reference) => deleteManifest(ctx, repository, reference),
      tags: (repository, options) => listTags(ctx, repository, options),
      catalog: (options) => catalog(ctx, options),
      referrers: (repository, digest, options) => listReferrers(ctx, repository, digest, options),
    }
    this.signatures = {
      list: (pkg, release, format) => listSignatures(ctx, pkg, release, format),
      add: (pkg, release, format, signatures) => addSignatures(ctx, pkg, release, format, signatures),
      remove: (pkg, release, format, keyid) => removeSignature(ctx, pkg, release, format, keyid),
    }
  }

  /**
   * Stores a release. The blob is streamed through validation into the BlobStore first; only a
   * valid blob is then recorded, in one commit with the manifest, the package record and the
   * blob's reference counts. Identical content is stored once (deduplicated by appr digest).
   * @throws package-exists (without force), invalid-release, invalid-parameters (name, format),
   *   invalid-usage (blob is not a safe gzipped tar), resource-in-use (contention)
   */
  push(input: PushInput): Promise<Manifest> {
    return push(this.#ctx, input)
  }

  /**
   * Streams a blob through the same validation as {@link push} before its release is known, for
   * callers that learn the release after the bytes (a push body whose members come in any
   * order). The returned handle's `push` records it; `discard` drops it.
   * @throws invalid-usage (blob is not a safe gzipped tar), payload-too-large, unavailable
   */
  stage(blob: BlobInput): Promise<StagedBlob> {
    return stage(this.#ctx, blob)
  }

  /**
   * Resolves a release query and a format and returns the manifest, with the names of the
   * channels whose current release it is.
   * @throws package-not-found (also for a format the release lacks), package-release-not-found,
   *   invalid-release (malformed query), invalid-usage (`-` on a release with several formats)
   */
  show(pkg: string, options: ResolveOptions = {}): Promise<ManifestWithChannels> {
    return show(this.#ctx, pkg, options)
  }

  /** {@link show} plus the blob's bytes, streamed. Same errors. */
  pull(pkg: string, options: ResolveOptions = {}): Promise<PullResult> {
    return pull(this.#ctx, pkg, options)
  }

  /**
   * A blob by appr digest, served only under a package one of whose manifests names it.
   * @throws package-not-found (unknown digest, or a digest of another package)
   */
  blob(pkg: string, digest: string): Promise<BlobResult> {
    return blob(this.#ctx, pkg, digest)
  }

  /**
   * Manifests of every release (optionally only of one format), newest release first, each with
   * its `signatures` when it has some.
   * @throws package-not-found
   */
  releases(pkg: string, options: { format?: string } = {}): Promise<Manifest[]> {
    return releases(this.#ctx, pkg, options)
  }

  /**
   * The manifest whose manifest digest (`sha256:<hex>`, see docs/trust.md) is `digest`, as
   * {@link show} gives it. A force push that changes a manifest makes its old digest resolve to nothing.
   * @throws package-not-found, package-release-not-found
   */
  showByDigest(pkg: string, digest: string): Promise<ManifestWithChannels> {
    return showByDigest(this.#ctx, pkg, digest)
  }

  /** Manifests of one exact release (no query), by format. @throws package-not-found */
  manifests(pkg: string, release: string): Promise<Manifest[]> {
    return manifests(this.#ctx, pkg, release)
  }

  /**
   * A page of packages, by name. With `format`, only releases having that format count (as in
   * appr): packages with none are skipped and `manifests` is `[format]`.
   */
  list(options: ListOptions = {}): Promise<ListPage> {
    return list(this.#ctx, options)
  }

  /** A page of the namespaces that hold packages, in key order (one store read per namespace). */
  namespaces(options: PageOptions = {}): Promise<NamespacePage> {
    return namespaces(this.#ctx, options)
  }

  /** Names of packages containing `query` (plain, case-insensitive substring; never a pattern). `''` → `[]`. */
  search(query: string): Promise<string[]> {
    return search(this.#ctx, query)
  }

  /**
   * Deletes one `(package, release, format)` — exact release and format, as appr. The release
   * goes with its last format (leaving every channel: the highest remaining release becomes
   * current, an emptied channel is deleted); the package goes with its last release. Blobs no
   * manifest names any more are deleted.
   * @throws package-not-found (for an absent package, release or format, as appr answers)
   */
  delete(pkg: string, release: string, format: string): Promise<void> {
    return deleteRelease(this.#ctx, pkg, release, format)
  }

  /**
   * The whole registry in appr's backup format: every manifest with its blob (base64) and the
   * channels containing its release, and every channel's current release. Held in memory, as
   * the format requires. appr packages only: OCI content pushed through `/v2/` that is not an
   * appr release (images, indexes, client tags) is not in it; {@link backupStream} carries it.
   */
  backup(): Promise<BackupDocument> {
    return backup(this.#ctx)
  }

  /**
   * Loads an appr backup document (v0 or v1 media types, extra fields ignored). Everything is
   * validated first — names, releases, formats, base64, every blob as a safe gzipped tar whose
   * digest and size match its manifest — and nothing is written unless all of it is valid. Then
   * each manifest is stored (overwriting, as a forced push; timestamps and media types kept) and
   * each channel set, one commit each: restore as a whole is not atomic.
   * @throws invalid-parameters, invalid-release, invalid-usage
   */
  restore(doc: unknown): Promise<void> {
    return restore(this.#ctx, doc)
  }

  /**
   * The whole registry as a stream of backup records, package by package, in constant memory
   * (one blob at a time): a header (version 2), each package's releases (appr's backup entries)
   * then its channels, then each OCI repository's content that restoring the releases does not
   * make again (manifests, client tags, the blobs they name in 1 MiB chunks), and an end record
   * with the counts. Write one JSON line per record for the NDJSON file `appr-core backup`
   * writes; a package or repository changed during the backup appears as it was when its
   * records were read.
   */
  backupStream(): AsyncGenerator<BackupRecord> {
    return backupRecords(this.#ctx)
  }

  /**
   * Restores a stream of backup records (from {@link backupStream}, or parsed NDJSON lines) as
   * they come: each release is validated (names, blob against digest and size, signature
   * policies) and stored as a forced push, each channel set after its package's releases; OCI
   * blobs are streamed into uploads (digest verified), manifests and tags written through the
   * OCI graph. A release already stored with the same blob, a channel already set the same way,
   * and OCI content already there are skipped, so a restore cut short is resumed by running it
   * again on the whole stream. Version 1 backups (appr records only) are read too.
   * @throws invalid-parameters naming the record (from 1) that is not valid, or a stream cut
   *   short (no end record); what came before is stored
   */
  restoreStream(records: AsyncIterable<unknown> | Iterable<unknown>, options?: RestoreStreamOptions): Promise<RestoreProgress> {
    return restoreRecords(this.#ctx, toAsync(records), options)
  }

  /** Counts packages, releases, manifests, channels, blobs and OCI data, in one scan of each. */
  stats(): Promise<RegistryStats> {
    return stats(this.#ctx)
  }

  /**
   * Writes the OCI view (docs/oci.md, "One registry, two views") of releases stored before it
   * existed, exactly as their push would have: one commit per release, checked against the
   * package record, so pushes, deletes and channel changes may run meanwhile. Formats the view
   * shows already are left alone: a second run writes nothing, and a run cut short resumes from
   * its last package (`after`) or from the start. Reads the package list page by page.
   */
  ociBackfill(options?: OciBackfillOptions): Promise<OciBackfillResult> {
    return ociBackfill(this.#ctx, options)
  }

  /**
   * Deletes blob objects no record points at: uploads older than `uploadTimeoutMs` whose writer
   * crashed or gave up, and objects a crash left behind after their records were deleted; and OCI
   * manifests and blob links nothing has named for `ociGraceMs` (untagged manifests no index
   * names, blobs no manifest names). Safe to run while the registry is in use.
   */
  gc(): Promise<GcResult> {
    return gc(this.#ctx)
  }

  /**
   * This registry acting for `actor`: the same stores, caches and feed, but every event its
   * mutations record names `actor` (`event.actor`). Cheap enough to make one per request;
   * closing a view closes nothing.
   * @throws invalid-parameters unless `actor` is 1-256 characters of well-formed text
   */
  as(actor: string): Registry {
    if (typeof actor !== 'string' || actor.length === 0 || actor.length > 256 || !actor.isWellFormed()) {
      throw new ApprError('invalid-parameters', 'an actor is 1-256 characters of well-formed text', { details: { actor: String(actor).slice(0, 40) } })
    }
    return new Registry({ ...this.options, ownsStore: false }, { ...this.#ctx, actor })
  }

  /**
   * One store round trip (a read of a key nothing writes): resolves when the store answers,
   * rejects with its error otherwise. What readiness checks and `serve`'s start-up probe call.
   */
  async ping(): Promise<void> {
    await this.#ctx.store.get('health/ping')
  }

  /**
   * Hits and misses of the registry's caches since it was created: decoded package records
   * (`records`), manifests by record version (`manifests`) and small blobs' bytes (`blobs`).
   */
  cacheStats(): { readonly records: CacheStats; readonly manifests: CacheStats; readonly blobs: CacheStats } {
    return { records: this.#ctx.records.stats(), manifests: this.#ctx.cache.stats(), blobs: this.#ctx.blobCache.stats() }
  }

  /** Closes the store unless `ownsStore` is false. */
  async close(): Promise<void> {
    if (this.options.ownsStore !== false) await this.#ctx.store.close()
  }
}

async function* toAsync<T>(items: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T> {
  yield* items
}
