/**
 * Reads of releases: resolving a query to a manifest (show, pull), blobs by digest, and the
 * manifests of a package (releases, manifests). Read paths share the package record through the
 * record cache and never change it.
 * @module
 */
import { ApprError, type ErrorDetails } from '../errors/index.js'
import { parseFormat } from '../model/media-type.js'
import type { PackageName } from '../model/package-name.js'
import { resolveQuery } from '../model/query.js'
import { sortReleasesDesc } from '../model/release.js'
import type { Manifest, ManifestWithChannels, Signature } from '../model/types.js'
import type { KvEntry } from '../storage/kv.js'
import { blobChunks, collectBytes } from './blob-input.js'
import { channelsOf } from './channels.js'
import type { RegistryContext } from './context.js'
import { lookupFormat, lookupName, packageNotFound, readPackage } from './packages.js'
import { BlobRecordType, decode, keys, ManifestRecordType, own, type PackageRecord } from './records.js'
import { type BlobLocation, copyManifest } from './release-cache.js'
import { releaseSignatures } from './signatures.js'
import type { BlobResult, PullResult, ResolveOptions } from './types.js'

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

const DIGEST = /^[a-f0-9]{64}$/

export async function show(ctx: RegistryContext, pkg: string, options: ResolveOptions = {}): Promise<ManifestWithChannels> {
  const { pkg: record, manifest } = await resolve(ctx, pkg, options)
  return shown(record, manifest)
}

/** A manifest as show and pull give it: with its channels, and its signatures when it has some. */
export function shown(record: PackageRecord, manifest: Manifest): ManifestWithChannels {
  return { ...signed(record, manifest), channels: channelsOf(record, manifest.release) }
}

/** A manifest with its signatures when it has some (the manifest itself otherwise). */
function signed(record: PackageRecord, manifest: Manifest): Manifest & { signatures?: Signature[] } {
  const signatures = record.signatures && releaseSignatures(record, manifest.release, parseFormat(manifest.mediaType))
  return signatures && signatures.length > 0 ? { ...manifest, signatures } : manifest
}

export async function pull(ctx: RegistryContext, pkg: string, options: ResolveOptions = {}): Promise<PullResult> {
  const { name, pkg: record, manifest, version, manKey, blobEntries, location } = await resolve(ctx, pkg, options, true)
  const details = { package: name.full, release: manifest.release }
  // The package record just read names this manifest, so the package references its blob:
  // where the bytes are is known from the record's head or an earlier pull under the same record version.
  const known = location ?? ctx.cache.blob(manKey, version)
  let blob: BlobResult
  if (known) {
    blob = { digest: known.digest, ociDigest: known.ociDigest, size: known.size, stream: await blobBytes(ctx, known, details) }
  } else {
    const digest = manifest.content.digest
    const { result, object } = await openBlobRecord(ctx, name, digest, details, blobEntries?.digest === digest ? blobEntries.entries : undefined)
    ctx.cache.rememberBlob(manKey, version, { digest: result.digest, ociDigest: result.ociDigest, size: result.size, object })
    blob = result
  }
  return {
    ...blob,
    manifest: shown(record, manifest),
    filename: `${name.namespace}_${name.name}_${manifest.release}.tar.gz`,
  }
}

/**
 * The bytes of a blob the caller knows is live: from the blob cache (content never changes
 * under its digest), else from the BlobStore, remembering small ones.
 */
async function blobBytes(ctx: RegistryContext, location: BlobLocation, details: ErrorDetails): Promise<AsyncIterable<Uint8Array>> {
  // Blobs too large to keep are no miss: the hit ratio counts only what the cache could hold.
  if (!ctx.blobCache.accepts(location.size)) return readObject(ctx, location.object, details)
  const cached = ctx.blobCache.get(location.digest)
  if (cached) return blobChunks(cached)
  const stream = await readObject(ctx, location.object, details)
  const bytes = await collectBytes(stream)
  if (bytes.byteLength === location.size) ctx.blobCache.set(location.digest, bytes.slice())
  return blobChunks(bytes)
}

/** With `withBlob` (pull), a manifest read from the store comes with its blob records, in one round trip. */
async function resolve(ctx: RegistryContext, pkg: string, options: ResolveOptions, withBlob = false): Promise<Resolved> {
  const name = lookupName(pkg)
  const { record, version } = await readPackage(ctx, name)
  const wanted = options.format ?? '-'
  const details = { package: name.full }
  let candidates = Object.keys(record.releases)
  let format = wanted === '-' ? undefined : lookupFormat(wanted, details)
  if (options.formatAware && format !== undefined) candidates = candidates.filter((r) => Object.hasOwn(record.releases[r]!, format!))
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
    throw packageNotFound({ package: name.full, release, media_type: format })
  }
  const manKey = keys.man(name, release, format)
  const head = own(record.heads, format)
  if (head !== undefined && head.manifest.release === release) {
    const manifest = copyManifest(head.manifest) // the record may be shared by the record cache
    const location = { digest: manifest.content.digest, ociDigest: head.ociDigest, size: head.size, object: head.object }
    return { name, pkg: record, version, manKey, manifest, location }
  }
  let manifest = ctx.cache.manifest(manKey, version)
  let blobEntries: Resolved['blobEntries']
  if (manifest === undefined) {
    // The package record names the digest too (written in the same commit as the manifest).
    const digest = record.releases[release]![format]!
    const [entry, ...rest] = withBlob ? await ctx.store.getMany([manKey, keys.pblob(name, digest), keys.blob(digest)]) : [await ctx.store.get(manKey)]
    // Absent only when a delete committed between the two reads.
    if (entry === undefined) throw packageNotFound({ package: name.full, release, media_type: format })
    manifest = decode(ManifestRecordType, entry.value, { package: name.full, release, media_type: format })
    ctx.cache.remember(manKey, version, manifest)
    if (withBlob) blobEntries = { digest, entries: rest }
  }
  return blobEntries ? { name, pkg: record, version, manKey, manifest, blobEntries } : { name, pkg: record, version, manKey, manifest }
}

export async function blob(ctx: RegistryContext, pkg: string, digest: string): Promise<BlobResult> {
  const name = lookupName(pkg)
  const hex = typeof digest === 'string' ? digest.toLowerCase().replace(/^sha256:/, '') : ''
  if (!DIGEST.test(hex)) throw packageNotFound({ package: name.full, digest: String(digest).slice(0, 80) }, 'blob')
  return openBlob(ctx, name, hex, { package: name.full, digest: hex })
}

/** A blob served under `name` (checked), streamed. */
export async function openBlob(ctx: RegistryContext, name: PackageName, digest: string, details: ErrorDetails): Promise<BlobResult> {
  return (await openBlobRecord(ctx, name, digest, details)).result
}

/** A blob served under `name` (checked), and the BlobStore object holding it. */
async function openBlobRecord(
  ctx: RegistryContext,
  name: PackageName,
  digest: string,
  details: ErrorDetails,
  read?: readonly (KvEntry | undefined)[],
): Promise<{ result: BlobResult; object: string }> {
  const [pblob, blobEntry] = read ?? (await ctx.store.getMany([keys.pblob(name, digest), keys.blob(digest)]))
  if (pblob === undefined || blobEntry === undefined) throw packageNotFound(details, 'blob')
  const record = decode(BlobRecordType, blobEntry.value, details)
  const stream = await readObject(ctx, record.object, details)
  return { result: { digest: record.digest, ociDigest: record.ociDigest, size: record.size, stream }, object: record.object }
}

async function readObject(ctx: RegistryContext, object: string, details: ErrorDetails): Promise<AsyncIterable<Uint8Array>> {
  const stream = await ctx.blobs.read(object)
  if (stream === undefined) throw new ApprError('internal-error', 'the bytes of a recorded blob are missing', { details })
  return stream
}

export async function releases(ctx: RegistryContext, pkg: string, options: { format?: string } = {}): Promise<Manifest[]> {
  const name = lookupName(pkg)
  const { record, version } = await readPackage(ctx, name)
  let format: string | undefined
  if (options.format !== undefined) {
    try {
      format = parseFormat(options.format)
    } catch {
      return []
    }
  }
  const list = await getManifests(ctx, name, version, manifestKeys(name, record, format))
  return record.signatures ? list.map((m) => signed(record, m)) : list
}

/** Manifest keys of every release of `record` (only of `format` if given), newest release first. */
export function manifestKeys(name: PackageName, record: PackageRecord, format?: string): string[] {
  const wanted: string[] = []
  for (const release of sortReleasesDesc(Object.keys(record.releases))) {
    for (const f of Object.keys(record.releases[release]!).sort()) {
      if (format === undefined || f === format) wanted.push(keys.man(name, release, f))
    }
  }
  return wanted
}

export async function manifests(ctx: RegistryContext, pkg: string, release: string): Promise<Manifest[]> {
  const name = lookupName(pkg)
  const { record, version } = await readPackage(ctx, name)
  const formats = own(record.releases, release)
  if (formats === undefined) throw packageNotFound({ package: name.full, release: String(release).slice(0, 300) })
  return getManifests(ctx, 
    name,
    version,
    Object.keys(formats)
      .sort()
      .map((f) => keys.man(name, release, f)),
  )
}

/** The manifests at `manKeys` (skipping absent ones), named by the package record of `version`. */
export async function getManifests(ctx: RegistryContext, name: PackageName, version: string, manKeys: string[]): Promise<Manifest[]> {
  const found = new Map<string, Manifest>()
  const missing: string[] = []
  for (const key of manKeys) {
    const cached = ctx.cache.manifest(key, version)
    if (cached) found.set(key, cached)
    else missing.push(key)
  }
  for (let i = 0; i < missing.length; i += 100) {
    const entries = await ctx.store.getMany(missing.slice(i, i + 100))
    for (const entry of entries) {
      if (entry === undefined) continue
      const manifest = decode(ManifestRecordType, entry.value, { package: name.full })
      found.set(entry.key, manifest)
      ctx.cache.remember(entry.key, version, manifest)
    }
  }
  const out: Manifest[] = []
  for (const key of manKeys) {
    const manifest = found.get(key)
    if (manifest) out.push(manifest)
  }
  return out
}
