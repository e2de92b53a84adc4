/**
 * What every operation family of a `Registry` works with: the stores, the clock, the retry
 * budget, the limits and the caches. One per Registry, built once by {@link createContext}; the
 * operation modules take it as their first argument and never keep state of their own.
 * @module
 */
import type { BlobStore } from '../storage/blob.js'
import type { KvStore } from '../storage/kv.js'
import { type KvBlobStore, kvBlobStore } from '../storage/kv-blob-store.js'
import { BlobCache } from './blob-cache.js'
import { type EventSettings, eventSettings } from './events/record.js'
import { LruMap } from './lru.js'
import type { PackageSummary } from '../model/types.js'
import type { PackageRecord } from './records.js'
import { ReleaseCache, VersionedCache } from './release-cache.js'
import { type CompiledPolicy, compilePolicies } from './signatures.js'
import type { ArchiveLimits, RegistryOptions } from './types.js'

export interface RegistryContext {
  readonly store: KvStore
  readonly blobs: BlobStore
  /** The blob store when it is the default one on `store`: small pushes then commit their bytes with their records. */
  readonly kvBlobs: KvBlobStore | undefined
  readonly clock: () => Date
  readonly maxRetries: number
  readonly onMutation: RegistryOptions['onMutation'] | undefined
  readonly uploadTimeoutMs: number
  readonly ociGraceMs: number
  readonly ociOverwriteReleases: boolean
  readonly limits: ArchiveLimits | undefined
  /** Manifests by package-record version, and where their blobs are. */
  readonly cache: ReleaseCache
  readonly blobCache: BlobCache
  /** Package records as read (shared, never changed): read paths only. */
  readonly records: VersionedCache<PackageRecord>
  /** List summaries by package-record version (shared, never changed: list hands out copies). */
  readonly summaries: VersionedCache<PackageSummary>
  /** Packages this registry has seen exist (a hint for push, never trusted for an answer). */
  readonly known: LruMap<string, true>
  /** Signature policies by namespace (`'*'` for the rest). */
  readonly policies: ReadonlyMap<string, CompiledPolicy>
  /** Set when this registry records events (`RegistryOptions.events`). */
  readonly events: EventSettings | undefined
  /** Who the events this registry's mutations record name (`Registry.as`). */
  readonly actor: string | undefined
}

export function createContext(options: RegistryOptions): RegistryContext {
  const kvBlobs = options.blobs === undefined ? kvBlobStore(options.store) : undefined
  const entries = options.cacheEntries ?? 10_000
  return {
    store: options.store,
    blobs: options.blobs ?? kvBlobs!,
    kvBlobs,
    clock: options.clock ?? (() => new Date()),
    maxRetries: options.maxRetries ?? 16,
    onMutation: options.onMutation,
    uploadTimeoutMs: options.uploadTimeoutMs ?? 60 * 60 * 1000,
    ociGraceMs: options.ociGraceMs ?? 24 * 60 * 60 * 1000,
    ociOverwriteReleases: options.ociOverwriteReleases === true,
    limits: options.limits,
    cache: new ReleaseCache(entries),
    blobCache: new BlobCache(options.blobCacheBytes ?? 16 * 1024 * 1024),
    records: new VersionedCache(entries),
    summaries: new VersionedCache(entries),
    known: new LruMap(entries),
    policies: compilePolicies(options.signaturePolicies),
    events: eventSettings(options.events),
    actor: undefined,
  }
}
