/**
 * A bounded cache of decoded manifests (and where their blob's bytes are), keyed by the manifest
 * key **and the version of the package record** they were read under.
 *
 * Why that is safe across processes: every commit that writes or deletes a manifest key (push,
 * force push, delete, restore) rewrites or deletes its package record in the same commit, and a
 * store never gives a key the same version twice (also across delete and re-create). So while a
 * package record still has version `v` — which every show and pull reads fresh from the store —
 * each manifest it names is exactly what was read under `v`. Likewise the manifest's blob record
 * cannot go away (it counts this manifest's reference), so its object id stays valid; objects
 * are immutable. A hit therefore saves reading and validating the manifest (and, for pull, the
 * blob records) without ever serving anything a writer anywhere has since replaced.
 * @module
 */
import type { Manifest } from '../model/types.js'
import { LruMap } from './lru.js'

/** Where the bytes of a manifest's blob are, as its blob record says. */
export interface BlobLocation {
  readonly digest: string
  readonly ociDigest: string
  readonly size: number
  readonly object: string
}

/** Kept under the version of the package record the manifest was read under. */
interface Entry {
  readonly manifest: Manifest
  blob?: BlobLocation
}

/** Deep copy of plain JSON (what JSON.parse gave): callers may mutate what they get. */
function copyJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(copyJson)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const item = copyJson((value as Record<string, unknown>)[key])
    // Metadata is user JSON: a member named __proto__ is data, not this object's prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true })
    else out[key] = item
  }
  return out
}

/** A fresh copy of a cached manifest, sharing nothing with the cache. */
export function copyManifest(m: Manifest): Manifest {
  return {
    package: m.package,
    release: m.release,
    mediaType: m.mediaType,
    content: { mediaType: m.content.mediaType, size: m.content.size, digest: m.content.digest, urls: [...m.content.urls] },
    metadata: copyJson(m.metadata),
    created_at: m.created_at,
  }
}

/** How a cache has been doing since it was created (for metrics: hit ratio = hits / (hits + misses)). */
export interface CacheStats {
  readonly hits: number
  readonly misses: number
  /** Entries held now. */
  readonly entries: number
}

/** Manifests by (manifest key, package record version); oldest entries evicted first. */
export class ReleaseCache {
  readonly #entries: VersionedCache<Entry>

  constructor(max: number) {
    this.#entries = new VersionedCache(max)
  }

  stats(): CacheStats {
    return this.#entries.stats()
  }

  /** A copy of the manifest at `key` if it was read under package record version `version`. */
  manifest(key: string, version: string): Manifest | undefined {
    const entry = this.#entries.get(key, version)
    return entry && copyManifest(entry.manifest)
  }

  /** Where the blob of the manifest at `key` is, if known under `version`. */
  blob(key: string, version: string): BlobLocation | undefined {
    return this.#entries.get(key, version)?.blob
  }

  /** Remembers a manifest just read (a copy is kept: the caller owns `manifest`). */
  remember(key: string, version: string, manifest: Manifest): void {
    this.#entries.set(key, version, { manifest: copyManifest(manifest) })
  }

  /** Remembers where the blob of a remembered manifest is (ignored unless it is still that version). */
  rememberBlob(key: string, version: string, blob: BlobLocation): void {
    const entry = this.#entries.get(key, version, false)
    if (entry?.manifest.content.digest === blob.digest) entry.blob = blob
  }
}

/**
 * Decoded records by key and store version, for read paths only: a hit saves decoding and
 * validating a record the store returned unchanged (same version: same bytes, see the module
 * note). What it returns is shared: callers must not change it (transactions decode their own).
 */
export class VersionedCache<T> {
  readonly #entries: LruMap<string, { readonly version: string; readonly value: T }>
  #hits = 0
  #misses = 0

  constructor(max: number) {
    this.#entries = new LruMap(Math.max(0, Math.floor(max)))
  }

  /** The value at `key` if it was kept under `version`; `count` false: an internal look-up that is no hit or miss. */
  get(key: string, version: string, count = true): T | undefined {
    const entry = this.#entries.get(key)
    const value = entry?.version === version ? entry.value : undefined
    if (count) {
      if (value === undefined) this.#misses++
      else this.#hits++
    }
    return value
  }

  stats(): CacheStats {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size }
  }

  set(key: string, version: string, value: T): void {
    this.#entries.set(key, { version, value })
  }
}
