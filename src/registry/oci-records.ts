/**
 * Key layout and records of OCI content (the `/v2/` surface's data), beside the appr records of
 * records.ts and under their own `oci/` prefix:
 *
 * - `oci/blob/<hex>`: one per distinct OCI blob (`sha256:<hex>` of its bytes): size, the
 *   BlobStore object holding it, and how many repositories link it;
 * - `oci/link/<repository>@<hex>`: the blob is part of that repository (served there, mountable
 *   from there). `@` never occurs in a repository name, so one repository's links never run into
 *   a nested repository's;
 * - `oci/upload/<uuid>`: an upload session (its repository, when it started, the objects its
 *   chunks were written to), so a session survives a restart and any process can continue it;
 * - `oci/repo/<repository>`: a repository with at least one manifest (the catalog, and the
 *   serialisation point of its manifests and tags);
 * - `oci/manifest/<repository>@<hex>`: a manifest's exact bytes, media type and the tags naming it;
 * - `oci/tag/<repository>@<tag>`: the digest a tag names (tags list in key order = lexical order);
 * - `oci/referrer/<repository>@<subject hex>@<hex>`: the descriptor of a manifest whose `subject`
 *   is that digest (the referrers API is one key range);
 * - `oci/release/<repository>@<release>`: the OCI view of an appr release of the package
 *   `<repository>` (each format's manifest descriptor), written in the commits that change the
 *   release (oci-projection.ts).
 *
 * Objects follow the appr lifecycle of `obj/<id>` markers (records.ts): every chunk is written
 * under an `uploading` marker, the object of a completed blob turns `live` in the commit that
 * records it, and gc reclaims what a crash or an abandoned session left.
 * @module
 */
import { z } from 'zod'
import { type NameMap, nameMapSchema, type RecordType } from './records.js'

export const ociKeys = {
  blobs: 'oci/blob/',
  blob: (hex: string) => `oci/blob/${hex}`,
  link: (repository: string, hex: string) => `oci/link/${repository}@${hex}`,
  uploads: 'oci/upload/',
  upload: (id: string) => `oci/upload/${id}`,
  repos: 'oci/repo/',
  repo: (repository: string) => `oci/repo/${repository}`,
  manifest: (repository: string, hex: string) => `oci/manifest/${repository}@${hex}`,
  tags: (repository: string) => `oci/tag/${repository}@`,
  tag: (repository: string, tag: string) => `oci/tag/${repository}@${tag}`,
  referrers: (repository: string, subjectHex: string) => `oci/referrer/${repository}@${subjectHex}@`,
  referrer: (repository: string, subjectHex: string, hex: string) => `oci/referrer/${repository}@${subjectHex}@${hex}`,
  manifests: 'oci/manifest/',
  links: 'oci/link/',
  release: (repository: string, release: string) => `oci/release/${repository}@${release}`,
}

export const OciBlobRecordSchema = z.object({
  size: z.number().int().nonnegative(),
  /** BlobStore id of the bytes (absent for a small derived blob kept in `inline`). */
  object: z.string().optional(),
  /** The bytes, base64, of a config blob appr-core derived (a Helm chart's config, `{}`). */
  inline: z.string().optional(),
  /** Repositories linking this blob. */
  refs: z.number().int().positive(),
  /**
   * The appr digest whose blob record holds the same BlobStore object (an appr blob's
   * `ociDigest` is this blob): the object goes only when both records are gone.
   */
  appr: z.string().optional(),
})
export type OciBlobRecord = z.infer<typeof OciBlobRecordSchema>

export const OciLinkRecordSchema = z.object({
  created_at: z.string(),
  /** Manifests of the repository naming this blob (absent: none). */
  refs: z.number().int().positive().optional(),
  /** When `refs` last dropped to none: gc unlinks the blob once the grace period has passed since. */
  free_at: z.string().optional(),
  /**
   * When a client last uploaded or mounted the blob here while manifests named it: the client
   * may be about to push a manifest naming it, so an appr delete that frees the link leaves it
   * to gc (the grace period) instead of unlinking it at once.
   */
  uploaded_at: z.string().optional(),
})
export type OciLinkRecord = z.infer<typeof OciLinkRecordSchema>

export const OciUploadPartSchema = z.object({
  object: z.string(),
  size: z.number().int().nonnegative(),
  /** sha256 hex of this part's bytes (lets a one-part upload complete without reading it again). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
})
export type OciUploadPart = z.infer<typeof OciUploadPartSchema>

export const OciUploadRecordSchema = z.object({
  repository: z.string(),
  started_at: z.string(),
  /** Bytes received so far (the sum of the parts). */
  size: z.number().int().nonnegative(),
  parts: z.array(OciUploadPartSchema),
})
export type OciUploadRecord = z.infer<typeof OciUploadRecordSchema>

export const OciRepoRecordSchema = z.object({ created_at: z.string(), manifests: z.number().int().positive() })
export type OciRepoRecord = z.infer<typeof OciRepoRecordSchema>

export const OciManifestRecordSchema = z.object({
  mediaType: z.string(),
  /** The exact bytes, base64. */
  bytes: z.string(),
  created_at: z.string(),
  /** Tags of the repository naming this manifest. */
  tags: z.array(z.string()),
  /** Indexes of the repository naming this manifest (absent: none). */
  refs: z.number().int().positive().optional(),
  /** When it last lost its last tag and index (gc deletes it once the grace period has passed since). */
  free_at: z.string().optional(),
  /**
   * Set when the manifest is an appr release's OCI view (the release, and its format unless it is
   * the release's index); `projected` when appr-core made it from the release (a restored release
   * makes it again), not a `/v2/` client.
   */
  appr: z.object({ release: z.string(), format: z.string().optional(), projected: z.literal(true).optional() }).optional(),
  /**
   * When a `/v2/` client last pushed the bytes of this appr view itself (by digest, for an index
   * of its own): an appr change that no longer needs the view leaves it free for gc instead of
   * deleting it at once, under the client's index PUT that is still to come.
   */
  pushed_at: z.string().optional(),
})
export type OciManifestRecord = z.infer<typeof OciManifestRecordSchema>

/** `release`: the tag of an appr release; `channel`: an appr channel, following its current release. */
export const OciTagRecordSchema = z.object({ digest: z.string(), appr: z.enum(['release', 'channel']).optional() })
export type OciTagRecord = z.infer<typeof OciTagRecordSchema>

/** A format's manifest, as the release's index names it. */
export const OciFormatDescriptorSchema = z.object({ mediaType: z.string(), digest: z.string(), size: z.number().int().nonnegative() })

/** `oci/release/<repository>@<release>`: the manifest of each format of an appr release. */
export const OciReleaseRecordSchema = z.object({ formats: nameMapSchema(OciFormatDescriptorSchema) })
export type OciReleaseRecord = { formats: NameMap<z.infer<typeof OciFormatDescriptorSchema>> }

/** A referrer's descriptor, as the referrers API lists it. */
export const OciReferrerRecordSchema = z.object({
  mediaType: z.string(),
  digest: z.string(),
  size: z.number().int().nonnegative(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
})
export type OciReferrerRecord = z.infer<typeof OciReferrerRecordSchema>

// Hand-written fast checks of the records every push with an OCI view reads (as records.ts
// does for appr's): each returns exactly what zod would, or undefined and zod decides.
const slow = () => undefined
type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const keyCount = (v: Json): number => {
  let n = 0
  for (const _ in v) n++
  return n
}
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0
/** Own keys of `v` are exactly `required` plus those of `optional` present, each checked. */
function exact(v: unknown, required: Record<string, (x: unknown) => boolean>, optional: Record<string, (x: unknown) => boolean> = {}): v is Json {
  if (!isObject(v)) return false
  let n = 0
  for (const [k, check] of Object.entries(required)) {
    if (!check(v[k])) return false
    n++
  }
  for (const [k, check] of Object.entries(optional)) {
    if (!(k in v)) continue
    if (!check(v[k])) return false
    n++
  }
  return keyCount(v) === n
}
const str = (x: unknown) => typeof x === 'string'
const pick = <T>(v: Json, fields: readonly string[]): T => {
  const out: Json = {}
  for (const f of fields) if (f in v) out[f] = v[f]
  return out as T
}
const fastLink = (v: unknown) => (exact(v, { created_at: str }, { refs: isCount, free_at: str, uploaded_at: str }) ? pick<OciLinkRecord>(v, ['created_at', 'refs', 'free_at', 'uploaded_at']) : undefined)
const fastBlob = (v: unknown) =>
  exact(v, { size: (x) => Number.isSafeInteger(x) && (x as number) >= 0, refs: isCount }, { object: str, inline: str, appr: str })
    ? pick<OciBlobRecord>(v, ['size', 'object', 'inline', 'refs', 'appr'])
    : undefined
const fastTag = (v: unknown) => (exact(v, { digest: str }, { appr: (x) => x === 'release' || x === 'channel' }) ? pick<OciTagRecord>(v, ['digest', 'appr']) : undefined)
const fastRepo = (v: unknown) => (exact(v, { created_at: str, manifests: isCount }) ? pick<OciRepoRecord>(v, ['created_at', 'manifests']) : undefined)
const fastManifest = (v: unknown) =>
  exact(v, { mediaType: str, bytes: str, created_at: str, tags: (x) => Array.isArray(x) && x.every(str) }, { refs: isCount, free_at: str }) && !('appr' in v)
    ? pick<OciManifestRecord>(v, ['mediaType', 'bytes', 'created_at', 'tags', 'refs', 'free_at'])
    : undefined
export const OciBlobRecordType: RecordType<OciBlobRecord> = { schema: OciBlobRecordSchema, fast: fastBlob }
export const OciLinkRecordType: RecordType<OciLinkRecord> = { schema: OciLinkRecordSchema, fast: fastLink }
export const OciUploadRecordType: RecordType<OciUploadRecord> = { schema: OciUploadRecordSchema, fast: slow }
export const OciRepoRecordType: RecordType<OciRepoRecord> = { schema: OciRepoRecordSchema, fast: fastRepo }
export const OciManifestRecordType: RecordType<OciManifestRecord> = { schema: OciManifestRecordSchema, fast: fastManifest }
export const OciTagRecordType: RecordType<OciTagRecord> = { schema: OciTagRecordSchema, fast: fastTag }
export const OciReleaseRecordType: RecordType<OciReleaseRecord> = { schema: OciReleaseRecordSchema, fast: slow }
export const OciReferrerRecordType: RecordType<OciReferrerRecord> = { schema: OciReferrerRecordSchema, fast: slow }
