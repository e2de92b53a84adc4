/**
 * The {@link Registry} facade: its options, the context it builds once (stores, caches, limits)
 * and the public API with its documentation. Each method delegates to the module of its
 * operation family (push.ts, read.ts, list.ts, delete.ts, channels.ts, backup.ts, gc.ts), which
 * take the {@link RegistryContext} built here.
 * @module
 */
import { ApprError } from '../errors/index.js'
import type { Manifest, ManifestWithChannels } from '../model/types.js'
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
import { list, listManifests, namespaces, search } from './list.js'
import {
  appendUpload,
  cancelUpload,
  deleteBlob,
  finishUpload,
  getBlob,
  headBlob,
  mountBlob,
  startUpload,
  uploadStatus,
} from './oci-blobs.js'
import { catalog, deleteManifest, getManifest, headManifest, listReferrers, listTags, putManifest } from './oci-manifests.js'
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
  ManifestListOptions,
  ManifestPage,
  NamespacePage,
  PageOptions,
  PullResult,
  PushInput,
  RegistryOptions,
  ResolveOptions,
  StagedBlob,
} from './types.js'

import type { ChannelOperations, OciBlobOperations, OciManifestOperations, SignatureOperations } from './operations.js'

export type { ChannelOperations, OciBlobOperations, OciManifestOperations, SignatureOperations } from './operations.js'

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

  /**
   * A page of the manifests of one format, in a namespace or everywhere, in key order (package,
   * then release as text): one range scan, for readers of every release of many packages. The
   * manifests are shared: do not change them.
   */
  listManifests(options: ManifestListOptions): Promise<ManifestPage> {
    return listManifests(this.#ctx, options)
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
