/**
 * OCI manifests, tags and the catalog (the data side of `/v2/<name>/manifests/…`,
 * `/v2/<name>/tags/list` and `/v2/_catalog`): any of the four manifest types stored as the exact
 * bytes received, by digest, with tags pointing at them.
 *
 * A PUT checks the digest (for a digest reference), the manifest's shape and media type, that
 * every blob it names is linked to the repository and every manifest an index names is stored
 * there; then one commit writes the manifest, moves the tag and counts the repository. The
 * repository record is the serialisation point of its manifests and tags, as the package record
 * is for appr.
 * @module
 */
import { ociDigestOf, parseOciDigest } from '../oci/digest.js'
import { OciError } from '../oci/errors.js'
import { type ManifestReference, parseReference, parseRepositoryName } from '../oci/reference.js'
import { parseManifest } from '../oci/schemas.js'
import { listAll } from '../storage/util.js'
import type { RegistryContext } from './context.js'
import { recordRepositoryEvent } from './events/record.js'
import { type OciManifestRecord, OciManifestRecordType, type OciReferrerRecord, OciReferrerRecordType, OciRepoRecordType, OciTagRecordType, ociKeys } from './oci-records.js'
import { decode, encode } from './records.js'
import { transact } from './transaction.js'

/** A manifest as stored. */
export interface OciStoredManifest {
  readonly digest: string
  readonly mediaType: string
  readonly bytes: Uint8Array
}

/** One page of a listing (`next` = the `last` of the following page, when there is one). */
export interface OciListPage {
  readonly items: readonly string[]
  readonly next?: string
}

const now = (ctx: RegistryContext): string => ctx.clock().toISOString()

/** The digest hex a reference resolves to in `repository`, or undefined. */
async function resolve(ctx: RegistryContext, repository: string, ref: ManifestReference): Promise<string | undefined> {
  if (ref.kind === 'digest') return parseOciDigest(ref.digest)
  const entry = await ctx.store.get(ociKeys.tag(repository, ref.tag))
  return entry && parseOciDigest(decode(OciTagRecordType, entry.value, { name: repository, tag: ref.tag }).digest)
}

async function read(ctx: RegistryContext, repository: string, reference: string): Promise<{ hex: string; record: OciManifestRecord } | undefined> {
  const repo = parseRepositoryName(repository)
  const ref = parseReference(reference)
  const hex = await resolve(ctx, repo, ref)
  const entry = hex && (await ctx.store.get(ociKeys.manifest(repo, hex)))
  return entry ? { hex: hex!, record: decode(OciManifestRecordType, entry.value, { name: repo, reference }) } : undefined
}

/** A manifest by tag or digest, or `undefined`. */
export async function getManifest(ctx: RegistryContext, repository: string, reference: string): Promise<OciStoredManifest | undefined> {
  const found = await read(ctx, repository, reference)
  return found && { digest: `sha256:${found.hex}`, mediaType: found.record.mediaType, bytes: new Uint8Array(Buffer.from(found.record.bytes, 'base64')) }
}

/** A manifest's digest, media type and size, or `undefined`. */
export async function headManifest(ctx: RegistryContext, repository: string, reference: string): Promise<{ digest: string; mediaType: string; size: number } | undefined> {
  const found = await getManifest(ctx, repository, reference)
  return found && { digest: found.digest, mediaType: found.mediaType, size: found.bytes.byteLength }
}

/**
 * Stores a manifest at a tag or at its digest.
 * @throws OciError `DIGEST_INVALID` (a digest reference of other bytes), `MANIFEST_INVALID`, `SIZE_INVALID` (over 4 MiB or the store's value limit), `MANIFEST_BLOB_UNKNOWN` (a blob or child manifest not in the repository), `NAME_INVALID`, `TAG_INVALID`
 */
export async function putManifest(
  ctx: RegistryContext,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  contentType?: string,
): Promise<{ digest: string; mediaType: string; subject?: string }> {
  const repo = parseRepositoryName(repository)
  const ref = parseReference(reference)
  const digest = ociDigestOf(bytes)
  if (ref.kind === 'digest' && ref.digest !== digest) {
    throw new OciError('DIGEST_INVALID', `the manifest has digest ${digest}, not ${ref.digest}`, { detail: { expected: ref.digest, actual: digest } })
  }
  const parsed = parseManifest(bytes, contentType)
  const hex = digest.slice(7)
  const at = now(ctx)
  const record: OciManifestRecord = { mediaType: parsed.mediaType, bytes: Buffer.from(bytes).toString('base64'), created_at: at, tags: ref.kind === 'tag' ? [ref.tag] : [] }
  const limit = ctx.store.capabilities.maxValueBytes
  if (limit !== undefined && encode(record).byteLength + 1024 > limit) {
    throw new OciError('SIZE_INVALID', `this store holds manifests up to about ${Math.floor((limit - 1024) * 0.75)} bytes`, { detail: { size: bytes.byteLength } })
  }
  const blobs = [...(parsed.config ? [parsed.config] : []), ...parsed.layers].map((d) => parseOciDigest(d.digest))
  const children = parsed.manifests.map((d) => parseOciDigest(d.digest))
  const details = { name: repo, reference }
  await transact(ctx.store, ctx.maxRetries, details, async (tx) => {
    const repoKey = ociKeys.repo(repo)
    const manifestKey = ociKeys.manifest(repo, hex)
    const tagKey = ref.kind === 'tag' ? ociKeys.tag(repo, ref.tag) : undefined
    const [repoEntry, existing, tagEntry, ...deps] = await tx.getMany([
      repoKey,
      manifestKey,
      tagKey ?? manifestKey,
      ...blobs.map((b) => ociKeys.link(repo, b)),
      ...children.map((c) => ociKeys.manifest(repo, c)),
    ])
    const missing = deps.indexOf(undefined)
    if (missing >= 0) {
      const what = missing < blobs.length ? `blob sha256:${blobs[missing]}` : `manifest sha256:${children[missing - blobs.length]}`
      throw new OciError('MANIFEST_BLOB_UNKNOWN', `the manifest names ${what}, which ${repo} does not have`, {
        detail: { digest: `sha256:${missing < blobs.length ? blobs[missing] : children[missing - blobs.length]}` },
      })
    }
    const current = existing && decode(OciManifestRecordType, existing.value, details)
    const repoRecord = repoEntry ? decode(OciRepoRecordType, repoEntry.value, details) : { created_at: at, manifests: 0 }
    let next: OciManifestRecord = current ?? { ...record, tags: [] }
    if (!current) repoRecord.manifests++
    let moved: string | undefined
    if (tagKey) {
      const tag = (ref as { tag: string }).tag
      const previous = tagKey !== manifestKey && tagEntry ? parseOciDigest(decode(OciTagRecordType, tagEntry.value, details).digest) : undefined
      if (previous !== undefined && previous !== hex) {
        moved = previous
        // The tag moves: the manifest it named stays (by digest), without this tag.
        const oldKey = ociKeys.manifest(repo, previous)
        const old = await tx.get(oldKey)
        if (old) {
          const oldRecord = decode(OciManifestRecordType, old.value, details)
          tx.put(oldKey, encode({ ...oldRecord, tags: oldRecord.tags.filter((t) => t !== tag) }))
        }
      }
      if (!next.tags.includes(tag)) next = { ...next, tags: [...next.tags, tag].sort() }
      tx.put(tagKey, encode({ digest }))
    }
    tx.put(manifestKey, encode(next))
    tx.put(repoKey, encode(repoRecord))
    if (parsed.subject) {
      const referrer: OciReferrerRecord = {
        mediaType: parsed.mediaType,
        digest,
        size: bytes.byteLength,
        ...(parsed.artifactType === undefined ? {} : { artifactType: parsed.artifactType }),
        ...(Object.keys(parsed.annotations).length === 0 ? {} : { annotations: { ...parsed.annotations } }),
      }
      tx.put(ociKeys.referrer(repo, parseOciDigest(parsed.subject.digest), hex), encode(referrer))
    }
    const tag = ref.kind === 'tag' ? ref.tag : undefined
    if (!current || (tag !== undefined && !current.tags.includes(tag))) {
      const event = { type: 'oci.manifest.pushed', digest, mediaType: parsed.mediaType, ...(tag !== undefined && { tag }), ...(moved && { replaced: `sha256:${moved}` }) } as const
      await recordRepositoryEvent(ctx, tx, repo, event)
    }
  })
  return { digest, mediaType: parsed.mediaType, ...(parsed.subject ? { subject: parsed.subject.digest } : {}) }
}

/**
 * Deletes by digest (the manifest and every tag naming it) or by tag (the tag only). False when
 * there is no such manifest or tag.
 */
export async function deleteManifest(ctx: RegistryContext, repository: string, reference: string): Promise<boolean> {
  const repo = parseRepositoryName(repository)
  const ref = parseReference(reference)
  const details = { name: repo, reference }
  return transact(ctx.store, ctx.maxRetries, details, async (tx) => {
    const repoKey = ociKeys.repo(repo)
    if (ref.kind === 'tag') {
      const [tagEntry] = await tx.getMany([ociKeys.tag(repo, ref.tag), repoKey])
      if (!tagEntry) return false
      const hex = parseOciDigest(decode(OciTagRecordType, tagEntry.value, details).digest)
      const manifestKey = ociKeys.manifest(repo, hex)
      const entry = await tx.get(manifestKey)
      if (entry) {
        const record = decode(OciManifestRecordType, entry.value, details)
        tx.put(manifestKey, encode({ ...record, tags: record.tags.filter((t) => t !== ref.tag) }))
      }
      tx.delete(ociKeys.tag(repo, ref.tag))
      await recordRepositoryEvent(ctx, tx, repo, { type: 'oci.tag.deleted', tag: ref.tag, digest: `sha256:${hex}` })
      return true
    }
    const hex = parseOciDigest(ref.digest)
    const [entry, repoEntry] = await tx.getMany([ociKeys.manifest(repo, hex), repoKey])
    if (!entry || !repoEntry) return false
    const record = decode(OciManifestRecordType, entry.value, details)
    for (const tag of record.tags) tx.delete(ociKeys.tag(repo, tag))
    tx.delete(ociKeys.manifest(repo, hex))
    const subject = parseManifest(Buffer.from(record.bytes, 'base64'), record.mediaType).subject
    if (subject) tx.delete(ociKeys.referrer(repo, parseOciDigest(subject.digest), hex))
    const repoRecord = decode(OciRepoRecordType, repoEntry.value, details)
    if (repoRecord.manifests > 1) tx.put(repoKey, encode({ ...repoRecord, manifests: repoRecord.manifests - 1 }))
    else tx.delete(repoKey)
    await recordRepositoryEvent(ctx, tx, repo, { type: 'oci.manifest.deleted', digest: `sha256:${hex}`, tags: record.tags })
    return true
  })
}

function pageSize(n: number | undefined): number {
  if (n === undefined) return 1000
  if (!Number.isSafeInteger(n) || n < 0) throw new OciError('PAGINATION_NUMBER_INVALID', `n must be a non-negative integer, not ${n}`, { detail: { n } })
  return Math.min(n, 10_000)
}

async function page(ctx: RegistryContext, prefix: string, options: { n?: number; last?: string }): Promise<OciListPage> {
  const n = pageSize(options.n)
  if (n === 0) return { items: [] }
  const entries = await ctx.store.list({ prefix, ...(options.last === undefined ? {} : { after: prefix + options.last }), limit: n + 1 })
  const items = entries.slice(0, n).map((e) => e.key.slice(prefix.length))
  return entries.length > n ? { items, next: items.at(-1)! } : { items }
}

/**
 * One page of a repository's tags, in lexical order (`n` at most 10,000; `last` exclusive).
 * @throws OciError `NAME_UNKNOWN` for a repository without manifests, `PAGINATION_NUMBER_INVALID`
 */
export async function listTags(ctx: RegistryContext, repository: string, options: { n?: number; last?: string } = {}): Promise<OciListPage> {
  const repo = parseRepositoryName(repository)
  if ((await ctx.store.get(ociKeys.repo(repo))) === undefined) {
    throw new OciError('NAME_UNKNOWN', `repository ${repo} is not known`, { detail: { name: repo } })
  }
  return page(ctx, ociKeys.tags(repo), options)
}

/** One page of the repositories that have manifests, in lexical order. */
export async function catalog(ctx: RegistryContext, options: { n?: number; last?: string } = {}): Promise<OciListPage> {
  return page(ctx, ociKeys.repos, options)
}

/**
 * The manifests of `repository` whose `subject` is `digest` (the referrers API), as
 * descriptors, optionally only those of `artifactType`. The subject itself need not exist.
 */
export async function listReferrers(ctx: RegistryContext, repository: string, digest: string, options: { artifactType?: string } = {}): Promise<OciReferrerRecord[]> {
  const repo = parseRepositoryName(repository)
  const prefix = ociKeys.referrers(repo, parseOciDigest(digest))
  const out: OciReferrerRecord[] = []
  for await (const entry of listAll(ctx.store, prefix)) {
    const referrer = decode(OciReferrerRecordType, entry.value, { name: repo, subject: digest })
    if (options.artifactType === undefined || referrer.artifactType === options.artifactType) out.push(referrer)
  }
  return out
}
