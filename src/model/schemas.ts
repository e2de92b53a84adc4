import { z } from 'zod'

/**
 * zod schemas for everything that enters from outside: wire JSON, backup documents, records
 * read back from a store. Field names follow appr's wire format. Extra fields are ignored
 * (stripped), as the appr client sends some the server never reads.
 * @module
 */

/** An OCI-style content descriptor. `urls` defaults to `[]`. */
export const DescriptorSchema = z.object({
  mediaType: z.string().max(256),
  size: z.number().int().nonnegative(),
  digest: z.string().regex(/^[a-f0-9]{64}$/, 'expected 64 lowercase hex characters'),
  urls: z.array(z.string()).default([]),
})

/** A manifest as appr serialises it. */
export const ManifestSchema = z.object({
  package: z.string().max(600),
  release: z.string().max(256),
  mediaType: z.string().max(256),
  content: DescriptorSchema,
  metadata: z
    .unknown()
    .optional()
    .transform((v) => v ?? null),
  created_at: z.string().max(64),
})

/** A channel record. */
export const ChannelSchema = z.object({
  name: z.string().max(128),
  current: z.string().max(256),
  releases: z.array(z.string().max(256)),
})

/** `sha256:<64 lowercase hex>`: the form of manifest digests and key ids. */
const SHA256_ID = /^sha256:[0-9a-f]{64}$/

/** The signature algorithms appr-core signs and verifies with (see docs/trust.md). */
export const SIGNATURE_ALGORITHMS = ['ed25519', 'ecdsa-p256'] as const

/**
 * A signature of a manifest digest: `{ keyid, alg, digest, sig }` (see docs/trust.md). Extra
 * fields are ignored.
 */
export const SignatureSchema = z.object({
  /** Key id of the signing key: `sha256:` + hex SHA-256 of its DER SubjectPublicKeyInfo. */
  keyid: z.string().regex(SHA256_ID, 'expected sha256:<64 lowercase hex>'),
  alg: z.enum(SIGNATURE_ALGORITHMS),
  /** The manifest digest signed. */
  digest: z.string().regex(SHA256_ID, 'expected sha256:<64 lowercase hex>'),
  /** The signature, base64 (64 bytes for both algorithms). */
  sig: z
    .string()
    .max(128)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected base64'),
})

/** One entry of appr's backup document: a manifest, its base64 blob and its channel membership. */
export const BackupPackageSchema = ManifestSchema.extend({
  created_at: z.string().max(64).optional(),
  blob: z.string(),
  channels: z.array(z.string().max(128)).default([]),
  /** Signatures of the manifest (appr-core backups; absent in older ones). */
  signatures: z.array(SignatureSchema).max(16).optional(),
})

/** appr's backup document (`{ packages, channels }`). */
export const BackupDocumentSchema = z.object({
  packages: z.array(BackupPackageSchema),
  channels: z
    .array(z.object({ package: z.string().max(600), name: z.string().max(128), current: z.string().max(256) }))
    .default([]),
})

/**
 * The push body of `POST /api/v1/packages/{ns}/{name}`: the blob as base64, the release, the
 * format (`media_type`, default `kpm`), optional metadata and `force`.
 */
export const PushBodySchema = z.object({
  blob: z.string({ error: 'blob (base64) is required' }),
  release: z.string({ error: 'release is required' }),
  media_type: z.string().optional(),
  metadata: z.unknown().optional(),
  force: z.union([z.boolean(), z.string()]).optional(),
})

export type PushBody = z.infer<typeof PushBodySchema>
export type BackupDocumentInput = z.input<typeof BackupDocumentSchema>
