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

import { ApprError } from '../errors/index.js'
import { ociDigestOf, parseOciDigest } from '../oci/digest.js'
import { OciError } from '../oci/errors.js'
import { versionOfHelmTag } from '../oci/helm.js'
import { isTag, type ManifestReference, parseReference, parseRepositoryName } from '../oci/reference.js'
import { parseManifest } from '../oci/schemas.js'
import type { RegistryContext } from './context.js'
import { recordRepositoryEvent } from './events/record.js'
import { ociGraph } from './oci-graph.js'
import { type OciManifestRecord, OciManifestRecordType, type OciReferrerRecord, OciReferrerRecordType, OciTagRecordType, ociKeys } from './oci-records.js'
import { deleteRelease, putRelease, shownByRelease } from './oci-releases.js'
import { decode } from './records.js'
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

/** The digest hex a reference resolves to in `repository`, or undefined. */
async function resolve(ctx: RegistryContext, repository: string, ref: ManifestReference): Promise<string | undefined> {
  if (ref.kind === 'digest') return parseOciDigest(ref.digest)
  const entry = await ctx.store.get(ociKeys.tag(repository, ref.tag))
  return entry && parseOciDigest(decode(OciTagRecordType, entry.value, { name: repository, tag: ref.tag }).digest)
}

async function read(ctx: RegistryContext, repository: string, reference: string): Promise<{ hex: string; record: OciManifestRecord } | undefined> {
  const repo = parseRepositoryName(repository)
  // A reading client asks whether the manifest is there: a string that cannot be a tag names
  // nothing, so it is not found (404), as the conformance suite expects; a malformed digest stays
  // DIGEST_INVALID, and a PUT still refuses a bad tag with TAG_INVALID.
  if (!reference.includes(':') && !isTag(reference)) return undefined
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
 * Stores a manifest at a tag or at its digest. A chart or appr artifact at a SemVer tag of a
 * `<ns>/<name>` repository becomes an appr release (oci-releases.ts); a tag an appr release or
 * channel holds takes nothing else.
 * @throws OciError `DIGEST_INVALID` (a digest reference of other bytes), `MANIFEST_INVALID`, `SIZE_INVALID` (over 4 MiB or the store's value limit), `MANIFEST_BLOB_UNKNOWN` (a blob or child manifest not in the repository), `NAME_INVALID`, `TAG_INVALID`, `DENIED` (a conflict with an appr release or channel: docs/oci.md)
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
  const limit = ctx.store.capabilities.maxValueBytes
  if (limit !== undefined && Math.ceil(bytes.byteLength / 3) * 4 + 2048 > limit) {
    throw new OciError('SIZE_INVALID', `this store holds manifests up to about ${Math.floor((limit - 2048) * 0.75)} bytes`, { detail: { size: bytes.byteLength } })
  }
  const result = { digest, mediaType: parsed.mediaType, ...(parsed.subject ? { subject: parsed.subject.digest } : {}) }
  if (ref.kind === 'tag' && (await putRelease(ctx, repo, ref.tag, bytes, parsed))) return result
  await transact(ctx, { name: repo, reference }, async (tx) => {
    const graph = ociGraph(ctx, tx)
    if (ref.kind === 'tag') {
      await graph.prefetch([ociKeys.tag(repo, ref.tag), ociKeys.manifest(repo, hex), ociKeys.repo(repo)])
      const held = (await graph.tag(repo, ref.tag))?.appr
      if (held !== undefined && (await graph.tag(repo, ref.tag))?.digest !== digest) throw tagHeld(repo, ref.tag, held)
    }
    const existed = (await graph.manifest(repo, hex)) !== undefined
    const before = ref.kind === 'tag' ? (await graph.tag(repo, ref.tag))?.digest : undefined
    await graph.putManifest(repo, { hex, bytes, parsed })
    if (ref.kind === 'tag') await graph.setTag(repo, ref.tag, hex, (await graph.tag(repo, ref.tag))?.appr)
    const tag = ref.kind === 'tag' ? ref.tag : undefined
    if (!existed || (tag !== undefined && before !== digest)) {
      const replaced = before !== undefined && before !== digest ? { replaced: before } : {}
      await recordRepositoryEvent(ctx, graph.tx, repo, { type: 'oci.manifest.pushed', digest, mediaType: parsed.mediaType, ...(tag !== undefined && { tag }), ...replaced })
    }
  })
  return result
}

function tagHeld(repo: string, tag: string, held: 'release' | 'channel'): OciError {
  const what = held === 'release' ? `release ${versionOfHelmTag(tag) ?? tag}` : `channel ${tag}`
  return new OciError('DENIED', `${repo}:${tag} is appr ${what} of ${repo}; only a chart or appr artifact can be pushed there (docs/oci.md, "Conflicts")`, {
    detail: { name: repo, tag, held },
  })
}

/**
 * Deletes by digest (the manifest and every tag naming it) or by tag (the tag only). A tag or
 * manifest of an appr release deletes the release (or that format of it); a channel's tag deletes
 * the channel. False when there is no such manifest or tag.
 */
export async function deleteManifest(ctx: RegistryContext, repository: string, reference: string): Promise<boolean> {
  const repo = parseRepositoryName(repository)
  const ref = parseReference(reference)
  // A push may make the tag an appr release's between deleteRelease's look and the commit below:
  // the release is then deleted as such, by going round again.
  for (let n = 0; ; n++) {
    const released = await deleteRelease(ctx, repo, ref)
    if (released && ref.kind === 'tag') return true
    const deleted = await transact(ctx, { name: repo, reference }, async (tx) => {
      const graph = ociGraph(ctx, tx)
      if (ref.kind === 'digest') {
        // What the appr releases held went above; a manifest still held (by a release pushed
        // meanwhile) is not deleted under it.
        const hex = parseOciDigest(ref.digest)
        const record = await graph.manifest(repo, hex)
        const tags = record?.tags ?? []
        for (const t of tags) {
          const held = (await graph.tag(repo, t))?.appr
          if (held) throw tagHeld(repo, t, held)
        }
        // Nor under a release that took it as a format since (an index pushed meanwhile).
        if (record && (await shownByRelease(tx, repo, record, ref.digest))) {
          throw new OciError('DENIED', `${repo}@${ref.digest} became a format of an appr release meanwhile; retry (docs/oci.md, "Conflicts")`, { detail: { name: repo, digest: ref.digest } })
        }
        const deleted = await graph.deleteManifest(repo, hex)
        if (deleted) await recordRepositoryEvent(ctx, tx, repo, { type: 'oci.manifest.deleted', digest: `sha256:${hex}`, tags })
        return deleted
      }
      const tag = await graph.tag(repo, ref.tag)
      if (!tag) return false
      if (tag.appr) return 'held' as const
      await graph.setTag(repo, ref.tag, undefined)
      await recordRepositoryEvent(ctx, tx, repo, { type: 'oci.tag.deleted', tag: ref.tag, digest: tag.digest })
      return true
    })
    if (deleted !== 'held') return released || deleted
    if (n >= ctx.maxRetries) {
      throw new ApprError('resource-in-use', `${repo}:${reference} kept changing between appr and OCI owners; gave up after ${n + 1} attempts`, {
        details: { name: repo, reference },
        transient: true,
      })
    }
  }
}

function pageSize(n: number | undefined, max = 10_000): number {
  if (n === undefined) return Math.min(1000, max)
  if (!Number.isSafeInteger(n) || n < 0) throw new OciError('PAGINATION_NUMBER_INVALID', `n must be a non-negative integer, not ${n}`, { detail: { n } })
  return Math.min(n, max)
}

async function page(ctx: RegistryContext, prefix: string, options: { n?: number; last?: string }): Promise<OciListPage> {
  const n = pageSize(options.n)
  if (n === 0) return { items: [] }
  const entries = await ctx.store.list({ prefix, ...(options.last === undefined ? {} : { after: prefix + options.last }), limit: n + 1 })
  const items = entries.slice(0, n).map((e) => e.key.slice(prefix.length))
  return entries.length > n ? { items, next: items.at(-1)! } : { items }
}

/**
 * One page of a repository's tags, in lexical order (`n` at most 10,000; `last` exclusive). A
 * repository whose manifests were all deleted still exists while it holds blobs: its tag list is
 * empty, not unknown (a client that just deleted the last tag reads the list to see it gone).
 * @throws OciError `NAME_UNKNOWN` for a repository with neither manifests nor blobs, `PAGINATION_NUMBER_INVALID`
 */
export async function listTags(ctx: RegistryContext, repository: string, options: { n?: number; last?: string } = {}): Promise<OciListPage> {
  const repo = parseRepositoryName(repository)
  if ((await ctx.store.get(ociKeys.repo(repo))) === undefined && (await ctx.store.list({ prefix: ociKeys.link(repo, ''), limit: 1 })).length === 0) {
    throw new OciError('NAME_UNKNOWN', `repository ${repo} is not known`, { detail: { name: repo } })
  }
  return page(ctx, ociKeys.tags(repo), options)
}

/** One page of the repositories that have manifests, in lexical order. */
export async function catalog(ctx: RegistryContext, options: { n?: number; last?: string } = {}): Promise<OciListPage> {
  return page(ctx, ociKeys.repos, options)
}

/** One page of referrers (`next` = the `last` of the following page, when there is one). */
export interface OciReferrersPage {
  readonly items: readonly OciReferrerRecord[]
  readonly next?: string
}

/** Most referrers a page holds, and the most bytes of descriptors (annotations can be large). */
const REFERRERS_PAGE = 1000
const REFERRERS_PAGE_BYTES = 4 * 1024 * 1024

/**
 * One page of the manifests of `repository` whose `subject` is `digest` (the referrers API), as
 * descriptors in digest order, optionally only those of `artifactType`: at most `n` (default and
 * at most 1,000) and about 4 MiB of descriptors, after the referrer `last` (a digest). The
 * subject itself need not exist.
 * @throws OciError `PAGINATION_NUMBER_INVALID`, `DIGEST_INVALID` (`digest` or `last`)
 */
export async function listReferrers(ctx: RegistryContext, repository: string, digest: string, options: { artifactType?: string; n?: number; last?: string } = {}): Promise<OciReferrersPage> {
  const repo = parseRepositoryName(repository)
  const prefix = ociKeys.referrers(repo, parseOciDigest(digest))
  const n = pageSize(options.n, REFERRERS_PAGE)
  if (n === 0) return { items: [] }
  const items: OciReferrerRecord[] = []
  let bytes = 0
  let after = options.last === undefined ? undefined : prefix + parseOciDigest(options.last)
  for (;;) {
    // Read in batches, so a page of large descriptors is not read far past where it stops.
    const batch = Math.min(n + 1, 100)
    const entries = await ctx.store.list({ prefix, ...(after === undefined ? {} : { after }), limit: batch })
    for (const entry of entries) {
      const referrer = decode(OciReferrerRecordType, entry.value, { name: repo, subject: digest })
      if (options.artifactType !== undefined && referrer.artifactType !== options.artifactType) continue
      // One more that matches: the page is full, and it says where the next one starts.
      if (items.length === n || (items.length > 0 && bytes + entry.value.byteLength > REFERRERS_PAGE_BYTES)) return { items, next: items.at(-1)!.digest }
      items.push(referrer)
      bytes += entry.value.byteLength
    }
    if (entries.length < batch) return { items }
    after = entries.at(-1)!.key
  }
}
