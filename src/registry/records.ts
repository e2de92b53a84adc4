/**
 * The registry's key layout and record schemas (see docs/architecture.md). Internal: the layout is
 * documented so operators can inspect a store, but only the registry writes it.
 * @module
 */
import { z } from 'zod'
import { ApprError, type ErrorDetails } from '../errors/index.js'
import { ChannelSchema, ManifestSchema } from '../model/schemas.js'
import type { PackageName } from '../model/package-name.js'

/** Key builders. Package segments are lowercase; releases, formats and channels are validated before use. */
export const keys = {
  /** Every package record: `pkg/<ns>/<name>`. */
  packages: 'pkg/',
  namespace: (ns: string) => `pkg/${ns}/`,
  pkg: (p: PackageName) => `pkg/${p.full}`,
  manifests: (p: PackageName) => `man/${p.full}/`,
  man: (p: PackageName, release: string, format: string) => `man/${p.full}/${release}/${format}`,
  chan: (p: PackageName, channel: string) => `chan/${p.full}/${channel}`,
  blob: (digest: string) => `blob/${digest}`,
  pblob: (p: PackageName, digest: string) => `pblob/${p.full}/${digest}`,
  objects: 'obj/',
  obj: (id: string) => `obj/${id}`,
}

/**
 * `pkg/<ns>/<name>`: the per-package serialisation point. Every mutation of a package reads and
 * rewrites it, so two mutations of one package never both pass their checks.
 */
export const PackageRecordSchema = z.object({
  name: z.string(),
  created_at: z.string(),
  /** release → format → appr digest. */
  releases: z.record(z.string(), z.record(z.string(), z.string())),
  /** channel name → its current release. */
  channels: z.record(z.string(), z.string()),
})
export type PackageRecord = z.infer<typeof PackageRecordSchema>

/** `blob/<digest>`: one per distinct content, shared by every manifest naming it. */
export const BlobRecordSchema = z.object({
  digest: z.string(),
  ociDigest: z.string(),
  size: z.number().int().nonnegative(),
  /** BlobStore id of the bytes. */
  object: z.string(),
  /** Number of manifests (all packages) naming this digest. */
  refs: z.number().int().positive(),
})
export type BlobRecord = z.infer<typeof BlobRecordSchema>

/** `pblob/<ns>/<name>/<digest>`: how many of this package's manifests name the digest. */
export const PackageBlobSchema = z.object({ refs: z.number().int().positive() })

/**
 * `obj/<id>`: the life of one BlobStore object. `uploading` is written before the first byte,
 * `live` by the commit that makes a blob record point at it; `doomed` by gc before it deletes a
 * stale upload. The push commit checks this key, so gc and a slow push can never both win.
 */
export const ObjectRecordSchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('uploading'), started_at: z.string() }),
  z.object({ state: z.literal('live'), digest: z.string() }),
  z.object({ state: z.literal('doomed') }),
])
export type ObjectRecord = z.infer<typeof ObjectRecordSchema>

export { ChannelSchema, ManifestSchema }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** JSON bytes of a record. */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

/**
 * Parses a stored record; a corrupt one is an `internal-error` naming the public identifiers
 * (never the storage key).
 */
export function decode<S extends z.ZodType>(schema: S, bytes: Uint8Array, details: ErrorDetails): z.output<S> {
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch (cause) {
    throw new ApprError('internal-error', 'a stored record is not valid JSON', { details, cause })
  }
  const result = schema.safeParse(json)
  if (!result.success) throw new ApprError('internal-error', 'a stored record is corrupt', { details, cause: result.error })
  return result.data
}
