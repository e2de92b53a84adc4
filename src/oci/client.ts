/**
 * A small OCI Distribution client on `fetch`: ping, blobs (HEAD, GET with verification or a
 * range, monolithic and chunked uploads, cross-repository mount, DELETE), manifests (GET, HEAD,
 * PUT, DELETE, with `Accept` of every manifest type), tags and catalog with paging, and auth as
 * registries ask for it: Basic, or a Bearer token fetched from the realm a `WWW-Authenticate`
 * challenge names (with the Basic credentials, when given) and reused per repository and access.
 *
 * Everything received is verified: blob bytes against their digest, manifest bytes against the
 * digest asked for or the `Docker-Content-Digest` the registry reports.
 * @module
 */

import { sha256 } from '../digest/index.js'
import { ApprError } from '../errors/index.js'
import { deletedOrAbsent, discard, errorOf, pageOf, readLimited, responseChunks, verified } from './client-responses.js'
import { basicHeader, type Challenge, chunkSizeFor, parseChallenge } from './client-headers.js'
import type { OciClient, OciClientOptions, OciPage, OciPageOptions } from './client-types.js'
import { ociDigestOf, parseOciDigest } from './digest.js'
import { OciError } from './errors.js'
import { ACCEPT_MANIFESTS, OCI_INDEX } from './media-types.js'
import { parseReference, parseRepositoryName } from './reference.js'
import { MAX_MANIFEST_BYTES, type OciDescriptor, parseManifest } from './schemas.js'

export type { OciAuth, OciBasicAuth, OciBlob, OciBlobInfo, OciClient, OciClientOptions, OciManifest, OciManifestInfo, OciPage, OciPageOptions, OciTokenAuth } from './client-types.js'

const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
/**
 * Bytes up to this size are uploaded in one request by {@link OciClient.pushBlob} (and not asked
 * about first by {@link OciClient.ensureBlob}); a registry that lacks the single-request upload
 * receives them twice at most.
 */
export const MONOLITHIC_POST_BYTES = 64 * 1024
/** Referrers pages followed before giving up (a registry whose `Link` never ends). */
const MAX_REFERRERS_PAGES = 1000
/**
 * Creates an OCI Distribution client for one registry.
 *
 * Bad arguments (repository name, digest, reference) throw {@link OciError} (`NAME_INVALID`,
 * `DIGEST_INVALID`, `TAG_INVALID`) before any request; error answers throw an {@link OciError}
 * with the registry's code and status; a registry that cannot be reached is
 * `ApprError('unavailable', { transient: true })`.
 * @example
 * ```ts
 * const oci = ociClient({ url: 'http://127.0.0.1:5000', auth: { username: 'ci', password: secret } })
 * const { digest } = await oci.pushBlob('acme/nginx', chartBytes)
 * for await (const tag of oci.tags('acme/nginx')) console.log(tag)
 * ```
 */
export function ociClient(options: OciClientOptions): OciClient {
  const base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`)
  const doFetch = options.fetch ?? fetch
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES
  const auth = options.auth
  const basic = auth && 'username' in auth ? auth : undefined
  // Tokens per repository and access kind, and whether the registry wants Basic: state of this
  // client only, learnt from challenges.
  const tokens = new Map<string, string>()
  let sendBasic = false

  const v2 = (path: string) => new URL(`v2/${path}`, base)

  async function fetchToken(challenge: Challenge): Promise<string> {
    const realm = challenge.params.get('realm')
    if (!realm) throw new OciError('UNAUTHORIZED', 'the registry asked for a Bearer token without naming a realm', { status: 401 })
    const url = new URL(realm)
    const service = challenge.params.get('service')
    if (service) url.searchParams.set('service', service)
    for (const scope of (challenge.params.get('scope') ?? '').split(' ').filter(Boolean)) url.searchParams.append('scope', scope)
    const res = await call(url, { headers: basic ? { authorization: basicHeader(basic) } : {} })
    if (!res.ok) throw await errorOf(res, 'token request')
    const body = (await res.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown }
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined
    if (!token) throw new OciError('UNAUTHORIZED', 'the token endpoint answered without a token', { status: 401 })
    return token
  }

  async function call(url: URL, init: RequestInit): Promise<Response> {
    try {
      return await doFetch(url, init)
    } catch (cause) {
      throw new ApprError('unavailable', `the OCI registry at ${base.origin} cannot be reached`, { cause, transient: true })
    }
  }

  /** Sends a request, answering one auth challenge. `access` keys the token cache. */
  async function send(method: string, url: URL, access: string, init: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Response> {
    const attempt = (authorization: string | undefined) => {
      const headers: Record<string, string> = { ...init.headers }
      if (authorization) headers.authorization = authorization
      return call(url, { method, headers, ...(init.body ? { body: init.body as Uint8Array<ArrayBuffer> } : {}) })
    }
    const current = () => {
      if (auth && 'token' in auth) return `Bearer ${auth.token}`
      const token = tokens.get(access)
      if (token) return `Bearer ${token}`
      return sendBasic && basic ? basicHeader(basic) : undefined
    }
    const first = current()
    const res = await attempt(first)
    if (res.status !== 401 || (auth && 'token' in auth)) return res
    const challenge = parseChallenge(res.headers.get('www-authenticate'))
    if (challenge?.scheme === 'bearer') {
      await discard(res)
      const token = await fetchToken(challenge)
      tokens.set(access, token)
      return attempt(`Bearer ${token}`)
    }
    if (challenge?.scheme === 'basic' && basic && first === undefined) {
      await discard(res)
      sendBasic = true
      return attempt(basicHeader(basic))
    }
    return res
  }

  async function putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<{ digest: string; res: Response }> {
    parseRepositoryName(repository)
    const ref = parseReference(reference)
    const digest = ociDigestOf(bytes)
    if (ref.kind === 'digest' && ref.digest !== digest) {
      throw new OciError('DIGEST_INVALID', `the manifest has digest ${digest}, not ${ref.digest}`, { detail: { expected: ref.digest, actual: digest } })
    }
    const res = await send('PUT', v2(`${repository}/manifests/${reference}`), push(repository), { headers: { 'content-type': mediaType }, body: bytes })
    if (res.status !== 201) throw await errorOf(res, `PUT manifest ${reference}`)
    await discard(res)
    const reported = res.headers.get('docker-content-digest')
    if (reported && reported !== digest) {
      throw new OciError('DIGEST_INVALID', `the registry stored the manifest as ${reported}, its digest is ${digest}`, { detail: { expected: digest, actual: reported } })
    }
    return { digest, res }
  }

  const pull = (repository: string) => `${repository}:pull`
  const push = (repository: string) => `${repository}:push`

  async function startUpload(repository: string, query = ''): Promise<Response> {
    const res = await send('POST', v2(`${repository}/blobs/uploads/${query}`), push(repository), { headers: { 'content-length': '0' } })
    if (res.status !== 202 && res.status !== 201) throw await errorOf(res, `starting an upload to ${repository}`)
    return res
  }

  /** The spec's single-request upload; a registry without it answers 202 and a session to finish. */
  async function postBlob(repository: string, digest: string, body: Uint8Array): Promise<Response> {
    const res = await send('POST', v2(`${repository}/blobs/uploads/?digest=${encodeURIComponent(digest)}`), push(repository), {
      headers: { 'content-type': 'application/octet-stream' },
      body,
    })
    if (res.status !== 202 && res.status !== 201) throw await errorOf(res, `uploading ${digest} to ${repository}`)
    return res
  }

  function locationOf(res: Response, url: URL): URL {
    const location = res.headers.get('location')
    if (!location) throw new OciError('BLOB_UPLOAD_INVALID', 'the registry answered an upload step without a Location', { status: 502 })
    return new URL(location, url)
  }

  async function finishUpload(repository: string, location: URL, digest: string, body: Uint8Array): Promise<void> {
    const url = new URL(location)
    url.searchParams.set('digest', digest)
    const res = await send('PUT', url, push(repository), { headers: { 'content-type': 'application/octet-stream' }, body })
    if (res.status !== 201) throw await errorOf(res, `completing the upload of ${digest}`)
    await discard(res)
  }

  async function cancelUpload(repository: string, location: URL): Promise<void> {
    const res = await send('DELETE', location, push(repository)).catch(() => undefined)
    if (res) await discard(res)
  }

  async function* listPages(page: (last: string | undefined) => Promise<OciPage>): AsyncIterable<string> {
    let last: string | undefined
    for (;;) {
      const { items, next } = await page(last)
      yield* items
      if (next === undefined || items.length === 0 || next === last) return
      last = next
    }
  }

  async function tagsPage(repository: string, paging: OciPageOptions = {}): Promise<OciPage> {
    parseRepositoryName(repository)
    const url = v2(`${repository}/tags/list`)
    if (paging.n !== undefined) url.searchParams.set('n', String(paging.n))
    if (paging.last !== undefined) url.searchParams.set('last', paging.last)
    const res = await send('GET', url, pull(repository))
    if (!res.ok) throw await errorOf(res, `listing the tags of ${repository}`)
    const body = (await res.json()) as { tags?: unknown }
    return pageOf(res, url, body.tags)
  }

  const client: OciClient = {
    url: base.href,

    async ping() {
      const res = await send('GET', v2(''), 'ping')
      if (!res.ok) throw await errorOf(res, 'GET /v2/')
      await discard(res)
    },

    async headBlob(repository, digest) {
      parseRepositoryName(repository)
      parseOciDigest(digest)
      const res = await send('HEAD', v2(`${repository}/blobs/${digest}`), pull(repository))
      await discard(res)
      if (res.status === 404) return undefined
      if (!res.ok) throw await errorOf(res, `HEAD blob ${digest}`)
      return { digest, size: Number(res.headers.get('content-length') ?? 0) }
    },

    async getBlob(repository, digest, getOptions = {}) {
      parseRepositoryName(repository)
      parseOciDigest(digest)
      const range = getOptions.range
      const headers: Record<string, string> = range ? { range: `bytes=${range.start}-${range.end ?? ''}` } : {}
      const res = await send('GET', v2(`${repository}/blobs/${digest}`), pull(repository), { headers })
      if (res.status === 404) {
        await discard(res)
        return undefined
      }
      if (!res.ok) throw await errorOf(res, `GET blob ${digest}`)
      const length = Number(res.headers.get('content-length') ?? Number.NaN)
      if (range && res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '')
        const start = m ? Number(m[1]) : range.start
        const end = m ? Number(m[2]) : start + length - 1
        const total = m && m[3] !== '*' ? Number(m[3]) : undefined
        return { digest, size: end - start + 1, body: responseChunks(res), range: { start, end, ...(total === undefined ? {} : { total }) } }
      }
      // A registry that ignores Range serves the whole blob, which is then verified like any full read.
      const size = Number.isFinite(length) ? length : undefined
      return { digest, size: size ?? -1, body: verified(responseChunks(res), digest, size) }
    },

    async pushBlob(repository, bytes, pushOptions = {}) {
      parseRepositoryName(repository)
      const digest = ociDigestOf(bytes)
      if (pushOptions.digest !== undefined && parseOciDigest(pushOptions.digest) && pushOptions.digest !== digest) {
        throw new OciError('DIGEST_INVALID', `the bytes have digest ${digest}, not ${pushOptions.digest}`, { detail: { expected: pushOptions.digest, actual: digest } })
      }
      const small = bytes.byteLength <= MONOLITHIC_POST_BYTES
      const started = small ? await postBlob(repository, digest, bytes) : await startUpload(repository)
      if (started.status !== 201) {
        const location = locationOf(started, v2(`${repository}/blobs/uploads/`))
        await discard(started)
        await finishUpload(repository, location, digest, bytes)
      } else await discard(started)
      return { digest, size: bytes.byteLength }
    },

    async ensureBlob(repository, bytes, ensureOptions = {}) {
      if (bytes.byteLength > MONOLITHIC_POST_BYTES) {
        const digest = ensureOptions.digest ?? ociDigestOf(bytes)
        const present = await client.headBlob(repository, digest)
        if (present) return present
      }
      return client.pushBlob(repository, bytes, ensureOptions)
    },

    async pushBlobStream(repository, chunks, streamOptions = {}) {
      parseRepositoryName(repository)
      if (streamOptions.digest !== undefined) parseOciDigest(streamOptions.digest)
      const started = await startUpload(repository)
      let location = locationOf(started, v2(`${repository}/blobs/uploads/`))
      await discard(started)
      let chunkSize: number
      try {
        chunkSize = chunkSizeFor(started, chunkBytes)
      } catch (e) {
        await cancelUpload(repository, location)
        throw e
      }
      const hash = sha256()
      let offset = 0
      let pending: Uint8Array[] = []
      let pendingBytes = 0
      // Sends the first `n` pending bytes as one PATCH; the rest stays pending.
      const flush = async (n: number) => {
        if (n === 0) return
        // One pending piece (a large chunk being cut up) is sliced, not copied again.
        const all = pending.length === 1 ? pending[0]! : new Uint8Array(Buffer.concat(pending, pendingBytes))
        const body = all.subarray(0, n)
        const rest = all.subarray(n)
        pending = rest.byteLength > 0 ? [rest] : []
        pendingBytes = rest.byteLength
        const res = await send('PATCH', location, push(repository), {
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + body.byteLength - 1}` },
          body,
        })
        if (res.status !== 202) throw await errorOf(res, `uploading bytes ${offset}- of a blob`)
        location = locationOf(res, location)
        await discard(res)
        offset += body.byteLength
      }
      try {
        for await (const chunk of chunks) {
          // Copied: the caller may reuse its buffer once we asked for the next chunk.
          const copy = new Uint8Array(chunk)
          hash.update(copy)
          pending.push(copy)
          pendingBytes += copy.byteLength
          while (pendingBytes >= chunkSize) await flush(chunkSize)
        }
        await flush(pendingBytes)
        const digest = `sha256:${hash.hex()}`
        if (streamOptions.digest !== undefined && streamOptions.digest !== digest) {
          throw new OciError('DIGEST_INVALID', `the stream had digest ${digest}, not ${streamOptions.digest}`, { detail: { expected: streamOptions.digest, actual: digest } })
        }
        await finishUpload(repository, location, digest, new Uint8Array(0))
        return { digest, size: offset }
      } catch (e) {
        await cancelUpload(repository, location)
        throw e
      }
    },

    async mountBlob(repository, digest, from) {
      parseRepositoryName(repository)
      parseRepositoryName(from)
      parseOciDigest(digest)
      const res = await startUpload(repository, `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`)
      if (res.status === 201) {
        await discard(res)
        return true
      }
      await discard(res)
      await cancelUpload(repository, locationOf(res, v2(`${repository}/blobs/uploads/`)))
      return false
    },

    async deleteBlob(repository, digest) {
      parseRepositoryName(repository)
      parseOciDigest(digest)
      return deletedOrAbsent(await send('DELETE', v2(`${repository}/blobs/${digest}`), `${repository}:delete`), `DELETE blob ${digest}`)
    },

    async getManifest(repository, reference, getOptions = {}) {
      parseRepositoryName(repository)
      const ref = parseReference(reference)
      const res = await send('GET', v2(`${repository}/manifests/${reference}`), pull(repository), { headers: { accept: getOptions.accept ?? ACCEPT_MANIFESTS } })
      if (res.status === 404) {
        await discard(res)
        return undefined
      }
      if (!res.ok) throw await errorOf(res, `GET manifest ${reference}`)
      const bytes = await readLimited(res, MAX_MANIFEST_BYTES)
      const digest = ociDigestOf(bytes)
      const claimed = ref.kind === 'digest' ? ref.digest : res.headers.get('docker-content-digest')
      if (claimed && claimed !== digest) {
        throw new OciError('DIGEST_INVALID', `the registry served manifest bytes with digest ${digest} for ${claimed}`, { detail: { expected: claimed, actual: digest } })
      }
      const mediaType = res.headers.get('content-type')?.split(';')[0]?.trim() ?? ''
      return { mediaType, digest, bytes }
    },

    async headManifest(repository, reference, headOptions = {}) {
      parseRepositoryName(repository)
      parseReference(reference)
      const res = await send('HEAD', v2(`${repository}/manifests/${reference}`), pull(repository), { headers: { accept: headOptions.accept ?? ACCEPT_MANIFESTS } })
      await discard(res)
      if (res.status === 404) return undefined
      if (!res.ok) throw await errorOf(res, `HEAD manifest ${reference}`)
      return {
        mediaType: res.headers.get('content-type')?.split(';')[0]?.trim() ?? '',
        digest: res.headers.get('docker-content-digest') ?? '',
        size: Number(res.headers.get('content-length') ?? 0),
      }
    },

    async putManifest(repository, reference, bytes, mediaType) {
      return (await putManifest(repository, reference, bytes, mediaType)).digest
    },

    async putReferrer(repository, bytes, mediaType) {
      const subject = parseManifest(bytes, mediaType).subject
      if (!subject) throw new OciError('MANIFEST_INVALID', 'a referrer has a subject', { detail: null })
      const { digest, res } = await putManifest(repository, ociDigestOf(bytes), bytes, mediaType)
      return { digest, indexed: res.headers.get('oci-subject') === subject.digest }
    },

    async referrers(repository, digest, referrersOptions = {}) {
      parseRepositoryName(repository)
      parseOciDigest(digest)
      let url: URL | undefined = v2(`${repository}/referrers/${digest}`)
      if (referrersOptions.artifactType !== undefined) url.searchParams.set('artifactType', referrersOptions.artifactType)
      const found: OciDescriptor[] = []
      for (let page = 0; url !== undefined; page++) {
        if (page === MAX_REFERRERS_PAGES) throw new OciError('UNKNOWN', `the referrers of ${digest} run past ${MAX_REFERRERS_PAGES} pages`, { status: 502 })
        const res = await send('GET', url, pull(repository), { headers: { accept: OCI_INDEX } })
        if (res.status === 404 && page === 0) {
          await discard(res)
          return undefined
        }
        if (!res.ok) throw await errorOf(res, `GET referrers of ${digest}`)
        found.push(...parseManifest(await readLimited(res, MAX_MANIFEST_BYTES), OCI_INDEX).manifests)
        // The spec's paging: follow `Link: <…>; rel="next"` (same registry only) until there is none.
        const link = /<([^>]*)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')
        const next: URL | undefined = link ? new URL(link[1]!, url) : undefined
        url = next && next.origin === base.origin ? next : undefined
      }
      const wanted = referrersOptions.artifactType
      // A registry may ignore the filter (it says so by leaving out OCI-Filters-Applied).
      return found.filter((d) => wanted === undefined || d.artifactType === wanted)
    },

    async deleteManifest(repository, reference) {
      parseRepositoryName(repository)
      parseReference(reference)
      return deletedOrAbsent(await send('DELETE', v2(`${repository}/manifests/${reference}`), `${repository}:delete`), `DELETE manifest ${reference}`)
    },

    tagsPage,

    tags(repository, tagOptions = {}) {
      return listPages((last) => tagsPage(repository, { ...(tagOptions.pageSize === undefined ? {} : { n: tagOptions.pageSize }), ...(last === undefined ? {} : { last }) }))
    },

    async catalogPage(paging = {}) {
      const url = v2('_catalog')
      if (paging.n !== undefined) url.searchParams.set('n', String(paging.n))
      if (paging.last !== undefined) url.searchParams.set('last', paging.last)
      const res = await send('GET', url, 'catalog')
      if (!res.ok) throw await errorOf(res, 'listing the catalog')
      const body = (await res.json()) as { repositories?: unknown }
      return pageOf(res, url, body.repositories)
    },
  }
  return client
}
