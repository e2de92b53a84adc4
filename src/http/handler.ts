/**
 * The appr REST API v1 as one `(Request) => Promise<Response>` function over a {@link Registry}.
 * Route shapes follow the Python appr 0.7.4 server as its client sees them.
 * @module
 */
import { ApprError, isApprError } from '../errors/index.js'
import { parseFormat } from '../model/index.js'
import { inspectArchive } from '../archive/inspect.js'
import type { Registry } from '../registry/registry.js'
import { parseObjectBody, receivePush, truthy } from './appr/push-body.js'
import { readBody } from './middleware/body-limit.js'
import { type ErrorEnvelope, errorResponse } from './middleware/errors.js'
import { json, jsonWithBlob, toByteStream } from './respond.js'
import { VERSION } from './version.js'

/** The part of {@link Registry} the handler calls, so a wrapper or another implementation fits. */
export type RegistryApi = Pick<
  Registry,
  'push' | 'show' | 'pull' | 'blob' | 'releases' | 'manifests' | 'list' | 'search' | 'delete' | 'channels'
>

/** What a route does: `read` for GET/HEAD routes, `write` for every route that changes data. */
export type AuthAction = 'read' | 'write'

/** The registry operation a request asks for. */
export type Operation =
  | 'version'
  | 'login'
  | 'list'
  | 'search'
  | 'push'
  | 'releases'
  | 'manifests'
  | 'show'
  | 'delete'
  | 'pull'
  | 'blob'
  | 'channel-list'
  | 'channel-show'
  | 'channel-add'
  | 'channel-remove'
  | 'channel-delete'

/** Input of the {@link HandlerOptions.authorize} hook. */
export interface AuthorizeInput<P> {
  /** What `authenticate` returned (undefined: anonymous). */
  readonly principal: P | undefined
  readonly action: AuthAction
  readonly operation: Operation
  /** `namespace/name` as written in the URL (not yet validated), for package routes. */
  readonly package?: string
  readonly request: Request
}

/** Input of the {@link HandlerOptions.login} hook (`POST /api/v1/users/login`). */
export interface LoginInput {
  readonly username: string
  readonly password: string
  readonly request: Request
}

/** Options of {@link createHandler}. */
export interface HandlerOptions<P = unknown> {
  /**
   * Path prefixes the API is served under (default `['/cnr', '']`: the appr client's `/cnr` and
   * the root). A single string serves only that prefix.
   */
  readonly prefix?: string | readonly string[]
  /** Send `Access-Control-Allow-Origin` (`*`, or the request's `Origin`) and answer preflights (default true). */
  readonly cors?: boolean
  /** Largest accepted request body in bytes; larger is 413 `payload-too-large` (default 96 MiB). */
  readonly maxBodyBytes?: number
  /** `appr` (default): `{code, message, details}`; `quay`: `{"error": {code, message, details}}`. */
  readonly errorEnvelope?: ErrorEnvelope
  /** Resolve release queries among releases that have the requested format (default false, as appr). */
  readonly formatAware?: boolean
  /** Version reported by `GET /version` (default appr-core's). */
  readonly version?: string
  /**
   * Identifies the caller (the appr client sends `Authorization: <token>` verbatim). Return
   * undefined for anonymous; throw an ApprError (`unauthorized-access`) to refuse outright.
   */
  readonly authenticate?: (request: Request) => P | undefined | Promise<P | undefined>
  /**
   * Decides whether a request may proceed. Refusals are 401 `unauthorized-access` for
   * anonymous callers and 403 `forbidden` otherwise. Default: everything is allowed without
   * `authenticate`; with it, reads are open and writes need a principal.
   */
  readonly authorize?: (input: AuthorizeInput<P>) => boolean | Promise<boolean>
  /**
   * Enables Quay's `POST /api/v1/users/login` (`{"user": {"username", "password"}}` → `{token}`).
   * Return the token, or undefined to refuse (401).
   */
  readonly login?: (input: LoginInput) => string | undefined | Promise<string | undefined>
  /** Called with every unexpected (non-ApprError) exception before a bare 500 is answered. */
  readonly onError?: (error: unknown, request: Request) => void
}

type Params = Record<string, string>
type Method = 'GET' | 'POST' | 'DELETE'

interface Context {
  readonly request: Request
  readonly url: URL
  readonly params: Params
  /** `ns/name` for package routes. */
  readonly pkg: string
}

interface Endpoint {
  readonly operation: Operation
  readonly run: (ctx: Context) => Promise<Response>
}

interface Route {
  readonly pattern: readonly string[]
  readonly methods: Partial<Record<Method, Endpoint>>
}

const DEFAULT_MAX_BODY = 96 * 1024 * 1024
/** Short format name of a stored manifest media type (`helm` for `…package-manifest.helm.v0.json`). */
function formatOf(mediaType: string): string {
  try {
    return parseFormat(mediaType)
  } catch {
    return mediaType
  }
}

function normalisePrefixes(prefix: HandlerOptions['prefix']): string[] {
  const list = prefix === undefined ? ['/cnr', ''] : typeof prefix === 'string' ? [prefix] : [...prefix]
  const cleaned = list.map((p) => {
    const trimmed = p.replace(/\/+$/, '')
    return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`
  })
  // Longest first, so `/cnr/version` is not read as the root route `/cnr/...`.
  return [...new Set(cleaned)].sort((a, b) => b.length - a.length)
}

/**
 * Creates the appr API handler.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { Registry } from 'appr-core'
 * import { memoryStore } from 'appr-core/adapters/memory'
 * import { createHandler } from 'appr-core/http'
 * import { createNodeListener } from 'appr-core/http/node'
 *
 * const handler = createHandler(new Registry({ store: memoryStore() }))
 * createServer(createNodeListener(handler)).listen(5000)
 * ```
 */
export function createHandler<P = unknown>(
  registry: RegistryApi,
  options: HandlerOptions<P> = {},
): (request: Request) => Promise<Response> {
  const prefixes = normalisePrefixes(options.prefix)
  const cors = options.cors ?? true
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY
  const envelope = options.errorEnvelope ?? 'appr'
  const formatAware = options.formatAware ?? false
  const version = options.version ?? VERSION
  const { authenticate, login, onError } = options
  const authorize =
    options.authorize ??
    (authenticate === undefined ? () => true : ({ action, principal }: AuthorizeInput<P>) => action === 'read' || principal !== undefined)

  const pkgRoute = ['api', 'v1', 'packages', ':ns', ':name']

  const resolveOptions = (ctx: Context) => ({
    release: ctx.params.release!,
    format: ctx.params.format!,
    formatAware,
  })

  // `?contents=true` (opt-in, not in appr) adds the package's own manifest (Chart.yaml fields,
  // or kpm's manifest.yaml) read from the blob, so a front end need not download and unpack it.
  const showManifest = async (ctx: Context): Promise<unknown> => {
    if (!truthy(ctx.url.searchParams.get('contents'))) return registry.show(ctx.pkg, resolveOptions(ctx))
    const { manifest, stream } = await registry.pull(ctx.pkg, resolveOptions(ctx))
    const inspection = await inspectArchive(stream)
    return { ...manifest, package_manifest: inspection.manifest ?? null }
  }

  const push: Endpoint = {
    operation: 'push',
    run: async (ctx) => {
      // Only a package named in the URL can stream: the appr client sends `package` after the blob.
      await receivePush(ctx.request, ctx.url, maxBody, ctx.pkg !== '', async (body, fields) => {
        let pkg = ctx.pkg
        if (pkg === '') {
          // Swagger's `POST /api/v1/packages` names the package in the body.
          const named = body.package ?? body.name
          if (typeof named !== 'string' || named === '') {
            throw new ApprError('invalid-parameters', 'the push body needs a package (namespace/name)', { details: { field: 'package' } })
          }
          pkg = named
        }
        await registry.push({
          package: pkg,
          release: fields.release,
          format: fields.format,
          blob: fields.blob,
          metadata: fields.metadata,
          force: fields.force || truthy(ctx.url.searchParams.get('force')),
        })
      })
      return json({ status: 'ok' })
    },
  }

  const routes: Route[] = [
    { pattern: ['version'], methods: { GET: { operation: 'version', run: async () => json({ 'appr-api': version }) } } },
    {
      pattern: ['api', 'v1', 'packages'],
      methods: {
        GET: {
          operation: 'list',
          run: async ({ url }) => {
            const q = url.searchParams
            const filters = {
              ...(q.get('namespace') ? { namespace: q.get('namespace')! } : {}),
              ...(q.get('media_type') ? { format: q.get('media_type')! } : {}),
              ...(q.get('query') ? { query: q.get('query')! } : {}),
            }
            const first = await registry.list(filters)
            if (first.next === undefined) return json(first.packages)
            return streamList(registry, filters, first)
          },
        },
        POST: push,
      },
    },
    {
      pattern: ['api', 'v1', 'packages', 'search'],
      methods: {
        GET: {
          operation: 'search',
          run: async ({ url }) => {
            const q = url.searchParams.get('q')
            return json(q === null || q === '' ? [] : await registry.search(q))
          },
        },
      },
    },
    {
      pattern: ['api', 'v1', 'users', 'login'],
      methods: login === undefined ? {} : { POST: { operation: 'login', run: async (ctx) => runLogin(ctx, login, maxBody) } },
    },
    {
      pattern: pkgRoute,
      methods: {
        GET: {
          operation: 'releases',
          run: async ({ pkg, url }) => {
            const mediaType = url.searchParams.get('media_type')
            return json(await registry.releases(pkg, mediaType ? { format: mediaType } : {}))
          },
        },
        POST: push,
      },
    },
    {
      pattern: [...pkgRoute, 'channels'],
      methods: { GET: { operation: 'channel-list', run: async ({ pkg }) => json(await registry.channels.list(pkg)) } },
    },
    {
      pattern: [...pkgRoute, 'channels', ':channel'],
      methods: {
        GET: { operation: 'channel-show', run: async ({ pkg, params }) => json(await registry.channels.show(pkg, params.channel!)) },
        DELETE: {
          operation: 'channel-delete',
          run: async ({ pkg, params }) => {
            await registry.channels.delete(pkg, params.channel!)
            return json({ channel: params.channel, package: pkg, action: 'delete' })
          },
        },
      },
    },
    {
      pattern: [...pkgRoute, 'channels', ':channel', ':release'],
      methods: {
        POST: {
          operation: 'channel-add',
          run: async ({ pkg, params }) => json(await registry.channels.add(pkg, params.channel!, params.release!)),
        },
        DELETE: {
          operation: 'channel-remove',
          run: async ({ pkg, params }) => {
            await registry.channels.remove(pkg, params.channel!, params.release!)
            return json({ status: 'deleted', package: pkg, name: params.channel, release: params.release })
          },
        },
      },
    },
    {
      pattern: [...pkgRoute, 'blobs', 'sha256', ':digest'],
      methods: { GET: { operation: 'blob', run: async (ctx) => blobResponse(ctx, ctx.url.searchParams.get('format') === 'json') } },
    },
    {
      pattern: [...pkgRoute, 'blobs', 'sha256', ':digest', 'json'],
      methods: { GET: { operation: 'blob', run: async (ctx) => blobResponse(ctx, true) } },
    },
    {
      pattern: [...pkgRoute, ':release'],
      methods: { GET: { operation: 'manifests', run: async ({ pkg, params }) => json(await registry.manifests(pkg, params.release!)) } },
    },
    {
      pattern: [...pkgRoute, ':release', ':format'],
      methods: {
        GET: { operation: 'show', run: async (ctx) => json(await showManifest(ctx)) },
        DELETE: {
          operation: 'delete',
          run: async ({ pkg, params }) => {
            await registry.delete(pkg, params.release!, params.format!)
            return json({ status: 'deleted', package: pkg, release: params.release })
          },
        },
      },
    },
    {
      pattern: [...pkgRoute, ':release', ':format', 'pull'],
      methods: { GET: { operation: 'pull', run: async (ctx) => pullResponse(ctx, ctx.url.searchParams.get('format') === 'json') } },
    },
    {
      pattern: [...pkgRoute, ':release', ':format', 'pull', 'json'],
      methods: { GET: { operation: 'pull', run: async (ctx) => pullResponse(ctx, true) } },
    },
  ]

  async function pullResponse(ctx: Context, asJson: boolean): Promise<Response> {
    const result = await registry.pull(ctx.pkg, resolveOptions(ctx))
    if (asJson) {
      return jsonWithBlob(
        { package: result.manifest.package },
        result,
        { release: result.manifest.release, media_type: formatOf(result.manifest.mediaType), filename: result.filename },
      )
    }
    return gzipResponse(result, result.filename)
  }

  async function blobResponse(ctx: Context, asJson: boolean): Promise<Response> {
    const digest = ctx.params.digest!
    const result = await registry.blob(ctx.pkg, digest)
    const filename = `${ctx.pkg.replace('/', '_')}_${result.digest.slice(0, 8)}.tar.gz`
    if (asJson) return jsonWithBlob({ package: ctx.pkg }, result, { release: result.digest, filename })
    return gzipResponse(result, filename)
  }

  function match(segments: readonly string[]): { route: Route; params: Params } | undefined {
    for (const route of routes) {
      if (route.pattern.length !== segments.length) continue
      const params: Params = {}
      let ok = true
      for (let i = 0; i < segments.length && ok; i++) {
        const want = route.pattern[i]!
        const got = segments[i]!
        if (want.startsWith(':')) params[want.slice(1)] = got
        else ok = want === got
      }
      if (ok) return { route, params }
    }
    return undefined
  }

  function stripPrefix(pathname: string): string | undefined {
    for (const prefix of prefixes) {
      if (prefix === '') return pathname
      if (pathname === prefix || pathname.startsWith(`${prefix}/`)) return pathname.slice(prefix.length)
    }
    return undefined
  }

  function withCors(request: Request, response: Response): Response {
    if (!cors) return response
    response.headers.set('access-control-allow-origin', request.headers.get('origin') ?? '*')
    if (request.headers.has('origin')) response.headers.append('vary', 'Origin')
    return response
  }

  async function dispatch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const rest = stripPrefix(url.pathname)
    if (rest === undefined) throw notFound(url.pathname)
    const raw = rest.replace(/\/+$/, '').split('/').slice(1)
    let segments: string[]
    try {
      segments = raw.map((s) => decodeURIComponent(s))
    } catch {
      throw new ApprError('invalid-usage', 'the request path is not valid percent-encoding')
    }
    if (segments.some((s) => s === '')) throw notFound(url.pathname)
    const found = match(segments)
    if (found === undefined) throw notFound(url.pathname)
    const { route, params } = found
    const allowed = Object.keys(route.methods) as Method[]
    if (allowed.length === 0) throw notFound(url.pathname)
    const method = request.method === 'HEAD' ? 'GET' : (request.method as Method)
    if (request.method === 'OPTIONS') {
      const headers: Record<string, string> = { allow: [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ') }
      if (cors) {
        headers['access-control-allow-methods'] = headers.allow!
        headers['access-control-allow-headers'] = request.headers.get('access-control-request-headers') ?? 'Authorization, Content-Type'
        headers['access-control-max-age'] = '600'
      }
      return new Response(null, { status: 204, headers })
    }
    const endpoint = route.methods[method]
    if (endpoint === undefined) {
      const error = new ApprError('method-not-allowed', `${request.method} is not allowed on ${url.pathname}`, {
        details: { method: request.method, allowed },
      })
      const response = errorResponse(error, envelope)
      response.headers.set('allow', allowed.join(', '))
      return response
    }
    const pkg = params.ns !== undefined ? `${params.ns}/${params.name}` : ''
    const action: AuthAction = method === 'GET' ? 'read' : 'write'
    // Version and login answer everyone: the client calls them before it has a token.
    if (endpoint.operation !== 'version' && endpoint.operation !== 'login') {
      const principal = authenticate === undefined ? undefined : await authenticate(request)
      const input: AuthorizeInput<P> = { principal, action, operation: endpoint.operation, request, ...(pkg ? { package: pkg } : {}) }
      if (!(await authorize(input))) {
        throw principal === undefined
          ? new ApprError('unauthorized-access', 'authentication required')
          : new ApprError('forbidden', 'not allowed', { details: { operation: endpoint.operation } })
      }
    }
    return endpoint.run({ request, url, params, pkg })
  }

  return async function handler(request: Request): Promise<Response> {
    let response: Response
    try {
      response = await dispatch(request)
    } catch (error) {
      if (!isApprError(error)) onError?.(error, request)
      response = errorResponse(error, envelope)
    }
    if (request.method === 'HEAD' && response.body !== null) {
      // Keep the headers (Content-Length included) and drop the body without reading it.
      await response.body.cancel().catch(() => {})
      response = new Response(null, { status: response.status, headers: response.headers })
    }
    return withCors(request, response)
  }
}

function notFound(path: string): ApprError {
  return new ApprError('resource-not-found', `no route for ${path}`, { details: { path } })
}

function gzipResponse(blob: { readonly size: number; readonly stream: AsyncIterable<Uint8Array> }, filename: string): Response {
  return new Response(toByteStream(blob.stream), {
    status: 200,
    headers: {
      'content-type': 'application/x-gzip',
      'content-length': String(blob.size),
      'content-disposition': `attachment; filename="${filename}"`,
    },
  })
}

async function runLogin(
  ctx: Context,
  login: NonNullable<HandlerOptions['login']>,
  maxBody: number,
): Promise<Response> {
  const body = parseObjectBody(await readBody(ctx.request, maxBody), ctx.request.headers.get('content-type'))
  const user = typeof body.user === 'object' && body.user !== null ? (body.user as Record<string, unknown>) : body
  const { username, password } = user
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new ApprError('invalid-parameters', 'login needs {"user": {"username", "password"}}')
  }
  const token = await login({ username, password, request: ctx.request })
  if (token === undefined) throw new ApprError('unauthorized-access', 'invalid credentials')
  return json({ token })
}

/**
 * Streams the whole package list as one JSON array, page by page, so listing a large registry
 * holds one page in memory. The first page was fetched before the status was committed.
 */
function streamList(
  registry: RegistryApi,
  filters: { namespace?: string; format?: string; query?: string },
  first: Awaited<ReturnType<RegistryApi['list']>>,
): Response {
  const encoder = new TextEncoder()
  async function* body(): AsyncGenerator<Uint8Array> {
    let page = first
    let separator = '['
    for (;;) {
      for (const item of page.packages) {
        yield encoder.encode(separator + JSON.stringify(item))
        separator = ','
      }
      if (page.next === undefined) break
      page = await registry.list({ ...filters, after: page.next })
    }
    yield encoder.encode(separator === '[' ? '[]' : ']')
  }
  return new Response(toByteStream(body()), { status: 200, headers: { 'content-type': 'application/json' } })
}
