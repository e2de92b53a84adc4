/**
 * `ociBlobStore`: a {@link BlobStore} that keeps blob bytes in an OCI registry (any registry that
 * already scales on object storage), while the metadata stays in the KvStore.
 *
 * Each object is one small OCI artifact in one repository: a manifest (artifactType
 * `application/vnd.appr-core.blob-object.v1`, the empty config, one
 * `application/octet-stream` layer holding the bytes, the object id in a `vnd.appr.blob-id`
 * annotation), tagged with the id encoded in lowercase base32hex. That encoding keeps the ids'
 * byte order, fits the tag grammar and means the same to registries that compare tags with or
 * without case. The annotation makes every object's manifest distinct, so deleting one (by its
 * digest, as registries require) never untags another object with the same bytes.
 *
 * - `write` streams the bytes as a chunked upload (POST, PATCHes, PUT `?digest=`), then puts
 *   the manifest at the tag: an object is visible only once complete, and a failed write
 *   cancels its upload.
 * - `read` resolves the tag, and streams the layer (asked for on the first pull, so an unread
 *   stream holds no connection), verifying its digest at the end.
 * - `delete` deletes the manifest; the layer bytes are reclaimed by the registry's own garbage
 *   collection (`docker-registry garbage-collect`, or the registry's policy), since another
 *   object may share them.
 * - `ids` lists the tags. Registries are not required to sort tags or to page them (docker-
 *   registry 2.8 does neither), so `ids` reads them all and sorts them: memory grows with the
 *   number of objects (tens of bytes each).
 * @module
 */
import { ApprError } from '../errors/index.js'
import type { BlobStore } from '../storage/blob.js'
import { compareKeys } from '../storage/util.js'
import { goJsonBytes } from './canonical.js'
import { type OciAuth, type OciClient, ociClient } from './client.js'
import { isOciError } from './errors.js'
import { EMPTY_JSON, EMPTY_JSON_DIGEST, OCI_EMPTY, OCI_MANIFEST } from './media-types.js'
import { parseRepositoryName } from './reference.js'
import { parseManifest } from './schemas.js'

/** The `artifactType` of the manifests {@link ociBlobStore} writes. */
export const BLOB_OBJECT_ARTIFACT_TYPE = 'application/vnd.appr-core.blob-object.v1'
/** The manifest annotation holding the object id. */
export const BLOB_ID_ANNOTATION = 'vnd.appr.blob-id'
/** Longest object id, in UTF-8 bytes (base32hex of 80 bytes is the 128 characters a tag may have). */
export const MAX_OCI_BLOB_ID_BYTES = 80

/** Options of {@link ociBlobStore}. */
export interface OciBlobStoreOptions {
  /** The registry's base URL (`https://registry.example.org`). */
  readonly url: string
  /** The repository that holds the objects (one per registry you back, e.g. `appr/blobs`). */
  readonly repository: string
  /** Credentials (Basic, or a Bearer token); token challenges are answered as for {@link ociClient}. */
  readonly auth?: OciAuth
  /** Bytes per PATCH (default 8 MiB): memory use per write is about this much. */
  readonly chunkBytes?: number
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof fetch
}

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv'
const TAG = /^[0-9a-v]{1,128}$/
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** The tag of object `id`: lowercase base32hex of its UTF-8 bytes, no padding (order-preserving). */
export function blobIdTag(id: string): string {
  const bytes = encoder.encode(id)
  let out = ''
  let value = 0
  let bits = 0
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff
    bits += 8
    while (bits >= 5) {
      out += BASE32HEX[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32HEX[(value << (5 - bits)) & 31]
  return out
}

/** The object id a tag names, or `undefined` when the tag is not one {@link blobIdTag} makes. */
export function blobIdOfTag(tag: string): string | undefined {
  if (!TAG.test(tag)) return undefined
  const bytes: number[] = []
  let value = 0
  let bits = 0
  for (const c of tag) {
    value = ((value << 5) | BASE32HEX.indexOf(c)) & 0xffff
    bits += 5
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  // Leftover bits must be the zero padding of a canonical encoding.
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) return undefined
  try {
    const id = decoder.decode(Uint8Array.from(bytes))
    return blobIdTag(id) === tag ? id : undefined
  } catch {
    return undefined
  }
}

function assertId(id: string): void {
  if (typeof id !== 'string' || id === '' || !id.isWellFormed() || encoder.encode(id).byteLength > MAX_OCI_BLOB_ID_BYTES) {
    throw new ApprError('invalid-parameters', `an OCI blob object id must be 1-${MAX_OCI_BLOB_ID_BYTES} UTF-8 bytes of well-formed Unicode`, {
      details: { id: typeof id === 'string' ? id.slice(0, 200) : String(id) },
    })
  }
}

/** Registry failures are the backend's: `unavailable` (transient for 5xx, 429 and network errors). */
function backendFailure(cause: unknown): ApprError {
  if (cause instanceof ApprError) return cause
  const transient = !isOciError(cause) || cause.status >= 500 || cause.status === 429
  const message = cause instanceof Error ? cause.message : String(cause)
  return new ApprError('unavailable', `OCI blob store: ${message}`, { cause, transient, details: { adapter: 'oci' } })
}

async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (e) {
    throw backendFailure(e)
  }
}

/** The manifest of object `id` whose layer is `layer`. */
function objectManifest(id: string, layer: { digest: string; size: number }): Uint8Array {
  return goJsonBytes({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BLOB_OBJECT_ARTIFACT_TYPE,
    config: { mediaType: OCI_EMPTY, digest: EMPTY_JSON_DIGEST, size: EMPTY_JSON.byteLength },
    layers: [{ mediaType: 'application/octet-stream', digest: layer.digest, size: layer.size }],
    annotations: { [BLOB_ID_ANNOTATION]: id },
  })
}

/**
 * Creates a {@link BlobStore} over a repository of an OCI registry. Nothing is contacted until
 * the first call. The registry must allow deletes (docker-registry: `storage.delete.enabled`).
 * @example
 * ```ts
 * const store = redisStore({ url: 'redis://127.0.0.1:6379' })
 * const blobs = ociBlobStore({ url: 'https://registry.example.org', repository: 'appr/blobs', auth: { username, password } })
 * const registry = new Registry({ store, blobs })
 * ```
 */
/**
 * PUTs an object's manifest. docker-registry 2.8 may refuse it with a 400 while another write
 * of the same bytes is committing the layer it names (its blob link is briefly unreadable): the
 * conformance suite's concurrent writes of equal content under different ids hit this. Such a
 * 400 is retried a few times, and only while the registry confirms it holds the layer.
 */
async function putObjectManifest(client: OciClient, repository: string, tag: string, manifest: Uint8Array, layerDigest: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.putManifest(repository, tag, manifest, OCI_MANIFEST)
      return
    } catch (e) {
      if (attempt >= 4 || !isOciError(e) || e.status !== 400) throw e
      await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt))
      if (!(await client.headBlob(repository, layerDigest))) throw e
    }
  }
}

export function ociBlobStore(options: OciBlobStoreOptions): BlobStore {
  const repository = parseRepositoryName(options.repository)
  const client: OciClient = ociClient({
    url: options.url,
    ...(options.auth === undefined ? {} : { auth: options.auth }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.chunkBytes === undefined ? {} : { chunkBytes: options.chunkBytes }),
  })
  // The empty config every object manifest names: uploaded once per store, retried after a failure.
  let configReady: Promise<void> | undefined
  const ensureConfig = () => {
    configReady ??= (async () => {
      await client.ensureBlob(repository, EMPTY_JSON)
    })().catch((e: unknown) => {
      configReady = undefined
      throw e
    })
    return configReady
  }

  return {
    async write(id, chunks) {
      assertId(id)
      await guarded(ensureConfig)
      // The source's own error is rethrown as is; the registry's become `unavailable`.
      let sourceError: unknown
      const tracked = (async function* () {
        try {
          yield* chunks
        } catch (e) {
          sourceError = e
          throw e
        }
      })()
      try {
        const layer = await client.pushBlobStream(repository, tracked)
        const manifest = objectManifest(id, layer)
        await putObjectManifest(client, repository, blobIdTag(id), manifest, layer.digest)
      } catch (e) {
        if (sourceError !== undefined && e === sourceError) throw e
        throw backendFailure(e)
      }
    },

    async read(id) {
      assertId(id)
      const layer = await guarded(async () => {
        const found = await client.getManifest(repository, blobIdTag(id))
        if (!found) return undefined
        const first = parseManifest(found.bytes, found.mediaType).layers[0]
        if (!first) throw new ApprError('internal-error', 'an OCI blob object has no layer', { details: { object: id, manifest: found.digest } })
        return first
      })
      if (!layer) return undefined
      // The bytes are asked for on the first pull, not here: a read never consumed (a HEAD, a
      // client gone) must not hold a connection. A started read keeps streaming after a delete,
      // since a registry keeps the layer until its own garbage collection.
      return (async function* () {
        const blob = await guarded(() => client.getBlob(repository, layer.digest))
        if (!blob) throw new ApprError('internal-error', 'an OCI blob object lost its layer', { details: { object: id, layer: layer.digest } })
        yield* blob.body
      })()
    },

    async delete(id) {
      assertId(id)
      await guarded(async () => {
        const head = await client.headManifest(repository, blobIdTag(id))
        if (head) await client.deleteManifest(repository, head.digest)
      })
    },

    async *ids() {
      const tags: string[] = []
      await guarded(async () => {
        try {
          for await (const tag of client.tags(repository, { pageSize: 1000 })) tags.push(tag)
        } catch (e) {
          // A repository nothing was written to yet does not exist.
          if (!isOciError(e, 'NAME_UNKNOWN')) throw e
        }
      })
      const ids = tags.map(blobIdOfTag).filter((id): id is string => id !== undefined)
      yield* ids.sort(compareKeys)
    },
  }
}
