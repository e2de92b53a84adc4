/**
 * `createClient`: every route of the appr API v1 (and appr-core's extensions) as a typed method.
 * Requests go through `transport.ts`; bodies and progress through `streams.ts`.
 * @module
 */
import { ApprError } from '../errors/index.js'
import type { Channel, Manifest, ManifestWithChannels, PackageSummary, Signature } from '../model/types.js'
import type { EventPage } from '../registry/events/types.js'
import type { GcResult, RegistryStats, RestoreProgress } from '../registry/types.js'
import { type ProgressCallback, base64Stream, chunksOf, collect, counted, slices, toReadable } from './streams.js'
import { type CallOptions, type ClientOptions, type Outgoing, createTransport } from './transport.js'

/** A package's own manifest as `show(…, { contents: true })` adds it (Chart.yaml or manifest.yaml fields). */
export interface PackageManifest {
  readonly path: string
  readonly kind: string
  readonly name?: string
  readonly version?: string
  readonly appVersion?: string
  readonly description?: string
  readonly error?: string
  readonly [field: string]: unknown
}

/** A manifest as `show` answers it: channels, and appr-core's manifest digest and signatures (docs/trust.md). */
export interface ShownManifest extends ManifestWithChannels {
  /** `sha256:<hex>` of the manifest's canonical form, when the server computes it. */
  readonly manifest_digest?: string
  /** With `show(…, { contents: true })`: the package's own manifest, or null. */
  readonly package_manifest?: PackageManifest | null
}

/** Which release of a package: a release or query (default `default`, the highest), or a channel's current one. */
export interface ReleaseSelector {
  /** An exact release or a query (`>=1.0,<2`, `1`, `default`). */
  readonly release?: string
  /** Takes the channel's current release (wins over `release`). */
  readonly channel?: string
  /** `helm`, `kpm`, … (default `-`: the release's only format). */
  readonly format?: string
}

/** A download in progress: the body is read once, as a stream or whole. */
export interface Download {
  /** The bytes, with `onProgress` called as they are read. */
  readonly body: ReadableStream<Uint8Array>
  /** `Content-Length`, when the server sent it. */
  readonly size: number | undefined
  /** The name the server suggests (`Content-Disposition`), with path separators replaced. */
  readonly filename: string | undefined
  /** Reads the whole body. */
  bytes(): Promise<Uint8Array>
}

/** A pulled release: its manifest and its bytes. */
export interface PullResult extends Download {
  readonly manifest: ShownManifest
}

/** What a push sends. */
export interface PushInput extends CallOptions {
  /** Exact SemVer release. */
  readonly release: string
  /** `helm`, `kpm`, … or a full media type (default `kpm`, as appr). */
  readonly format?: string
  /**
   * The gzipped tarball. Bytes and Blobs are sent as one body (and retried on 503); streams are
   * sent as they are read (`duplex: 'half'`; browsers allow that over HTTP/2 only) and not retried.
   */
  readonly blob: Uint8Array | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>
  /** Free JSON stored with the release. */
  readonly metadata?: unknown
  /** Overwrite an existing release of that format. */
  readonly force?: boolean
  /** Signatures stored with the release (docs/trust.md). */
  readonly signatures?: readonly Signature[]
  /** The blob's size, for progress of a stream. */
  readonly size?: number
  /** Called as the blob is sent (for bytes and Blobs, once it has been accepted). */
  readonly onProgress?: ProgressCallback
}

/** A page of a paged listing: its items under `key`, and `next`, the `after` of the following page. */
export type Page<K extends string, T> = { readonly [key in K]: T[] } & { readonly next?: string }

/** Options of downloads. */
export interface DownloadOptions extends CallOptions {
  readonly onProgress?: ProgressCallback
}

/** A release as appr's JSON routes send it (`…/pull/json`, `…/blobs/sha256/<digest>/json`): the archive in base64. */
export interface JsonBlob {
  readonly package: string
  /** The gzipped archive, base64. */
  readonly blob: string
  /** The release (for a blob, its digest). */
  readonly release: string
  readonly media_type?: string
  readonly filename: string
}

/** What {@link ApprClient.admin}.restore sends: a backup as one JSON document, or streamed as NDJSON. */
export interface RestoreInput {
  readonly format: 'json' | 'ndjson'
  /** A JSON document can be sent again after a 503; a stream is sent as it is read and not retried. */
  readonly body: string | Uint8Array | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>
}

/** The typed appr client. Create one with {@link createClient}. */
export interface ApprClient {
  /** `…/api/v1` of the registry. */
  readonly api: string
  /** `GET /version`: the server's appr API version. */
  version(options?: CallOptions): Promise<{ readonly 'appr-api': string }>
  /** `GET /api/v1/packages`: every package (optionally filtered). */
  list(filters?: { readonly namespace?: string; readonly query?: string; readonly format?: string }, options?: CallOptions): Promise<PackageSummary[]>
  /**
   * One page of `GET /api/v1/packages` (appr-core's `limit`/`after`): `next` is the `after` of
   * the following page, absent on the last one.
   */
  listPage(
    filters?: { readonly namespace?: string; readonly query?: string; readonly format?: string; readonly limit?: number; readonly after?: string },
    options?: CallOptions,
  ): Promise<Page<'packages', PackageSummary>>
  /** One page of `GET /api/v1/namespaces` (appr-core): the namespaces holding packages. */
  namespaces(page?: { readonly limit?: number; readonly after?: string }, options?: CallOptions): Promise<Page<'namespaces', string>>
  /** `GET /api/v1/packages/search?q=`: names containing `query`. */
  search(query: string, options?: CallOptions): Promise<string[]>
  /** Every release of a package (optionally of one format), as manifests. */
  releases(pkg: string, filters?: { readonly format?: string }, options?: CallOptions): Promise<Manifest[]>
  /** The manifests (one per format) of a release or query. */
  manifests(pkg: string, release: string, options?: CallOptions): Promise<Manifest[]>
  /**
   * A release's manifest; `contents: true` adds the package's own manifest read by the server.
   * A `channel` is followed to its current release.
   */
  show(pkg: string, selector?: ReleaseSelector & { readonly contents?: boolean }, options?: CallOptions): Promise<ShownManifest>
  /** A release's manifest by its manifest digest (`sha256:<hex>`). */
  manifest(pkg: string, digest: string, options?: CallOptions): Promise<ShownManifest>
  /** Resolves `selector` (as {@link ApprClient.show}) and downloads that release. */
  pull(pkg: string, selector?: ReleaseSelector, options?: DownloadOptions): Promise<PullResult>
  /** Downloads one format of a release (or query) without asking for its manifest first. */
  pullRelease(pkg: string, release: string, format: string, options?: DownloadOptions): Promise<Download>
  /** Downloads a blob of the package by its digest (hex sha256). */
  blob(pkg: string, digest: string, options?: DownloadOptions): Promise<Download>
  /** `GET …/<release>/<format>/pull/json`: appr's JSON pull, the archive in base64 (read whole). */
  pullJson(pkg: string, release: string, format: string, options?: CallOptions): Promise<JsonBlob>
  /** `GET …/blobs/sha256/<digest>/json`: a blob as appr's JSON, in base64. */
  blobJson(pkg: string, digest: string, options?: CallOptions): Promise<JsonBlob>
  /**
   * One page of the change feed (appr-core, served with `events: true`; docs/events.md): the
   * events after `after`; with `wait` (seconds, at most 30) an empty page is held until one comes.
   * The call's timeout grows by `wait`.
   */
  events(page?: { readonly after?: string; readonly limit?: number; readonly wait?: number }, options?: CallOptions): Promise<EventPage>
  /** The admin routes (appr-core, served with `admin: true`; a principal with the `admin` scope). */
  readonly admin: {
    /** `GET /api/v1/admin/stats`. */
    stats(options?: CallOptions): Promise<RegistryStats>
    /** `POST /api/v1/admin/gc`. A large store may take long: pass a `timeoutMs` (0: none). */
    gc(options?: CallOptions): Promise<GcResult>
    /** `GET /api/v1/admin/backup?format=`: the backup as a download (NDJSON by default, streamed). */
    backup(format?: 'json' | 'ndjson', options?: DownloadOptions): Promise<Download>
    /** `POST /api/v1/admin/restore`: `{ status }` for a JSON document, the counts for NDJSON. */
    restore(input: RestoreInput, options?: CallOptions): Promise<RestoreProgress | { readonly status: string }>
  }
  /** Uploads a release. */
  push(pkg: string, input: PushInput): Promise<{ readonly status: string }>
  /** Deletes one format of a release. */
  delete(pkg: string, release: string, format: string, options?: CallOptions): Promise<{ readonly status: string; readonly package: string; readonly release: string }>
  /** `POST /api/v1/users/login` (when the server enables it): the token to use. */
  login(username: string, password: string, options?: CallOptions): Promise<string>
  /** Signatures of a release's manifest digest (docs/trust.md). */
  readonly signatures: {
    list(pkg: string, release: string, format: string, options?: CallOptions): Promise<Signature[]>
    add(pkg: string, release: string, format: string, signatures: readonly Signature[], options?: CallOptions): Promise<unknown>
    remove(pkg: string, release: string, format: string, keyid: string, options?: CallOptions): Promise<unknown>
  }
  readonly channels: {
    list(pkg: string, options?: CallOptions): Promise<Channel[]>
    show(pkg: string, channel: string, options?: CallOptions): Promise<Channel>
    /** Adds a release; it becomes the channel's current one (the channel is created if needed). */
    add(pkg: string, channel: string, release: string, options?: CallOptions): Promise<Channel>
    /** Removes a release; removing the last deletes the channel. */
    remove(pkg: string, channel: string, release: string, options?: CallOptions): Promise<unknown>
    delete(pkg: string, channel: string, options?: CallOptions): Promise<unknown>
  }
}

const encoder = new TextEncoder()

/** Bytes encoded per base64 string when a whole blob is sent: a multiple of 3, so no padding inside. */
const BASE64_SLICE = 3 * 64 * 1024

/**
 * A client of the appr API v1 on `fetch` alone: browsers, Deno, Bun and Node 20.
 *
 * @example
 * ```ts
 * import { createClient } from 'appr-core/client'
 *
 * const appr = createClient({ registry: 'https://registry.example', token })
 * const { manifest, body } = await appr.pull('acme/nginx', { channel: 'stable' })
 * ```
 */
export function createClient(options: ClientOptions): ApprClient {
  const transport = createTransport(options)
  const send = transport.send

  async function getJson<T>(request: Outgoing, call?: CallOptions): Promise<T> {
    return (await (await send(request, call)).json()) as T
  }

  async function page<K extends string, T>(key: K, request: Outgoing, call?: CallOptions): Promise<Page<K, T>> {
    const response = await send(request, call)
    const items = (await response.json()) as T[]
    // The server's `Link: <…?after=X>; rel="next"` carries the cursor.
    const link = /<([^>]*)>\s*;\s*rel="?next"?/.exec(response.headers.get('link') ?? '')
    const next = link ? new URL(link[1]!, 'http://x').searchParams.get('after') : null
    return { [key]: items, ...(next === null ? {} : { next }) } as Page<K, T>
  }

  async function download(request: Outgoing, call: DownloadOptions): Promise<Download> {
    const response = await send(request, call)
    const length = Number(response.headers.get('content-length') ?? Number.NaN)
    const size = Number.isFinite(length) ? length : undefined
    const raw = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() })
    // Cancelled before its first read, the counting generator never touched `raw`: cancel it here.
    const body = toReadable(counted(chunksOf(raw), size, call.onProgress), async (reason) => {
      if (!raw.locked) await raw.cancel(reason)
    })
    const disposition = /filename="?([^";]+)"?/.exec(response.headers.get('content-disposition') ?? '')
    return { body, size, filename: disposition?.[1]?.replace(/[/\\]/g, '_'), bytes: () => collect(body) }
  }

  async function show(pkg: string, selector: ReleaseSelector & { readonly contents?: boolean } = {}, call?: CallOptions) {
    let release = selector.release ?? 'default'
    if (selector.channel !== undefined) {
      release = (await getJson<Channel>({ path: packagePath(pkg, 'channels', selector.channel) }, call)).current
    }
    return getJson<ShownManifest>(
      { path: packagePath(pkg, release, selector.format ?? '-'), query: { contents: selector.contents ? 'true' : undefined } },
      call,
    )
  }

  return {
    api: transport.api,
    version: (call) => getJson({ path: '/version', fromRoot: true }, call),
    list: (filters = {}, call) =>
      getJson({ path: '/packages', query: { namespace: filters.namespace, query: filters.query, media_type: filters.format } }, call),
    listPage: (filters = {}, call) =>
      page('packages', {
        path: '/packages',
        query: {
          namespace: filters.namespace,
          query: filters.query,
          media_type: filters.format,
          limit: String(filters.limit ?? 100),
          after: filters.after,
        },
      }, call),
    namespaces: (options = {}, call) => page('namespaces', { path: '/namespaces', query: { limit: String(options.limit ?? 1000), after: options.after } }, call),
    search: (query, call) => getJson({ path: '/packages/search', query: { q: query } }, call),
    releases: (pkg, filters = {}, call) => getJson({ path: packagePath(pkg), query: { media_type: filters.format } }, call),
    manifests: (pkg, release, call) => getJson({ path: packagePath(pkg, release) }, call),
    show,
    manifest: (pkg, digest, call) => getJson({ path: packagePath(pkg, 'manifests', digest) }, call),
    async pull(pkg, selector = {}, call = {}) {
      const manifest = await show(pkg, selector, call)
      return { manifest, ...(await download({ path: packagePath(pkg, manifest.release, formatOf(manifest.mediaType), 'pull') }, call)) }
    },
    pullRelease: (pkg, release, format, call = {}) => download({ path: packagePath(pkg, release, format, 'pull') }, call),
    blob: (pkg, digest, call = {}) => download({ path: packagePath(pkg, 'blobs', 'sha256', digest) }, call),
    pullJson: (pkg, release, format, call) => getJson({ path: packagePath(pkg, release, format, 'pull', 'json') }, call),
    blobJson: (pkg, digest, call) => getJson({ path: packagePath(pkg, 'blobs', 'sha256', digest, 'json') }, call),
    events(page = {}, call = {}) {
      // A held page answers after up to `wait` seconds: that wait is not silence.
      const base = options.timeoutMs ?? 30_000
      const waitMs = (page.wait ?? 0) * 1000
      const timeoutMs = call.timeoutMs ?? (base > 0 && waitMs > 0 ? base + waitMs : base)
      const query = { after: page.after, limit: page.limit === undefined ? undefined : String(page.limit), wait: page.wait === undefined ? undefined : String(page.wait) }
      return getJson({ path: '/events', query }, { ...call, timeoutMs })
    },
    admin: {
      stats: (call) => getJson({ path: '/admin/stats' }, call),
      gc: (call) => getJson({ method: 'POST', path: '/admin/gc' }, call),
      backup: (format = 'ndjson', call = {}) => download({ path: '/admin/backup', query: { format } }, call),
      restore(input, call) {
        const headers = { 'Content-Type': input.format === 'json' ? 'application/json' : 'application/x-ndjson' }
        const { body } = input
        const whole = typeof body === 'string' || body instanceof Uint8Array || (typeof Blob !== 'undefined' && body instanceof Blob)
        const request: Outgoing = whole
          ? { method: 'POST', path: '/admin/restore', headers, body: body as BodyInit }
          : { method: 'POST', path: '/admin/restore', headers, body: toReadable(chunksOf(body as ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>)), streamed: true }
        return getJson(request, call)
      },
    },
    push: (pkg, input) => push(send, pkg, input),
    delete: (pkg, release, format, call) => getJson({ method: 'DELETE', path: packagePath(pkg, release, format) }, call),
    async login(username, password, call) {
      const body = JSON.stringify({ user: { username, password } })
      const result = await getJson<{ token: string }>({ method: 'POST', path: '/users/login', body, headers: { 'Content-Type': 'application/json' } }, call)
      return result.token
    },
    signatures: {
      list: (pkg, release, format, call) => getJson({ path: packagePath(pkg, release, format, 'signatures') }, call),
      add: (pkg, release, format, signatures, call) =>
        getJson(
          { method: 'POST', path: packagePath(pkg, release, format, 'signatures'), body: JSON.stringify({ signatures }), headers: { 'Content-Type': 'application/json' } },
          call,
        ),
      remove: (pkg, release, format, keyid, call) => getJson({ method: 'DELETE', path: packagePath(pkg, release, format, 'signatures', keyid) }, call),
    },
    channels: {
      // The trailing slash is appr's own spelling of this route.
      list: (pkg, call) => getJson({ path: `${packagePath(pkg, 'channels')}/` }, call),
      show: (pkg, channel, call) => getJson({ path: packagePath(pkg, 'channels', channel) }, call),
      add: (pkg, channel, release, call) => getJson({ method: 'POST', path: packagePath(pkg, 'channels', channel, release) }, call),
      remove: (pkg, channel, release, call) => getJson({ method: 'DELETE', path: packagePath(pkg, 'channels', channel, release) }, call),
      delete: (pkg, channel, call) => getJson({ method: 'DELETE', path: packagePath(pkg, 'channels', channel) }, call),
    },
  }
}

/**
 * `/packages/<ns>/<name>/…rest` with every segment escaped.
 * @throws invalid-parameters when `pkg` is not `namespace/name`
 */
function packagePath(pkg: string, ...rest: string[]): string {
  const slash = pkg.indexOf('/')
  const namespace = pkg.slice(0, slash)
  const name = pkg.slice(slash + 1)
  if (slash <= 0 || name === '' || name.includes('/')) {
    throw new ApprError('invalid-parameters', `a package is namespace/name: ${pkg}`, { details: { package: pkg } })
  }
  return ['/packages', namespace, name, ...rest].map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/')
}

/** `helm` for `application/vnd.appr.package-manifest.helm.v0.json`; a short name stays as it is. */
export function formatOf(mediaType: string): string {
  return /package-manifest\.([^.]+)\./.exec(mediaType)?.[1] ?? mediaType
}

/**
 * appr's JSON push body (`release`, `media_type` and `metadata` before `blob`, so the server can
 * stream the blob as it arrives), with `force` in the query as the appr client sends it.
 */
async function push(send: ReturnType<typeof createTransport>['send'], pkg: string, input: PushInput): Promise<{ readonly status: string }> {
  const fields = { release: input.release, media_type: input.format ?? 'kpm', ...(input.metadata === undefined ? {} : { metadata: input.metadata }), ...(input.signatures === undefined ? {} : { signatures: input.signatures }) }
  const head = `${JSON.stringify(fields).slice(0, -1)},"blob":"`
  const tail = '"}'
  const call: CallOptions = { ...(input.signal ? { signal: input.signal } : {}), ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs }) }
  const request = { method: 'POST', path: packagePath(pkg), query: { force: input.force ? 'true' : 'false' }, headers: { 'Content-Type': 'application/json' } }
  const { blob } = input
  if (blob instanceof Uint8Array || (typeof Blob !== 'undefined' && blob instanceof Blob)) {
    const bytes = blob instanceof Uint8Array ? blob : new Uint8Array(await blob.arrayBuffer())
    const parts: string[] = [head]
    for await (const part of base64Stream(slices(bytes, BASE64_SLICE))) parts.push(part)
    parts.push(tail)
    const response = await send({ ...request, body: new Blob(parts) }, call)
    input.onProgress?.({ loaded: bytes.byteLength, total: bytes.byteLength })
    return (await response.json()) as { status: string }
  }
  async function* body(): AsyncGenerator<Uint8Array> {
    yield encoder.encode(head)
    for await (const part of base64Stream(counted(chunksOf(blob as ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>), input.size, input.onProgress))) {
      yield encoder.encode(part)
    }
    yield encoder.encode(tail)
  }
  const response = await send({ ...request, body: toReadable(body()), streamed: true }, call)
  return (await response.json()) as { status: string }
}
