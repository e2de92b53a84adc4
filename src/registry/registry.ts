import { QUICK_BYTES, quickFacts } from '../archive/quick.js'
import { analyzeBlob, type BlobFacts, validateBlob } from '../archive/validate.js'
import { ApprError, type ErrorDetails } from '../errors/index.js'
import { contentMediaType, DEFAULT_FORMAT, manifestMediaType, parseFormat } from '../model/media-type.js'
import { parseChannelName, parsePackageName, parseSegment, type PackageName } from '../model/package-name.js'
import { resolveQuery } from '../model/query.js'
import { parseRelease, sortReleasesDesc } from '../model/release.js'
import { BackupDocumentSchema } from '../model/schemas.js'
import type { Channel, Manifest, ManifestWithChannels, PackageSummary } from '../model/types.js'
import type { BlobStore } from '../storage/blob.js'
import { type KvBlobStore, kvBlobStore } from '../storage/kv-blob-store.js'
import type { KvEntry, KvPut, KvStore } from '../storage/kv.js'
import { listAll } from '../storage/util.js'
import { blobChunks, collectBytes, decodeBase64 } from './blob-input.js'
import {
  type BlobRecord,
  BlobRecordType,
  ChannelRecordType,
  decode,
  encode,
  keys,
  type Head,
  ManifestRecordType,
  ObjectRecordType,
  PackageBlobType,
  type PackageRecord,
  PackageRecordType,
} from './records.js'
import { BlobCache } from './blob-cache.js'
import { LruMap } from './lru.js'
import { type BlobLocation, copyManifest, ReleaseCache, VersionedCache } from './release-cache.js'
import { type Transaction, transact } from './transaction.js'
import type {
  BackupDocument,
  BackupPackage,
  BlobResult,
  GcResult,
  ListOptions,
  ListPage,
  PullResult,
  PushInput,
  RegistryOptions,
  ResolveOptions,
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

interface Resolved {
  readonly name: PackageName
  readonly pkg: PackageRecord
  /** Version of the package record read. */
  readonly version: string
  readonly manKey: string
  readonly manifest: Manifest
  /** For pull, read with the manifest: the blob records of the digest the package record names. */
  readonly blobEntries?: { readonly digest: string; readonly entries: readonly (KvEntry | undefined)[] }
  /** Where the blob is, when the package record's head said so. */
  readonly location?: BlobLocation
}

interface Upload {
  readonly id: string
  readonly facts: BlobFacts
  /** The object's own writes, not made yet: they go into the commit that records the release (inline push). */
  readonly staged?: { readonly puts: readonly KvPut[]; readonly absent: string }
}

interface ReleaseInput {
  readonly name: PackageName
  readonly release: string
  readonly format: string
  readonly metadata: unknown
  readonly force: boolean
  /** Restore keeps the document's timestamp and media types verbatim. */
  readonly createdAt?: string
  readonly mediaTypes?: { readonly manifest: string; readonly content: string }
}

interface StoreReleaseInput extends ReleaseInput {
  readonly source: AsyncIterable<Uint8Array>
  readonly expect?: { readonly digest: string; readonly size: number }
}

const DIGEST = /^[a-f0-9]{64}$/

/**
 * Metadata longer than this (as JSON) keeps its manifest out of the package record, which every
 * call reads; every other manifest field is short (bounded by validation).
 */
const MAX_HEAD_METADATA_CHARS = 2048

const headFits = (manifest: Manifest): boolean =>
  manifest.metadata === null || manifest.metadata === undefined || JSON.stringify(manifest.metadata).length <= MAX_HEAD_METADATA_CHARS

/**
 * Keeps `record.heads[format]` true after the releases of `format` changed: `candidate` (the
 * manifest just written, or the new default's after a delete) becomes the head when it is the
 * default release of the format; a head that is no longer the default, or whose manifest was
 * replaced by something not copied, is dropped. Never leaves a head that differs from its stored manifest.
 */
function updateHead(record: PackageRecord, format: string, candidate: Head | undefined): void {
  const withFormat = Object.keys(record.releases).filter((r) => format in record.releases[r]!)
  const wanted = withFormat.length === 0 ? undefined : resolveQuery(undefined, withFormat)
  const heads = { ...record.heads }
  const current = heads[format]
  if (candidate && candidate.manifest.release === wanted && headFits(candidate.manifest)) {
    heads[format] = candidate
  } else if (current && (current.manifest.release !== wanted || current.manifest.release === candidate?.manifest.release)) {
    delete heads[format]
  }
  if (Object.keys(heads).length > 0) record.heads = heads
  else delete record.heads
}

const notFound = (details: ErrorDetails, what = 'package'): ApprError =>
  new ApprError('package-not-found', `${what} not found: ${Object.values(details).join(' ')}`, { details })

/** Parses a name where appr answers 404 for anything that cannot exist. */
function lookupName(pkg: string): PackageName {
  try {
    return parsePackageName(pkg)
  } catch {
    throw notFound({ package: String(pkg).slice(0, 600) })
  }
}

function lookupFormat(format: string, details: ErrorDetails): string {
  try {
    return parseFormat(format)
  } catch {
    throw notFound({ ...details, media_type: String(format).slice(0, 200) })
  }
}


/** Push metadata as stored: plain JSON (a copy), `null` when absent. */
function jsonMetadata(value: unknown): unknown {
  if (value === undefined || value === null) return null
  try {
    return JSON.parse(JSON.stringify(value)) as unknown
  } catch (cause) {
    throw new ApprError('invalid-parameters', 'metadata must be JSON', { cause })
  }
}

/** The default release of `format` once `release` is gone, with its digest. */
function nextDefault(record: PackageRecord, release: string, format: string): { release: string; digest: string } | undefined {
  const rest = Object.keys(record.releases).filter((r) => r !== release && format in record.releases[r]!)
  const next = rest.length === 0 ? undefined : resolveQuery(undefined, rest)
  return next === undefined ? undefined : { release: next, digest: record.releases[next]![format]! }
}

function channelsOf(pkg: PackageRecord, release: string): string[] {
  return Object.entries(pkg.channels)
    .filter(([, current]) => current === release)
    .map(([name]) => name)
    .sort()
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
  readonly #store: KvStore
  readonly #blobs: BlobStore
  /** The blob store when it is the default one on `#store`: small pushes then commit their bytes with their records. */
  readonly #kvBlobs: KvBlobStore | undefined
  readonly #clock: () => Date
  readonly #maxRetries: number
  readonly #uploadTimeoutMs: number
  readonly #cache: ReleaseCache
  readonly #blobCache: BlobCache
  /** Package records as read (shared, never changed): read paths only. */
  readonly #records: VersionedCache<PackageRecord>
  /** Packages this registry has seen exist (a hint for push, never trusted for an answer). */
  readonly #known: LruMap<string, true>

  constructor(readonly options: RegistryOptions) {
    this.#store = options.store
    this.#kvBlobs = options.blobs === undefined ? kvBlobStore(options.store) : undefined
    this.#blobs = options.blobs ?? this.#kvBlobs!
    this.#clock = options.clock ?? (() => new Date())
    this.#maxRetries = options.maxRetries ?? 16
    this.#uploadTimeoutMs = options.uploadTimeoutMs ?? 60 * 60 * 1000
    this.#cache = new ReleaseCache(options.cacheEntries ?? 10_000)
    this.#records = new VersionedCache(options.cacheEntries ?? 10_000)
    this.#known = new LruMap(options.cacheEntries ?? 10_000)
    this.#blobCache = new BlobCache(options.blobCacheBytes ?? 16 * 1024 * 1024)
    this.channels = {
      list: (pkg) => this.#listChannels(pkg),
      show: (pkg, channel) => this.#showChannel(pkg, channel),
      add: (pkg, channel, release) => this.#addToChannel(pkg, channel, release),
      remove: (pkg, channel, release) => this.#removeFromChannel(pkg, channel, release),
      delete: (pkg, channel) => this.#deleteChannel(pkg, channel),
      ofRelease: (pkg, release, options) => this.#channelsOfRelease(pkg, release, options?.membership ?? false),
    }
  }

  // ── push ────────────────────────────────────────────────────────────────────────────────

  /**
   * Stores a release. The blob is streamed through validation into the BlobStore first; only a
   * valid blob is then recorded, in one commit with the manifest, the package record and the
   * blob's reference counts. Identical content is stored once (deduplicated by appr digest).
   * @throws package-exists (without force), invalid-release, invalid-parameters (name, format),
   *   invalid-usage (blob is not a safe gzipped tar), resource-in-use (contention)
   */
  async push(input: PushInput): Promise<Manifest> {
    const name = parsePackageName(input.package)
    const release = parseRelease(input.release)
    const format = parseFormat(input.format ?? DEFAULT_FORMAT)
    const base = { name, release, format, metadata: jsonMetadata(input.metadata), force: input.force === true }
    const inline = this.#inlineUpload(input.blob)
    if (inline) {
      const { manifest } = await this.#record(base, inline.upload)
      this.#blobCache.set(manifest.content.digest, inline.bytes)
      return manifest
    }
    return this.#storeRelease({ ...base, source: blobChunks(input.blob) })
  }

  /**
   * A small blob given as bytes, validated in memory, whose object can be written by the very
   * commit that records the release: push is then one read and one commit, and a rejected or
   * conflicting push has written nothing. `undefined` → the streaming path.
   */
  #inlineUpload(blob: PushInput['blob']): { upload: Upload; bytes: Uint8Array } | undefined {
    if (this.#kvBlobs === undefined || !(blob instanceof Uint8Array) || blob.byteLength > QUICK_BYTES) return undefined
    const bytes = blob.slice() // the caller may reuse its buffer meanwhile
    const facts = quickFacts(bytes, this.options.limits)
    if (facts === undefined) return undefined
    const id = crypto.randomUUID()
    const staged = this.#kvBlobs.stage(id, bytes)
    return staged && { upload: { id, facts, staged }, bytes }
  }

  async #storeRelease(input: StoreReleaseInput): Promise<Manifest> {
    const { name, release, format } = input
    const details = { package: name.full, release, media_type: format }
    const manKey = keys.man(name, release, format)
    if (!input.force && (await this.#store.get(manKey)) !== undefined) throw this.#exists(details)

    const id = crypto.randomUUID()
    const marker = keys.obj(id)
    const started = await this.#store.commit({
      checks: [{ key: marker, version: null }],
      puts: [{ key: marker, value: encode({ state: 'uploading', started_at: this.#now() }) }],
    })
    if (!started.ok) throw new ApprError('internal-error', 'an upload id was used twice', { details })

    let facts: BlobFacts
    try {
      const analysis = analyzeBlob(input.source, this.options.limits)
      analysis.facts.catch(() => undefined) // observed below; avoids an unhandled rejection when write throws first
      await this.#blobs.write(id, analysis.chunks)
      facts = await analysis.facts
      if (input.expect && (input.expect.digest !== facts.digest || input.expect.size !== facts.size)) {
        throw new ApprError('invalid-parameters', 'the blob does not match its manifest (digest or size)', {
          details: { ...details, digest: input.expect.digest, actual: facts.digest },
        })
      }
    } catch (error) {
      await this.#discardUpload(id)
      throw error
    }

    try {
      return (await this.#record(input, { id, facts })).manifest
    } catch (error) {
      // A commit whose outcome the adapter cannot know may have made this upload live: leave
      // it to gc, which deletes only objects whose marker still says `uploading`.
      const maybeApplied = error instanceof ApprError && error.details.applied === 'unknown'
      if (!maybeApplied) await this.#discardUpload(id)
      throw error
    }
  }

  /**
   * Records a release whose blob was uploaded (or, with `upload.staged`, is written now): one
   * commit of the manifest, the package record and the reference counts, retried on conflict.
   * Deletes objects the commit made unreachable afterwards.
   */
  async #record(input: ReleaseInput, upload: Upload): Promise<{ manifest: Manifest }> {
    const { name, release, format } = input
    const { id, facts } = upload
    const details = { package: name.full, release, media_type: format }
    const manKey = keys.man(name, release, format)
    const marker = keys.obj(id)
    const pkgKey = keys.pkg(name)
    // The blob keys are read here too (adjustRefs reuses them), so the attempt is one round trip.
    const reads = [pkgKey, manKey, keys.blob(facts.digest), keys.pblob(name, facts.digest)]
    // A small push of a package this registry has not seen is most likely a new package with new
    // content: presume every key absent and commit at once (one round trip); a wrong guess fails
    // the commit's checks and the push runs again with real reads (transact).
    const presumeAbsent = upload.staged && !input.force && !this.#known.has(pkgKey) ? reads : []
    const outcome = await transact(this.#store, this.#maxRetries, details, async (tx) => {
      // A staged upload has a fresh id: the commit checks its marker is still absent, unread.
      if (upload.staged) tx.expectAbsent(marker)
      const [pkgEntry, manEntry, , , markerEntry] = await tx.getMany(upload.staged ? reads : [...reads, marker])
      if (!upload.staged && (markerEntry === undefined || decode(ObjectRecordType, markerEntry.value, details).state !== 'uploading')) {
        throw new ApprError('unavailable', 'the upload took too long and was reclaimed; push again', { details, transient: true })
      }
      const previous = manEntry && decode(ManifestRecordType, manEntry.value, details)
      if (previous && !input.force) throw this.#exists(details)
      const now = this.#now()
      const pkg = pkgEntry ? this.#decodePackage(pkgEntry, name) : { name: name.full, created_at: now, releases: {}, channels: {} }
      const manifest: Manifest = {
        package: name.full,
        release,
        mediaType: input.mediaTypes?.manifest ?? manifestMediaType(format),
        content: { mediaType: input.mediaTypes?.content ?? contentMediaType(format), size: facts.size, digest: facts.digest, urls: [] },
        metadata: input.metadata,
        created_at: input.createdAt ?? now,
      }
      tx.put(manKey, encode(manifest))
      pkg.releases[release] = { ...pkg.releases[release], [format]: facts.digest }
      const deltas = new Map([[facts.digest, 1]])
      if (previous) deltas.set(previous.content.digest, (deltas.get(previous.content.digest) ?? 0) - 1)
      const stored = new Map<string, BlobRecord>()
      const doomed = await this.#adjustRefs(tx, name, deltas, upload, stored)
      const blob = stored.get(facts.digest)
      updateHead(pkg, format, blob && { manifest, ociDigest: blob.ociDigest, size: blob.size, object: blob.object })
      tx.put(pkgKey, encode(pkg))
      return { manifest, doomed }
    }, { presumeAbsent })
    this.#known.set(pkgKey, true)
    await this.#deleteObjects(outcome.doomed)
    return outcome
  }

  /**
   * Applies reference-count changes for digests of one package inside `tx`. With `upload`, its
   * object becomes the stored bytes of its digest, or (when that digest is already stored) is
   * scheduled for deletion. Returns the object ids to delete once the commit succeeded.
   */
  async #adjustRefs(tx: Transaction, name: PackageName, deltas: Map<string, number>, upload?: Upload, stored?: Map<string, BlobRecord>): Promise<string[]> {
    const digests = [...deltas.keys()]
    const entries = await tx.getMany(digests.flatMap((d) => [keys.blob(d), keys.pblob(name, d)]))
    const doomed: string[] = []
    digests.forEach((digest, i) => {
      const details = { package: name.full, digest }
      const delta = deltas.get(digest)!
      const blobEntry = entries[2 * i]
      const pblobEntry = entries[2 * i + 1]
      let blob = blobEntry && decode(BlobRecordType, blobEntry.value, details)
      if (upload && upload.facts.digest === digest) {
        if (blob) {
          // Stored already: the new bytes are not needed (a staged object is simply never written).
          if (!upload.staged) {
            tx.delete(keys.obj(upload.id))
            doomed.push(upload.id)
          }
        } else {
          const { facts } = upload
          blob = { digest, ociDigest: facts.ociDigest, size: facts.size, object: upload.id, refs: 0 }
          tx.put(keys.obj(upload.id), encode({ state: 'live', digest }))
          if (upload.staged) {
            for (const put of upload.staged.puts) tx.put(put.key, put.value)
            tx.expectAbsent(upload.staged.absent)
          }
        }
      }
      if (blob === undefined) throw new ApprError('internal-error', 'a manifest names a blob that has no record', { details })
      stored?.set(digest, blob)
      if (delta === 0) return
      const refs = blob.refs + delta
      if (refs > 0) {
        tx.put(keys.blob(digest), encode({ ...blob, refs }))
      } else {
        tx.delete(keys.blob(digest))
        tx.delete(keys.obj(blob.object))
        doomed.push(blob.object)
      }
      const packageRefs = (pblobEntry ? decode(PackageBlobType, pblobEntry.value, details).refs : 0) + delta
      if (packageRefs > 0) tx.put(keys.pblob(name, digest), encode({ refs: packageRefs }))
      else tx.delete(keys.pblob(name, digest))
    })
    return doomed
  }

  /** Deletes an upload that was never recorded: bytes first, then its marker (so a crash leaves a marker gc finds). */
  async #discardUpload(id: string): Promise<void> {
    try {
      const marker = await this.#store.get(keys.obj(id))
      if (marker !== undefined && decode(ObjectRecordType, marker.value, { object: id }).state !== 'uploading') return
      await this.#blobs.delete(id)
      await this.#store.commit({ deletes: [keys.obj(id)] })
    } catch {
      // gc reclaims it once the upload times out
    }
  }

  /** Deletes objects whose records a commit removed. Failures leave orphans for gc. */
  async #deleteObjects(ids: readonly string[]): Promise<void> {
    for (const id of ids) await this.#blobs.delete(id).catch(() => undefined)
  }

  // ── reads ───────────────────────────────────────────────────────────────────────────────

  /**
   * Resolves a release query and a format and returns the manifest, with the names of the
   * channels whose current release it is.
   * @throws package-not-found (also for a format the release lacks), package-release-not-found,
   *   invalid-release (malformed query), invalid-usage (`-` on a release with several formats)
   */
  async show(pkg: string, options: ResolveOptions = {}): Promise<ManifestWithChannels> {
    const { pkg: record, manifest } = await this.#resolve(pkg, options)
    return { ...manifest, channels: channelsOf(record, manifest.release) }
  }

  /** {@link show} plus the blob's bytes, streamed. Same errors. */
  async pull(pkg: string, options: ResolveOptions = {}): Promise<PullResult> {
    const { name, pkg: record, manifest, version, manKey, blobEntries, location } = await this.#resolve(pkg, options, true)
    const details = { package: name.full, release: manifest.release }
    // The package record just read names this manifest, so the package references its blob:
    // where the bytes are is known from the record's head or an earlier pull under the same record version.
    const known = location ?? this.#cache.blob(manKey, version)
    let blob: BlobResult
    if (known) {
      blob = { digest: known.digest, ociDigest: known.ociDigest, size: known.size, stream: await this.#blobBytes(known, details) }
    } else {
      const digest = manifest.content.digest
      const { result, object } = await this.#openBlobRecord(name, digest, details, blobEntries?.digest === digest ? blobEntries.entries : undefined)
      this.#cache.rememberBlob(manKey, version, { digest: result.digest, ociDigest: result.ociDigest, size: result.size, object })
      blob = result
    }
    return {
      ...blob,
      manifest: { ...manifest, channels: channelsOf(record, manifest.release) },
      filename: `${name.namespace}_${name.name}_${manifest.release}.tar.gz`,
    }
  }

  /**
   * The bytes of a blob the caller knows is live: from the blob cache (content never changes
   * under its digest), else from the BlobStore, remembering small ones.
   */
  async #blobBytes(location: BlobLocation, details: ErrorDetails): Promise<AsyncIterable<Uint8Array>> {
    const cached = this.#blobCache.get(location.digest)
    if (cached) return blobChunks(cached)
    const stream = await this.#readObject(location.object, details)
    if (!this.#blobCache.accepts(location.size)) return stream
    const bytes = await collectBytes(stream)
    if (bytes.byteLength === location.size) this.#blobCache.set(location.digest, bytes.slice())
    return blobChunks(bytes)
  }

  /** With `withBlob` (pull), a manifest read from the store comes with its blob records, in one round trip. */
  async #resolve(pkg: string, options: ResolveOptions, withBlob = false): Promise<Resolved> {
    const name = lookupName(pkg)
    const { record, version } = await this.#readPackage(name)
    const wanted = options.format ?? '-'
    const details = { package: name.full }
    let candidates = Object.keys(record.releases)
    let format = wanted === '-' ? undefined : lookupFormat(wanted, details)
    if (options.formatAware && format !== undefined) candidates = candidates.filter((r) => format! in record.releases[r]!)
    const release = resolveQuery(options.release, candidates)
    if (release === undefined) {
      throw new ApprError('package-release-not-found', `no release of ${name.full} matches '${options.release ?? 'default'}'`, {
        details: { package: name.full, release_query: options.release ?? 'default' },
      })
    }
    const formats = Object.keys(record.releases[release]!).sort()
    if (format === undefined) {
      if (formats.length !== 1) {
        throw new ApprError('invalid-usage', `${name.full} ${release} has several formats; name one: ${formats.join(', ')}`, {
          details: { package: name.full, release, formats },
        })
      }
      format = formats[0]!
    } else if (!formats.includes(format)) {
      throw notFound({ package: name.full, release, media_type: format })
    }
    const manKey = keys.man(name, release, format)
    const head = record.heads?.[format]
    if (head !== undefined && head.manifest.release === release) {
      const manifest = copyManifest(head.manifest) // the record may be shared by the record cache
      const location = { digest: manifest.content.digest, ociDigest: head.ociDigest, size: head.size, object: head.object }
      return { name, pkg: record, version, manKey, manifest, location }
    }
    let manifest = this.#cache.manifest(manKey, version)
    let blobEntries: Resolved['blobEntries']
    if (manifest === undefined) {
      // The package record names the digest too (written in the same commit as the manifest).
      const digest = record.releases[release]![format]!
      const [entry, ...rest] = withBlob ? await this.#store.getMany([manKey, keys.pblob(name, digest), keys.blob(digest)]) : [await this.#store.get(manKey)]
      // Absent only when a delete committed between the two reads.
      if (entry === undefined) throw notFound({ package: name.full, release, media_type: format })
      manifest = decode(ManifestRecordType, entry.value, { package: name.full, release, media_type: format })
      this.#cache.remember(manKey, version, manifest)
      if (withBlob) blobEntries = { digest, entries: rest }
    }
    return blobEntries ? { name, pkg: record, version, manKey, manifest, blobEntries } : { name, pkg: record, version, manKey, manifest }
  }

  /**
   * A blob by appr digest, served only under a package one of whose manifests names it.
   * @throws package-not-found (unknown digest, or a digest of another package)
   */
  async blob(pkg: string, digest: string): Promise<BlobResult> {
    const name = lookupName(pkg)
    const hex = typeof digest === 'string' ? digest.toLowerCase().replace(/^sha256:/, '') : ''
    if (!DIGEST.test(hex)) throw notFound({ package: name.full, digest: String(digest).slice(0, 80) }, 'blob')
    return this.#openBlob(name, hex, { package: name.full, digest: hex })
  }

  async #openBlob(name: PackageName, digest: string, details: ErrorDetails): Promise<BlobResult> {
    return (await this.#openBlobRecord(name, digest, details)).result
  }

  /** A blob served under `name` (checked), and the BlobStore object holding it. */
  async #openBlobRecord(
    name: PackageName,
    digest: string,
    details: ErrorDetails,
    read?: readonly (KvEntry | undefined)[],
  ): Promise<{ result: BlobResult; object: string }> {
    const [pblob, blobEntry] = read ?? (await this.#store.getMany([keys.pblob(name, digest), keys.blob(digest)]))
    if (pblob === undefined || blobEntry === undefined) throw notFound(details, 'blob')
    const record = decode(BlobRecordType, blobEntry.value, details)
    const stream = await this.#readObject(record.object, details)
    return { result: { digest: record.digest, ociDigest: record.ociDigest, size: record.size, stream }, object: record.object }
  }

  async #readObject(object: string, details: ErrorDetails): Promise<AsyncIterable<Uint8Array>> {
    const stream = await this.#blobs.read(object)
    if (stream === undefined) throw new ApprError('internal-error', 'the bytes of a recorded blob are missing', { details })
    return stream
  }

  /**
   * Manifests of every release (optionally only of one format), newest release first.
   * @throws package-not-found
   */
  async releases(pkg: string, options: { format?: string } = {}): Promise<Manifest[]> {
    const name = lookupName(pkg)
    const { record, version } = await this.#readPackage(name)
    let format: string | undefined
    if (options.format !== undefined) {
      try {
        format = parseFormat(options.format)
      } catch {
        return []
      }
    }
    return this.#getManifests(name, version, this.#manifestKeys(name, record, format))
  }

  /** Manifest keys of every release of `record` (only of `format` if given), newest release first. */
  #manifestKeys(name: PackageName, record: PackageRecord, format?: string): string[] {
    const wanted: string[] = []
    for (const release of sortReleasesDesc(Object.keys(record.releases))) {
      for (const f of Object.keys(record.releases[release]!).sort()) {
        if (format === undefined || f === format) wanted.push(keys.man(name, release, f))
      }
    }
    return wanted
  }

  /** Manifests of one exact release (no query), by format. @throws package-not-found */
  async manifests(pkg: string, release: string): Promise<Manifest[]> {
    const name = lookupName(pkg)
    const { record, version } = await this.#readPackage(name)
    const formats = record.releases[release]
    if (formats === undefined) throw notFound({ package: name.full, release: String(release).slice(0, 300) })
    return this.#getManifests(
      name,
      version,
      Object.keys(formats)
        .sort()
        .map((f) => keys.man(name, release, f)),
    )
  }

  /** The manifests at `manKeys` (skipping absent ones), named by the package record of `version`. */
  async #getManifests(name: PackageName, version: string, manKeys: string[]): Promise<Manifest[]> {
    const found = new Map<string, Manifest>()
    const missing: string[] = []
    for (const key of manKeys) {
      const cached = this.#cache.manifest(key, version)
      if (cached) found.set(key, cached)
      else missing.push(key)
    }
    for (let i = 0; i < missing.length; i += 100) {
      const entries = await this.#store.getMany(missing.slice(i, i + 100))
      for (const entry of entries) {
        if (entry === undefined) continue
        const manifest = decode(ManifestRecordType, entry.value, { package: name.full })
        found.set(entry.key, manifest)
        this.#cache.remember(entry.key, version, manifest)
      }
    }
    const out: Manifest[] = []
    for (const key of manKeys) {
      const manifest = found.get(key)
      if (manifest) out.push(manifest)
    }
    return out
  }

  /**
   * A page of packages, by name. With `format`, only releases having that format count (as in
   * appr): packages with none are skipped and `manifests` is `[format]`.
   */
  async list(options: ListOptions = {}): Promise<ListPage> {
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000))
    let prefix: string = keys.packages
    if (options.namespace !== undefined) {
      try {
        prefix = keys.namespace(parseSegment(options.namespace, 'namespace'))
      } catch {
        return { packages: [] }
      }
    }
    let format: string | undefined
    if (options.format !== undefined) {
      try {
        format = parseFormat(options.format)
      } catch {
        return { packages: [] }
      }
    }
    const query = options.query?.toLowerCase()
    const packages: PackageSummary[] = []
    let after = options.after === undefined ? undefined : `${keys.packages}${options.after.toLowerCase()}`
    for (;;) {
      const page = await this.#store.list(after === undefined ? { prefix, limit } : { prefix, after, limit })
      for (const entry of page) {
        const record = decode(PackageRecordType, entry.value, { package: entry.key.slice(keys.packages.length) })
        const summary = this.#summary(record, format, query)
        if (summary) packages.push(summary)
        if (packages.length === limit) return { packages, next: record.name }
      }
      if (page.length < limit) return { packages }
      after = page[page.length - 1]!.key
    }
  }

  #summary(record: PackageRecord, format: string | undefined, query: string | undefined): PackageSummary | undefined {
    if (query !== undefined && !record.name.includes(query)) return undefined
    let releases = Object.keys(record.releases)
    if (format !== undefined) releases = releases.filter((r) => format in record.releases[r]!)
    if (releases.length === 0) return undefined
    const sorted = sortReleasesDesc(releases)
    const latest = sorted[0]!
    return {
      name: record.name,
      default: latest,
      releases: sorted,
      manifests: format !== undefined ? [format] : Object.keys(record.releases[latest]!).sort(),
      visibility: 'public',
      created_at: record.created_at,
    }
  }

  /** Names of packages containing `query` (plain, case-insensitive substring; never a pattern). `''` → `[]`. */
  async search(query: string): Promise<string[]> {
    if (typeof query !== 'string' || query === '') return []
    const needle = query.toLowerCase()
    const out: string[] = []
    for await (const entry of listAll(this.#store, keys.packages)) {
      const name = entry.key.slice(keys.packages.length)
      if (name.includes(needle)) out.push(name)
    }
    return out
  }

  // ── delete ──────────────────────────────────────────────────────────────────────────────

  /**
   * Deletes one `(package, release, format)` — exact release and format, as appr. The release
   * goes with its last format (leaving every channel: the highest remaining release becomes
   * current, an emptied channel is deleted); the package goes with its last release. Blobs no
   * manifest names any more are deleted.
   * @throws package-not-found (for an absent package, release or format, as appr answers)
   */
  async delete(pkg: string, release: string, format: string): Promise<void> {
    const name = lookupName(pkg)
    const details = { package: name.full, release: String(release).slice(0, 300), media_type: String(format).slice(0, 200) }
    const fmt = lookupFormat(format, details)
    const doomed = await transact(this.#store, this.#maxRetries, details, async (tx) => {
      const pkgEntry = await tx.get(keys.pkg(name))
      if (pkgEntry === undefined) throw notFound({ package: name.full })
      const record = this.#decodePackage(pkgEntry, name)
      const digest = record.releases[release]?.[fmt]
      if (digest === undefined) throw notFound(details)
      const releaseGoes = Object.keys(record.releases[release]!).length === 1
      // One round trip for everything the helpers below read (they reuse the transaction's reads).
      const channelKeys = releaseGoes ? Object.keys(record.channels).map((c) => keys.chan(name, c)) : []
      // When the format's head goes, the next default release's manifest becomes the head: read it in the same round trip.
      const next = record.heads?.[fmt]?.manifest.release === release ? nextDefault(record, release, fmt) : undefined
      const nextKeys = next ? [keys.man(name, next.release, fmt), keys.blob(next.digest)] : []
      const read = await tx.getMany([keys.blob(digest), keys.pblob(name, digest), ...channelKeys, ...nextKeys])
      tx.delete(keys.man(name, release, fmt))
      delete record.releases[release]![fmt]
      if (releaseGoes) {
        delete record.releases[release]
        await this.#dropFromChannels(tx, name, record, release)
      }
      let candidate: Head | undefined
      const [manEntry, blobEntry] = read.slice(read.length - nextKeys.length)
      if (next && manEntry && blobEntry) {
        const manifest = decode(ManifestRecordType, manEntry.value, { package: name.full, release: next.release, media_type: fmt })
        const blob = decode(BlobRecordType, blobEntry.value, { package: name.full, digest: next.digest })
        candidate = { manifest, ociDigest: blob.ociDigest, size: blob.size, object: blob.object }
      }
      updateHead(record, fmt, candidate)
      if (Object.keys(record.releases).length === 0) tx.delete(keys.pkg(name))
      else tx.put(keys.pkg(name), encode(record))
      return this.#adjustRefs(tx, name, new Map([[digest, -1]]))
    })
    await this.#deleteObjects(doomed)
  }

  /** Removes a deleted release from every channel of the package (records updated in `record` and `tx`). */
  async #dropFromChannels(tx: Transaction, name: PackageName, record: PackageRecord, release: string): Promise<void> {
    const names = Object.keys(record.channels)
    if (names.length === 0) return
    const entries = await tx.getMany(names.map((c) => keys.chan(name, c)))
    names.forEach((channelName, i) => {
      const entry = entries[i]
      if (entry === undefined) return
      const channel = decode(ChannelRecordType, entry.value, { package: name.full, channel: channelName })
      if (!channel.releases.includes(release)) return
      this.#writeChannel(tx, name, record, channelName, channel.releases.filter((r) => r !== release))
    })
  }

  /** Writes a channel with `releases` (current = the highest), or deletes it when empty. */
  #writeChannel(tx: Transaction, name: PackageName, record: PackageRecord, channel: string, releases: readonly string[], current?: string): Channel | undefined {
    if (releases.length === 0) {
      tx.delete(keys.chan(name, channel))
      delete record.channels[channel]
      return undefined
    }
    const sorted = sortReleasesDesc(releases)
    const value: Channel = { name: channel, current: current ?? sorted[0]!, releases: sorted }
    tx.put(keys.chan(name, channel), encode(value))
    record.channels[channel] = value.current
    return value
  }

  // ── channels ────────────────────────────────────────────────────────────────────────────

  async #listChannels(pkg: string): Promise<Channel[]> {
    const name = lookupName(pkg)
    return this.#readChannels(name, await this.#getPackage(name))
  }

  /** The channel records `record` names, by name. */
  async #readChannels(name: PackageName, record: PackageRecord): Promise<Channel[]> {
    const names = Object.keys(record.channels).sort()
    const entries = await this.#store.getMany(names.map((c) => keys.chan(name, c)))
    const out: Channel[] = []
    entries.forEach((entry, i) => {
      if (entry) out.push(decode(ChannelRecordType, entry.value, { package: name.full, channel: names[i] }))
    })
    return out
  }

  async #showChannel(pkg: string, channel: string): Promise<Channel> {
    const name = lookupName(pkg)
    const [pkgEntry, chanEntry] = await this.#store.getMany([keys.pkg(name), keys.chan(name, this.#channelKeyPart(channel))])
    if (pkgEntry === undefined) throw notFound({ package: name.full })
    if (chanEntry === undefined) throw this.#channelNotFound(name, channel)
    return decode(ChannelRecordType, chanEntry.value, { package: name.full, channel })
  }

  async #addToChannel(pkg: string, channel: string, release: string): Promise<Channel> {
    const name = lookupName(pkg)
    const channelName = parseChannelName(channel)
    const exact = parseRelease(release)
    const details = { package: name.full, channel: channelName, release: exact }
    return transact(this.#store, this.#maxRetries, details, async (tx) => {
      const [pkgEntry, chanEntry] = await tx.getMany([keys.pkg(name), keys.chan(name, channelName)])
      if (pkgEntry === undefined) throw notFound({ package: name.full })
      const record = this.#decodePackage(pkgEntry, name)
      if (record.releases[exact] === undefined) {
        throw new ApprError('package-release-not-found', `${name.full} has no release ${exact}`, { details: { package: name.full, release: exact } })
      }
      const existing = chanEntry ? decode(ChannelRecordType, chanEntry.value, details).releases : []
      const channelValue = this.#writeChannel(tx, name, record, channelName, [...new Set([...existing, exact])], exact)!
      tx.put(keys.pkg(name), encode(record))
      return channelValue
    })
  }

  async #removeFromChannel(pkg: string, channel: string, release: string): Promise<Channel | undefined> {
    const name = lookupName(pkg)
    const channelPart = this.#channelKeyPart(channel)
    const details = { package: name.full, channel: String(channel).slice(0, 200), release: String(release).slice(0, 300) }
    return transact(this.#store, this.#maxRetries, details, async (tx) => {
      const [pkgEntry, chanEntry] = await tx.getMany([keys.pkg(name), keys.chan(name, channelPart)])
      if (pkgEntry === undefined) throw notFound({ package: name.full })
      if (chanEntry === undefined) throw this.#channelNotFound(name, channel)
      const record = this.#decodePackage(pkgEntry, name)
      if (record.releases[release] === undefined) throw notFound({ package: name.full, release: details.release })
      const current = decode(ChannelRecordType, chanEntry.value, details)
      const result = this.#writeChannel(tx, name, record, current.name, current.releases.filter((r) => r !== release))
      tx.put(keys.pkg(name), encode(record))
      return result
    })
  }

  async #deleteChannel(pkg: string, channel: string): Promise<void> {
    const name = lookupName(pkg)
    const channelPart = this.#channelKeyPart(channel)
    await transact(this.#store, this.#maxRetries, { package: name.full, channel: String(channel).slice(0, 200) }, async (tx) => {
      const [pkgEntry, chanEntry] = await tx.getMany([keys.pkg(name), keys.chan(name, channelPart)])
      if (pkgEntry === undefined) throw notFound({ package: name.full })
      if (chanEntry === undefined) throw this.#channelNotFound(name, channel)
      const record = this.#decodePackage(pkgEntry, name)
      this.#writeChannel(tx, name, record, channelPart, [])
      tx.put(keys.pkg(name), encode(record))
    })
  }

  async #channelsOfRelease(pkg: string, release: string, membership: boolean): Promise<string[]> {
    const name = lookupName(pkg)
    const record = await this.#getPackage(name)
    if (record.releases[release] === undefined) throw notFound({ package: name.full, release: String(release).slice(0, 300) })
    if (!membership) return channelsOf(record, release)
    return (await this.#listChannels(pkg)).filter((c) => c.releases.includes(release)).map((c) => c.name)
  }

  /** A channel name for a lookup: one that cannot exist is simply not found. */
  #channelKeyPart(channel: string): string {
    try {
      return parseChannelName(channel)
    } catch {
      // `\u0000` never appears in a stored channel key, so the lookup misses.
      return '\u0000'
    }
  }

  #channelNotFound(name: PackageName, channel: string): ApprError {
    const shown = String(channel).slice(0, 200)
    return new ApprError('channel-not-found', `channel ${shown} of ${name.full} not found`, { details: { package: name.full, channel: shown } })
  }

  // ── backup / restore / gc ───────────────────────────────────────────────────────────────

  /**
   * The whole registry in appr's backup format: every manifest with its blob (base64) and the
   * channels containing its release, and every channel's current release. Held in memory, as
   * the format requires.
   */
  async backup(): Promise<BackupDocument> {
    const packages: BackupPackage[] = []
    const channels: BackupDocument['channels'] = []
    for await (const entry of listAll(this.#store, keys.packages, 100)) {
      const full = entry.key.slice(keys.packages.length)
      const name = parsePackageName(full)
      // One read of the package record names both its channels and its manifests.
      const { record, version } = await this.#readPackage(name)
      const channelList = await this.#readChannels(name, record)
      for (const c of channelList) channels.push({ package: full, name: c.name, current: c.current })
      for (const manifest of await this.#getManifests(name, version, this.#manifestKeys(name, record))) {
        const { stream } = await this.#openBlob(name, manifest.content.digest, { package: full, release: manifest.release })
        const bytes = await collectBytes(stream)
        packages.push({
          ...manifest,
          blob: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
          channels: channelList.filter((c) => c.releases.includes(manifest.release)).map((c) => c.name),
        })
      }
    }
    return { packages, channels }
  }

  /**
   * Loads an appr backup document (v0 or v1 media types, extra fields ignored). Everything is
   * validated first — names, releases, formats, base64, every blob as a safe gzipped tar whose
   * digest and size match its manifest — and nothing is written unless all of it is valid. Then
   * each manifest is stored (overwriting, as a forced push; timestamps and media types kept) and
   * each channel set, one commit each: restore as a whole is not atomic.
   * @throws invalid-parameters, invalid-release, invalid-usage
   */
  async restore(doc: unknown): Promise<void> {
    // Older appr backups (backup1.json) have no `metadata`; the schema wants the key present.
    const withMetadata =
      typeof doc === 'object' && doc !== null && Array.isArray((doc as { packages?: unknown }).packages)
        ? {
            ...doc,
            packages: (doc as { packages: unknown[] }).packages.map((p) =>
              typeof p === 'object' && p !== null && !('metadata' in p) ? { ...p, metadata: null } : p,
            ),
          }
        : doc
    const parsed = BackupDocumentSchema.safeParse(withMetadata)
    if (!parsed.success) {
      throw new ApprError('invalid-parameters', `not an appr backup document: ${parsed.error.issues[0]?.message ?? 'invalid'}`, {
        details: { issues: parsed.error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message })) },
        cause: parsed.error,
      })
    }
    const items = parsed.data.packages.map((entry, index) => {
      const details = { index, package: entry.package, release: entry.release }
      const name = parsePackageName(entry.package)
      const release = parseRelease(entry.release)
      const format = parseFormat(entry.mediaType)
      if (parseFormat(entry.content.mediaType) !== format) {
        throw new ApprError('invalid-parameters', 'manifest and content media types name different formats', { details })
      }
      for (const c of entry.channels) parseChannelName(c)
      return { entry, name, release, format, bytes: decodeBase64(entry.blob, details), details }
    })
    const currents = parsed.data.channels.map((c) => ({ name: parsePackageName(c.package), channel: parseChannelName(c.name), current: parseRelease(c.current) }))
    for (const item of items) {
      const facts = await validateBlob(item.bytes, this.options.limits)
      if (facts.digest !== item.entry.content.digest || facts.size !== item.entry.content.size) {
        throw new ApprError('invalid-parameters', 'a backup blob does not match its manifest (digest or size)', {
          details: { ...item.details, digest: item.entry.content.digest, actual: facts.digest },
        })
      }
    }

    for (const item of items) {
      await this.#storeRelease({
        name: item.name,
        release: item.release,
        format: item.format,
        source: blobChunks(item.bytes),
        metadata: item.entry.metadata,
        force: true,
        mediaTypes: { manifest: item.entry.mediaType, content: item.entry.content.mediaType },
        expect: { digest: item.entry.content.digest, size: item.entry.content.size },
        ...(item.entry.created_at !== undefined && { createdAt: item.entry.created_at }),
      })
    }

    // Channel membership comes from the manifests, `current` from the channel list.
    const wanted = new Map<string, { name: PackageName; channel: string; releases: Set<string>; current?: string }>()
    const slot = (name: PackageName, channel: string) => {
      const id = `${name.full}\u0000${channel}`
      const value = wanted.get(id) ?? { name, channel, releases: new Set<string>() }
      wanted.set(id, value)
      return value
    }
    for (const item of items) for (const c of item.entry.channels) slot(item.name, c).releases.add(item.release)
    for (const c of currents) {
      const value = slot(c.name, c.channel)
      value.current = c.current
      value.releases.add(c.current)
    }
    for (const { name, channel, releases, current } of wanted.values()) {
      await transact(this.#store, this.#maxRetries, { package: name.full, channel }, async (tx) => {
        const pkgEntry = await tx.get(keys.pkg(name))
        if (pkgEntry === undefined) throw notFound({ package: name.full })
        const record = this.#decodePackage(pkgEntry, name)
        const missing = [...releases].find((r) => record.releases[r] === undefined)
        if (missing !== undefined) {
          throw new ApprError('package-release-not-found', `channel ${channel} names ${name.full} ${missing}, which the backup does not contain`, {
            details: { package: name.full, channel, release: missing },
          })
        }
        this.#writeChannel(tx, name, record, channel, [...releases], current)
        tx.put(keys.pkg(name), encode(record))
      })
    }
  }

  /**
   * Deletes blob objects no record points at: uploads older than `uploadTimeoutMs` whose writer
   * crashed or gave up, and objects a crash left behind after their records were deleted.
   * Safe to run while the registry is in use.
   */
  async gc(): Promise<GcResult> {
    let deletedBlobs = 0
    const now = this.#clock().getTime()
    for await (const entry of listAll(this.#store, keys.objects, 200)) {
      const id = entry.key.slice(keys.objects.length)
      const record = decode(ObjectRecordType, entry.value, { object: id })
      if (record.state === 'live') continue
      if (record.state === 'uploading') {
        const started = Date.parse(record.started_at)
        if (Number.isFinite(started) && now - started < this.#uploadTimeoutMs) continue
        // Doom it first: the push commit checks this key, so a slow writer now fails instead of recording deleted bytes.
        const doomed = await this.#store.commit({ checks: [{ key: entry.key, version: entry.version }], puts: [{ key: entry.key, value: encode({ state: 'doomed' }) }] })
        if (!doomed.ok) continue
      }
      await this.#blobs.delete(id)
      await this.#store.commit({ deletes: [entry.key] })
      deletedBlobs++
    }
    let batch: string[] = []
    const sweep = async () => {
      const markers = await this.#store.getMany(batch.map((id) => keys.obj(id)))
      for (let i = 0; i < batch.length; i++) {
        // An object without a marker was never recorded (its marker is written before its first byte) or lost its record.
        if (markers[i] === undefined) {
          await this.#blobs.delete(batch[i]!)
          deletedBlobs++
        }
      }
      batch = []
    }
    for await (const id of this.#blobs.ids()) {
      batch.push(id)
      if (batch.length === 100) await sweep()
    }
    if (batch.length > 0) await sweep()
    return { deletedBlobs }
  }

  /** Closes the store unless `ownsStore` is false. */
  async close(): Promise<void> {
    if (this.options.ownsStore !== false) await this.#store.close()
  }

  // ── helpers ─────────────────────────────────────────────────────────────────────────────

  #now(): string {
    return this.#clock().toISOString()
  }

  #exists(details: ErrorDetails): ApprError {
    return new ApprError('package-exists', `${details.package} ${details.release} (${details.media_type}) exists already; use force to overwrite`, { details })
  }

  async #getPackage(name: PackageName): Promise<PackageRecord> {
    return (await this.#readPackage(name)).record
  }

  /** The package record for a read path: possibly shared with the record cache, so never to be changed. */
  async #readPackage(name: PackageName): Promise<{ record: PackageRecord; version: string }> {
    const key = keys.pkg(name)
    const entry = await this.#store.get(key)
    if (entry === undefined) throw notFound({ package: name.full })
    if (!this.#known.has(key)) this.#known.set(key, true)
    let record = this.#records.get(key, entry.version)
    if (record === undefined) {
      record = this.#decodePackage(entry, name)
      this.#records.set(key, entry.version, record)
    }
    return { record, version: entry.version }
  }

  #decodePackage(entry: KvEntry, name: PackageName): PackageRecord {
    return decode(PackageRecordType, entry.value, { package: name.full })
  }
}

