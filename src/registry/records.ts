/**
 * The registry's key layout and record schemas (see docs/architecture.md). Internal: the layout is
 * documented so operators can inspect a store, but only the registry writes it.
 * @module
 */
import { z } from 'zod'
import { ApprError, type ErrorDetails } from '../errors/index.js'
import type { PackageName } from '../model/package-name.js'
import { ChannelSchema, ManifestSchema, SignatureSchema } from '../model/schemas.js'
import type { Manifest, Signature } from '../model/types.js'

/** Key builders. Package segments are lowercase; releases, formats and channels are validated before use. */
export const keys = {
  /** Every package record: `pkg/<ns>/<name>`. */
  packages: 'pkg/',
  namespace: (ns: string) => `pkg/${ns}/`,
  pkg: (p: PackageName) => `pkg/${p.full}`,
  manifests: (p: PackageName) => `man/${p.full}/`,
  man: (p: PackageName, release: string, format: string) => `man/${p.full}/${release}/${format}`,
  chan: (p: PackageName, channel: string) => `chan/${p.full}/${channel}`,
  blobs: 'blob/',
  blob: (digest: string) => `blob/${digest}`,
  pblob: (p: PackageName, digest: string) => `pblob/${p.full}/${digest}`,
  objects: 'obj/',
  obj: (id: string) => `obj/${id}`,
}

/**
 * A copy of one manifest kept inside its package record, with where its blob's bytes are, so
 * that show and pull of the default release read one record instead of three.
 */
export const HeadSchema = z.object({
  manifest: ManifestSchema,
  /**
   * The blob record's fields a pull needs, stable while this package references the digest (the
   * first upload of a digest fixes them: another gzip of the same tar shares its record).
   */
  ociDigest: z.string(),
  size: z.number().int().nonnegative(),
  object: z.string(),
})
/** A head as the registry uses it (the model's read-only manifest). */
export type Head = Omit<z.infer<typeof HeadSchema>, 'manifest'> & { manifest: Manifest }

/** A map keyed by user-given names, as the registry holds it: a null-prototype object (see {@link nameMap}). */
export type NameMap<T> = Record<string, T>

/**
 * An empty {@link NameMap}, or a copy of `entries` as one. Formats, releases and channels are
 * user-given and may be `constructor` or `__proto__`: with no prototype, a lookup finds only
 * what was stored, and assigning `__proto__` stores a name.
 */
export function nameMap<T>(entries?: Readonly<Record<string, T>>): NameMap<T> {
  const out: NameMap<T> = Object.create(null)
  if (entries !== undefined) for (const key of Object.keys(entries)) out[key] = entries[key]!
  return out
}

/** `map[key]` when `key` was stored, never an inherited property. */
export function own<T>(map: Readonly<NameMap<T>> | undefined, key: string): T | undefined {
  return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined
}

/**
 * `z.record(z.string(), value)` decoded into a {@link NameMap}: zod's own record assigns each key
 * to an ordinary object, which turns `__proto__` into the prototype instead of an entry.
 */
export const nameMapSchema = <T extends z.ZodType>(value: T) =>
  z.unknown().transform((input, ctx): NameMap<z.output<T>> => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.addIssue({ code: 'custom', message: 'expected an object' })
      return z.NEVER
    }
    const out = nameMap<z.output<T>>()
    for (const key of Object.keys(input)) {
      const parsed = value.safeParse((input as Record<string, unknown>)[key])
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]?.message ?? 'invalid', path: [key] })
        return z.NEVER
      }
      out[key] = parsed.data
    }
    return out
  })

/**
 * `pkg/<ns>/<name>`: the per-package serialisation point. Every mutation of a package reads and
 * rewrites it, so two mutations of one package never both pass their checks.
 */
export const PackageRecordSchema = z.object({
  name: z.string(),
  created_at: z.string(),
  /** release → format → appr digest. */
  releases: nameMapSchema(nameMapSchema(z.string())),
  /** channel name → its current release. */
  channels: nameMapSchema(z.string()),
  /**
   * format → a copy of the manifest of its default release (absent in records written before
   * heads existed, or when the manifest is large). Invariant: every head is exactly the stored
   * manifest `man/<pkg>/<head.manifest.release>/<format>`; every commit writing or deleting a
   * manifest rewrites this record, so it keeps the copy true (see `updateHead` in heads.ts).
   */
  heads: nameMapSchema(HeadSchema).optional(),
  /**
   * release → format → signatures of that manifest's digest (absent when none). Kept here so
   * that show lists them without another read, and so that every commit that replaces or deletes
   * a manifest drops its signatures in the same write.
   */
  signatures: nameMapSchema(nameMapSchema(z.array(SignatureSchema))).optional(),
  /**
   * The hybrid-clock stamp of the package's last event (absent while events are off): the chain
   * the change feed orders the package's events by (events/record.ts).
   */
  ev: z.string().optional(),
})
export type PackageRecord = Omit<z.infer<typeof PackageRecordSchema>, 'heads' | 'signatures'> & {
  heads?: NameMap<Head> | undefined
  signatures?: NameMap<NameMap<Signature[]>> | undefined
}

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

const decoder = new TextDecoder()

/**
 * JSON bytes of a record. Buffer.from cuts small results from Node's shared pool instead of
 * allocating a backing store per record (a push encodes six); returned as a plain Uint8Array.
 */
export function encode(value: unknown): Uint8Array {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8')
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * A record type: its zod schema (the definition, and the error report) and a hand-written fast
 * check of the common case. `fast` returns exactly what `schema` would (same fields, same order,
 * extra fields stripped) or `undefined` when it is not sure; zod then decides. So every record
 * read back is validated, and a corrupt one fails exactly as zod says, at a fraction of the cost
 * on the hot path (show, pull, list decode records on every call).
 */
export interface RecordType<T> {
  readonly schema: z.ZodType<T>
  readonly fast: (json: unknown) => T | undefined
}

// ── fast checks (each accepts a subset of what its schema accepts) ────────────────────────────

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const isString = (v: unknown, max = Number.POSITIVE_INFINITY): v is string => typeof v === 'string' && v.length <= max
/** Exactly `count` own keys: with the named fields all checked, there are no extra ones to strip. */
const hasKeys = (v: Json, count: number): boolean => {
  let n = 0
  for (const _ in v) n++
  return n === count
}
const HEX64 = /^[a-f0-9]{64}$/

/** A map of strings as JSON.parse gave it, copied into a {@link NameMap}; undefined when not one. */
function stringMap(v: unknown): NameMap<string> | undefined {
  if (!isObject(v)) return undefined
  const out = nameMap<string>()
  for (const key of Object.keys(v)) {
    const value = v[key]
    if (typeof value !== 'string') return undefined
    out[key] = value
  }
  return out
}

function fastPackage(v: unknown): PackageRecord | undefined {
  // Signed packages are rare enough to go through zod.
  if (!isObject(v) || 'signatures' in v) return undefined
  const { name, created_at, ev } = v
  if (!hasKeys(v, 4 + ('heads' in v ? 1 : 0) + ('ev' in v ? 1 : 0)) || ('ev' in v && !isString(ev))) return undefined
  const channels = stringMap(v.channels)
  if (!isString(name) || !isString(created_at) || !isObject(v.releases) || channels === undefined) return undefined
  const releases = nameMap<NameMap<string>>()
  for (const release of Object.keys(v.releases)) {
    const formats = stringMap(v.releases[release])
    if (formats === undefined) return undefined
    releases[release] = formats
  }
  const heads = 'heads' in v ? fastHeads(v.heads) : undefined
  if ('heads' in v && heads === undefined) return undefined
  // Field order as zod gives it: heads, then ev.
  return { name, created_at, releases, channels, ...(heads && { heads }), ...(isString(ev) && { ev }) }
}

function fastHeads(v: unknown): NameMap<Head> | undefined {
  if (!isObject(v)) return undefined
  const out = nameMap<Head>()
  for (const format of Object.keys(v)) {
    const head = v[format]
    if (!isObject(head) || !hasKeys(head, 4) || !isString(head.ociDigest) || !isString(head.object)) return undefined
    const { size } = head
    if (!Number.isSafeInteger(size) || (size as number) < 0) return undefined
    const manifest = fastManifest(head.manifest)
    if (manifest === undefined) return undefined
    out[format] = { manifest, ociDigest: head.ociDigest, size: size as number, object: head.object }
  }
  return out
}

function fastStrings(v: unknown, max: number): string[] | undefined {
  if (!Array.isArray(v)) return undefined
  for (const item of v) if (!isString(item, max)) return undefined
  return v as string[]
}

function fastManifest(v: unknown): z.output<typeof ManifestSchema> | undefined {
  if (!isObject(v)) return undefined
  const { package: pkg, release, mediaType, content, metadata, created_at } = v
  if (!hasKeys(v, 'metadata' in v ? 6 : 5) || !isObject(content) || !hasKeys(content, 'urls' in content ? 4 : 3)) return undefined
  if (!isString(pkg, 600) || !isString(release, 256) || !isString(mediaType, 256) || !isString(created_at, 64)) return undefined
  const { mediaType: contentType, size, digest } = content
  const urls = 'urls' in content ? fastStrings(content.urls, Number.POSITIVE_INFINITY) : []
  if (!isString(contentType, 256) || !Number.isSafeInteger(size) || (size as number) < 0 || !isString(digest) || !HEX64.test(digest) || urls === undefined) {
    return undefined
  }
  return {
    package: pkg,
    release,
    mediaType,
    content: { mediaType: contentType, size: size as number, digest, urls },
    metadata: metadata ?? null,
    created_at,
  }
}

function fastChannel(v: unknown): z.output<typeof ChannelSchema> | undefined {
  if (!isObject(v) || !hasKeys(v, 3)) return undefined
  const { name, current } = v
  const releases = fastStrings(v.releases, 256)
  if (!isString(name, 128) || !isString(current, 256) || releases === undefined) return undefined
  return { name, current, releases }
}

function fastBlob(v: unknown): BlobRecord | undefined {
  if (!isObject(v) || !hasKeys(v, 5)) return undefined
  const { digest, ociDigest, size, object, refs } = v
  if (!isString(digest) || !isString(ociDigest) || !isString(object) || !Number.isSafeInteger(size) || (size as number) < 0) return undefined
  if (!Number.isSafeInteger(refs) || (refs as number) <= 0) return undefined
  return { digest, ociDigest, size: size as number, object, refs: refs as number }
}

function fastPackageBlob(v: unknown): z.output<typeof PackageBlobSchema> | undefined {
  if (!isObject(v) || !hasKeys(v, 1) || !Number.isSafeInteger(v.refs) || (v.refs as number) <= 0) return undefined
  return { refs: v.refs as number }
}

function fastObject(v: unknown): ObjectRecord | undefined {
  if (!isObject(v)) return undefined
  if (v.state === 'live' && hasKeys(v, 2) && isString(v.digest)) return { state: 'live', digest: v.digest }
  return undefined // rarer states: zod
}

export const PackageRecordType: RecordType<PackageRecord> = { schema: PackageRecordSchema, fast: fastPackage }
export const ManifestRecordType: RecordType<z.output<typeof ManifestSchema>> = { schema: ManifestSchema, fast: fastManifest }
export const ChannelRecordType: RecordType<z.output<typeof ChannelSchema>> = { schema: ChannelSchema, fast: fastChannel }
export const BlobRecordType: RecordType<BlobRecord> = { schema: BlobRecordSchema, fast: fastBlob }
export const PackageBlobType: RecordType<z.output<typeof PackageBlobSchema>> = { schema: PackageBlobSchema, fast: fastPackageBlob }
export const ObjectRecordType: RecordType<ObjectRecord> = { schema: ObjectRecordSchema, fast: fastObject }

/** Parses JSON already decoded from a record: the fast check, else zod. */
function validateRecord<T>(type: RecordType<T>, json: unknown, details: ErrorDetails): T {
  const fast = type.fast(json)
  if (fast !== undefined) return fast
  const result = type.schema.safeParse(json)
  if (!result.success) throw new ApprError('internal-error', 'a stored record is corrupt', { details, cause: result.error })
  return result.data
}

/**
 * Parses a stored record; a corrupt one is an `internal-error` naming the public identifiers
 * (never the storage key).
 */
export function decode<T>(type: RecordType<T>, bytes: Uint8Array, details: ErrorDetails): T {
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch (cause) {
    throw new ApprError('internal-error', 'a stored record is not valid JSON', { details, cause })
  }
  return validateRecord(type, json, details)
}
