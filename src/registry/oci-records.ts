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
 *   is that digest (the referrers API is one key range).
 *
 * Objects follow the appr lifecycle of `obj/<id>` markers (records.ts): every chunk is written
 * under an `uploading` marker, the object of a completed blob turns `live` in the commit that
 * records it, and gc reclaims what a crash or an abandoned session left.
 * @module
 */
import { z } from 'zod'
import type { RecordType } from './records.js'

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
}

export const OciBlobRecordSchema = z.object({
  size: z.number().int().nonnegative(),
  /** BlobStore id of the bytes. */
  object: z.string(),
  /** Repositories linking this blob. */
  refs: z.number().int().positive(),
})
export type OciBlobRecord = z.infer<typeof OciBlobRecordSchema>

export const OciLinkRecordSchema = z.object({ created_at: z.string() })

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
})
export type OciManifestRecord = z.infer<typeof OciManifestRecordSchema>

export const OciTagRecordSchema = z.object({ digest: z.string() })

/** A referrer's descriptor, as the referrers API lists it. */
export const OciReferrerRecordSchema = z.object({
  mediaType: z.string(),
  digest: z.string(),
  size: z.number().int().nonnegative(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
})
export type OciReferrerRecord = z.infer<typeof OciReferrerRecordSchema>

// No hand-written fast checks: these records are read once per request, zod decides.
const slow = () => undefined
export const OciBlobRecordType: RecordType<OciBlobRecord> = { schema: OciBlobRecordSchema, fast: slow }
export const OciLinkRecordType: RecordType<z.infer<typeof OciLinkRecordSchema>> = { schema: OciLinkRecordSchema, fast: slow }
export const OciUploadRecordType: RecordType<OciUploadRecord> = { schema: OciUploadRecordSchema, fast: slow }
export const OciRepoRecordType: RecordType<OciRepoRecord> = { schema: OciRepoRecordSchema, fast: slow }
export const OciManifestRecordType: RecordType<OciManifestRecord> = { schema: OciManifestRecordSchema, fast: slow }
export const OciTagRecordType: RecordType<z.infer<typeof OciTagRecordSchema>> = { schema: OciTagRecordSchema, fast: slow }
export const OciReferrerRecordType: RecordType<OciReferrerRecord> = { schema: OciReferrerRecordSchema, fast: slow }
