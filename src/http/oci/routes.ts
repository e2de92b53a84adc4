/**
 * The OCI Distribution API (`/v2/`) as routes over a registry's `ociBlobs` and `ociManifests`:
 * {@link ociRoutes} is the whole surface in one table. Repository names span several path
 * segments (`*name`); errors use the spec's body `{errors: [{code, message, detail}]}`
 * ({@link ociErrorReply}), never appr's envelope.
 * @module
 */
import { isApprError } from '../../errors/index.js'
import { isOciError, OciError, toOciError } from '../../oci/errors.js'
import { OCI_INDEX } from '../../oci/media-types.js'
import { MAX_MANIFEST_BYTES } from '../../oci/schemas.js'
import type { OciBlobOperations, OciManifestOperations } from '../../registry/registry.js'
import type { HandlerOptions } from '../options.js'
import { jsonReply, type Reply, reply } from '../reply.js'
import type { HttpRequest } from '../request-view.js'
import type { Endpoint, Method, Route, RouteContext } from '../router.js'
import { isAnonymousToken, type OciAuthSettings, ociAuthSettings, ociChallenge, TOKEN_PATH, tokenEndpoint } from './token.js'

/** What the OCI surface needs of a registry. */
export interface OciRegistryApi {
  readonly ociBlobs: OciBlobOperations
  readonly ociManifests: OciManifestOperations
}

const API_VERSION = { 'docker-distribution-api-version': 'registry/2.0' }

/**
 * The OCI error response for anything thrown: its spec code and status (`toOciError`), a
 * `WWW-Authenticate` challenge with 401 (Basic unless `auth` says Bearer), `Content-Range` with
 * 416. Unexpected errors go to `onError` first and answer a bare `UNKNOWN`.
 */
export function ociErrorReply(error: unknown, request?: HttpRequest, onError?: HandlerOptions['onError'], auth?: OciAuthSettings): Reply {
  if (!isOciError(error) && !isApprError(error) && request) onError?.(error, request.request)
  const e = toOciError(error)
  const headers: Record<string, string> = { ...API_VERSION }
  if (e.status === 401) headers['www-authenticate'] = auth && request ? ociChallenge(auth, request) : 'Basic realm="appr-core"'
  if (e.status === 503) headers['retry-after'] = '1'
  const size = (e.detail as { size?: unknown } | null)?.size
  if (e.code === 'RANGE_INVALID' && typeof size === 'number') headers['content-range'] = `bytes */${size}`
  return jsonReply(e.toJSON(), e.status, headers)
}

/** The request body as chunks (none for an empty body). */
async function* bodyChunks(request: HttpRequest): AsyncIterable<Uint8Array> {
  if (request.body) yield* request.body
}

async function readManifestBody(request: HttpRequest): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let total = 0
  for await (const chunk of bodyChunks(request)) {
    total += chunk.byteLength
    if (total > MAX_MANIFEST_BYTES) throw new OciError('SIZE_INVALID', `a manifest is limited to ${MAX_MANIFEST_BYTES} bytes`, { detail: { size: total } })
    parts.push(chunk)
  }
  return new Uint8Array(Buffer.concat(parts))
}

/** `Range: bytes=<start>-[<end>]` (other forms are ignored: the whole blob is served). */
function parseRange(header: string | null): { start: number; end?: number } | undefined {
  const m = header ? /^bytes=(\d{1,15})-(\d{0,15})$/.exec(header.trim()) : null
  if (!m) return undefined
  return m[2] ? { start: Number(m[1]), end: Number(m[2]) } : { start: Number(m[1]) }
}

/** A PATCH's `Content-Range: <start>-<end>` (also with the `bytes ` prefix some clients send). */
function parseContentRange(header: string | null): { start: number; end: number } | undefined {
  if (header === null) return undefined
  const m = /^(?:bytes )?(\d{1,15})-(\d{1,15})(?:\/(?:\d+|\*))?$/.exec(header.trim())
  if (!m) throw new OciError('RANGE_INVALID', `invalid Content-Range '${header.slice(0, 100)}'`)
  return { start: Number(m[1]), end: Number(m[2]) }
}

function pageOptions(query: URLSearchParams): { n?: number; last?: string } {
  const n = query.get('n')
  const last = query.get('last')
  if (n !== null && !/^\d{1,9}$/.test(n)) throw new OciError('PAGINATION_NUMBER_INVALID', `n must be a number, not '${n.slice(0, 20)}'`, { detail: { n: n.slice(0, 20) } })
  return { ...(n === null ? {} : { n: Number(n) }), ...(last === null ? {} : { last }) }
}

function linkHeader(path: string, n: number | undefined, next: string | undefined, kept: Record<string, string> = {}): Record<string, string> {
  if (next === undefined) return {}
  const query = new URLSearchParams({ ...kept, ...(n === undefined ? {} : { n: String(n) }), last: next })
  return { link: `<${path}?${query}>; rel="next"` }
}

const uploadHeaders = (name: string, id: string, size: number, minChunk = 0): Record<string, string> => ({
  ...(minChunk > 0 ? { 'oci-chunk-min-length': String(minChunk) } : {}),
  location: `/v2/${name}/blobs/uploads/${id}`,
  range: `0-${Math.max(size - 1, 0)}`,
  'docker-upload-uuid': id,
  'content-length': '0',
})

const empty = (status: number, headers: Record<string, string> = {}) => reply(status, { 'content-length': '0', ...headers })

/**
 * The OCI Distribution API: every route, in matching order (the upload routes before the blob
 * route that `uploads` would otherwise match as a digest).
 */
export function ociRoutes(
  registry: OciRegistryApi,
  options: Pick<HandlerOptions, 'onError' | 'authenticate' | 'login' | 'ociAuth' | 'ociChunkMinLength'> = {},
): Route[] {
  const auth = ociAuthSettings(options)
  const errorReply = (error: unknown, request: HttpRequest) => ociErrorReply(error, request, options.onError, auth)
  const e = ociEndpoints(registry, options)
  const route = (path: string, methods: Partial<Record<Method, Endpoint>>): Route => ({
    path: `/v2${path}`,
    methods,
    ...(path.includes('*name') ? { package: (params) => params.name ?? '' } : {}),
    errorReply,
  })
  return [
    route('', { GET: e.ping }),
    // Before the repository routes, which never end in `/token` alone but would be tried first.
    route(TOKEN_PATH.slice('/v2'.length), auth.challenge === 'bearer' ? { GET: tokenEndpoint(options), POST: tokenEndpoint(options) } : {}),
    route('/_catalog', { GET: e.catalog }),
    route('/*name/tags/list', { GET: e.tags }),
    route('/*name/manifests/:reference', { GET: e.getManifest, PUT: e.putManifest, DELETE: e.deleteManifest }),
    route('/*name/referrers/:digest', { GET: e.referrers }),
    route('/*name/blobs/uploads', { POST: e.startUpload }),
    route('/*name/blobs/uploads/:id', { GET: e.uploadStatus, PATCH: e.appendUpload, PUT: e.finishUpload, DELETE: e.cancelUpload }),
    route('/*name/blobs/:digest', { GET: e.getBlob, DELETE: e.deleteBlob }),
  ]
}

function ociEndpoints(
  { ociBlobs: blobs, ociManifests: manifests }: OciRegistryApi,
  { authenticate, ociChunkMinLength: minChunk = 0 }: Pick<HandlerOptions, 'authenticate' | 'ociChunkMinLength'>,
) {
  const name = (ctx: RouteContext) => ctx.params.name!
  const chunking = { minChunk }

  // Clients ping /v2/ to learn whether and how to authenticate, and send credentials only after
  // a 401 there (skopeo, docker): with an `authenticate` hook, an anonymous ping is challenged.
  // Reads stay as open as the authorize policy makes them.
  const ping: Endpoint = {
    operation: 'oci-ping',
    public: true,
    run: async ({ req }) => {
      // The anonymous token was handed out on purpose: it answers the ping like credentials.
      if (authenticate && !isAnonymousToken(req) && (await authenticate(req.request)) === undefined) throw new OciError('UNAUTHORIZED', 'authentication required')
      return jsonReply({}, 200, API_VERSION)
    },
  }

  const catalog: Endpoint = {
    operation: 'oci-catalog',
    run: async ({ query }) => {
      const paging = pageOptions(query)
      const page = await manifests.catalog(paging)
      return jsonReply({ repositories: page.items }, 200, linkHeader('/v2/_catalog', paging.n, page.next))
    },
  }

  const tags: Endpoint = {
    operation: 'oci-tags',
    run: async (ctx) => {
      const paging = pageOptions(ctx.query)
      const page = await manifests.tags(name(ctx), paging)
      return jsonReply({ name: name(ctx), tags: page.items }, 200, linkHeader(`/v2/${name(ctx)}/tags/list`, paging.n, page.next))
    },
  }

  const getManifest: Endpoint = {
    operation: 'oci-manifest',
    run: async (ctx) => {
      const found = await manifests.get(name(ctx), ctx.params.reference!)
      if (!found) throw new OciError('MANIFEST_UNKNOWN', `${name(ctx)} has no manifest ${ctx.params.reference}`, { detail: { name: name(ctx), reference: ctx.params.reference } })
      return reply(200, { 'content-type': found.mediaType, 'content-length': String(found.bytes.byteLength), 'docker-content-digest': found.digest }, found.bytes)
    },
  }

  const putManifest: Endpoint = {
    operation: 'oci-manifest',
    run: async (ctx) => {
      const bytes = await readManifestBody(ctx.req)
      const { digest, subject } = await manifests.put(name(ctx), ctx.params.reference!, bytes, ctx.req.headers.get('content-type') ?? undefined)
      return empty(201, { location: `/v2/${name(ctx)}/manifests/${digest}`, 'docker-content-digest': digest, ...(subject ? { 'oci-subject': subject } : {}) })
    },
  }

  const deleteManifest: Endpoint = {
    operation: 'oci-manifest',
    run: async (ctx) => {
      if (!(await manifests.delete(name(ctx), ctx.params.reference!))) {
        throw new OciError('MANIFEST_UNKNOWN', `${name(ctx)} has no manifest ${ctx.params.reference}`, { detail: { name: name(ctx), reference: ctx.params.reference } })
      }
      return empty(202)
    },
  }

  const referrers: Endpoint = {
    operation: 'oci-manifest',
    run: async (ctx) => {
      const artifactType = ctx.query.get('artifactType') ?? undefined
      const filter = artifactType === undefined ? {} : { artifactType }
      const paging = pageOptions(ctx.query)
      const page = await manifests.referrers(name(ctx), ctx.params.digest!, { ...filter, ...paging })
      const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: page.items }
      const link = linkHeader(`/v2/${name(ctx)}/referrers/${ctx.params.digest!}`, paging.n, page.next, filter)
      const answer = jsonReply(index, 200, { ...link, ...(artifactType === undefined ? {} : { 'oci-filters-applied': 'artifactType' }) })
      answer.headers['content-type'] = OCI_INDEX
      return answer
    },
  }

  const blobCreated = (repo: string, digest: string) => empty(201, { location: `/v2/${repo}/blobs/${digest}`, 'docker-content-digest': digest })

  const startUpload: Endpoint = {
    operation: 'oci-upload',
    run: async (ctx) => {
      const repo = name(ctx)
      const mount = ctx.query.get('mount')
      const from = ctx.query.get('from')
      if (mount !== null && from !== null && (await blobs.mount(repo, mount, from))) return blobCreated(repo, mount)
      const session = await blobs.startUpload(repo)
      const digest = ctx.query.get('digest')
      if (digest !== null && mount === null) {
        // Monolithic upload in one POST.
        const blob = await blobs.finishUpload(repo, session.id, digest, bodyChunks(ctx.req))
        return blobCreated(repo, blob.digest)
      }
      return empty(202, uploadHeaders(repo, session.id, 0, minChunk))
    },
  }

  const uploadStatus: Endpoint = {
    operation: 'oci-upload',
    run: async (ctx) => {
      const status = await blobs.uploadStatus(name(ctx), ctx.params.id!)
      return empty(204, uploadHeaders(name(ctx), status.id, status.size))
    },
  }

  const appendUpload: Endpoint = {
    operation: 'oci-upload',
    run: async (ctx) => {
      const range = parseContentRange(ctx.req.headers.get('content-range'))
      const status = await blobs.appendUpload(name(ctx), ctx.params.id!, bodyChunks(ctx.req), range, chunking)
      return empty(202, uploadHeaders(name(ctx), status.id, status.size))
    },
  }

  const finishUpload: Endpoint = {
    operation: 'oci-upload',
    run: async (ctx) => {
      const digest = ctx.query.get('digest')
      if (digest === null) throw new OciError('DIGEST_INVALID', 'completing an upload needs ?digest=')
      const blob = await blobs.finishUpload(name(ctx), ctx.params.id!, digest, bodyChunks(ctx.req), chunking)
      return blobCreated(name(ctx), blob.digest)
    },
  }

  const cancelUpload: Endpoint = {
    operation: 'oci-upload',
    run: async (ctx) => {
      await blobs.cancelUpload(name(ctx), ctx.params.id!)
      return empty(204)
    },
  }

  const blobUnknown = (ctx: RouteContext) => new OciError('BLOB_UNKNOWN', `${name(ctx)} has no blob ${ctx.params.digest}`, { detail: { name: name(ctx), digest: ctx.params.digest } })

  const getBlob: Endpoint = {
    operation: 'oci-blob',
    run: async (ctx) => {
      const range = parseRange(ctx.req.headers.get('range'))
      const read = await blobs.get(name(ctx), ctx.params.digest!, range)
      if (!read) throw blobUnknown(ctx)
      const headers: Record<string, string> = {
        'content-type': 'application/octet-stream',
        'docker-content-digest': read.digest,
        'accept-ranges': 'bytes',
      }
      if (read.range) {
        headers['content-range'] = `bytes ${read.range.start}-${read.range.end}/${read.size}`
        headers['content-length'] = String(read.range.end - read.range.start + 1)
        return reply(206, headers, read.stream)
      }
      headers['content-length'] = String(read.size)
      return reply(200, headers, read.stream)
    },
  }

  const deleteBlob: Endpoint = {
    operation: 'oci-blob',
    run: async (ctx) => {
      if (!(await blobs.delete(name(ctx), ctx.params.digest!))) throw blobUnknown(ctx)
      return empty(202)
    },
  }

  return { ping, catalog, tags, getManifest, putManifest, deleteManifest, referrers, startUpload, uploadStatus, appendUpload, finishUpload, cancelUpload, getBlob, deleteBlob }
}
