/**
 * zod schemas of OCI and Docker manifests, indexes and descriptors, and {@link parseManifest},
 * which validates manifest bytes a client sends (or a remote registry serves) and names what
 * they reference. Unknown fields are kept: manifests are stored and served as the exact bytes
 * received, the parse only checks and reads them.
 * @module
 */
import { z } from 'zod'
import { OciError } from './errors.js'
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, isManifestMediaType, OCI_INDEX, OCI_MANIFEST } from './media-types.js'

// RFC 6838 type/subtype, as the image spec restricts media types.
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/

/** Largest manifest accepted (the spec's suggested 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

const AnnotationsSchema = z.record(z.string(), z.string())

/** A platform of an index entry. */
export const PlatformSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
})

/** An OCI content descriptor (sha256 digests only, see `parseOciDigest`). */
export const OciDescriptorSchema = z.looseObject({
  mediaType: z.string().regex(MEDIA_TYPE, 'expected a media type'),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256: and 64 lowercase hex characters'),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  urls: z.array(z.string()).optional(),
  annotations: AnnotationsSchema.optional(),
  data: z.string().optional(),
  artifactType: z.string().regex(MEDIA_TYPE).optional(),
  platform: PlatformSchema.optional(),
})
export type OciDescriptor = z.infer<typeof OciDescriptorSchema>

/** An OCI image manifest (image spec 1.1: `artifactType` and `subject` included). */
export const ImageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_MANIFEST).optional(),
  artifactType: z.string().regex(MEDIA_TYPE).optional(),
  config: OciDescriptorSchema,
  layers: z.array(OciDescriptorSchema),
  subject: OciDescriptorSchema.optional(),
  annotations: AnnotationsSchema.optional(),
})
export type ImageManifest = z.infer<typeof ImageManifestSchema>

/** An OCI image index. */
export const ImageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_INDEX).optional(),
  artifactType: z.string().regex(MEDIA_TYPE).optional(),
  manifests: z.array(OciDescriptorSchema),
  subject: OciDescriptorSchema.optional(),
  annotations: AnnotationsSchema.optional(),
})
export type ImageIndex = z.infer<typeof ImageIndexSchema>

/** A Docker v2 schema 2 image manifest (its `mediaType` field is required). */
export const DockerManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(DOCKER_MANIFEST),
  config: OciDescriptorSchema,
  layers: z.array(OciDescriptorSchema),
})

/** A Docker manifest list. */
export const DockerManifestListSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(DOCKER_MANIFEST_LIST),
  manifests: z.array(OciDescriptorSchema),
})

const schemaOf: Readonly<Record<string, z.ZodType>> = Object.assign(Object.create(null) as Record<string, z.ZodType>, {
  [OCI_MANIFEST]: ImageManifestSchema,
  [OCI_INDEX]: ImageIndexSchema,
  [DOCKER_MANIFEST]: DockerManifestSchema,
  [DOCKER_MANIFEST_LIST]: DockerManifestListSchema,
})

/** What {@link parseManifest} found. */
export interface ParsedManifest {
  /** The manifest's media type (from its `mediaType` field, else `Content-Type`, else its shape). */
  readonly mediaType: string
  /** `artifactType`, else the config's media type (single manifests), as the referrers API reports. */
  readonly artifactType?: string
  /** For single manifests: the config descriptor. */
  readonly config?: OciDescriptor
  /** For single manifests: the layers. */
  readonly layers: readonly OciDescriptor[]
  /** For indexes: the manifests. */
  readonly manifests: readonly OciDescriptor[]
  /** The `subject` descriptor (referrers API), if any. */
  readonly subject?: OciDescriptor
  /** Manifest annotations. */
  readonly annotations: Readonly<Record<string, string>>
}

const decoder = new TextDecoder('utf-8', { fatal: true })

function invalid(message: string, detail: unknown = null): OciError {
  return new OciError('MANIFEST_INVALID', message, { detail })
}

/**
 * Validates manifest bytes as one of the four manifest media types and reads what they
 * reference.
 *
 * `contentType` is the request's `Content-Type` (parameters ignored). When the body has a
 * `mediaType` field, the two must agree; a body without one takes `contentType`, or, with
 * neither, its shape (`manifests` → OCI index, else OCI manifest).
 * @throws OciError `MANIFEST_INVALID` (not JSON, wrong shape, unknown or conflicting media type), `SIZE_INVALID` (over 4 MiB)
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new OciError('SIZE_INVALID', `a manifest is limited to ${MAX_MANIFEST_BYTES} bytes`, { detail: { size: bytes.byteLength } })
  }
  let document: unknown
  try {
    document = JSON.parse(decoder.decode(bytes))
  } catch {
    throw invalid('the manifest is not UTF-8 JSON')
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw invalid('the manifest is not a JSON object')
  const declared = (document as { mediaType?: unknown }).mediaType
  const header = contentType?.split(';')[0]?.trim().toLowerCase() || undefined
  if (declared !== undefined && typeof declared !== 'string') throw invalid('mediaType must be a string')
  if (declared !== undefined && header !== undefined && declared !== header) {
    throw invalid(`the manifest's mediaType ${declared} differs from its Content-Type ${header}`, { mediaType: declared, contentType: header })
  }
  const mediaType = declared ?? header ?? ('manifests' in document ? OCI_INDEX : OCI_MANIFEST)
  if (!isManifestMediaType(mediaType)) throw invalid(`unsupported manifest media type ${mediaType}`, { mediaType })
  const result = schemaOf[mediaType]!.safeParse(document)
  if (!result.success) {
    throw invalid(`invalid ${mediaType}: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`.slice(0, 1000), {
      mediaType,
    })
  }
  const data = result.data as Partial<ImageManifest & ImageIndex>
  const config = data.config
  const artifactType = data.artifactType ?? (config ? config.mediaType : undefined)
  return {
    mediaType,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(config === undefined ? {} : { config }),
    layers: data.layers ?? [],
    manifests: data.manifests ?? [],
    ...(data.subject === undefined ? {} : { subject: data.subject }),
    annotations: data.annotations ?? {},
  }
}
