/**
 * The appr REST API v1 as routes: {@link apprRoutes} is the whole API in one table, and the
 * endpoints below it say what each route does. Route shapes follow the Python appr 0.7.4 server
 * as its client sees them.
 * @module
 */
import { inspectArchive } from '../../archive/inspect.js'
import { ApprError } from '../../errors/index.js'
import { parseFormat, parsePackageName } from '../../model/index.js'
import { DEFAULT_MAX_BODY_BYTES, readBody } from '../middleware/body-limit.js'
import type { HandlerOptions, RegistryApi } from '../options.js'
import { jsonReply, type Reply, reply } from '../reply.js'
import type { HttpRequest } from '../request-view.js'
import { jsonWithBlob } from '../respond.js'
import type { Endpoint, Method, Params, Route, RouteContext } from '../router.js'
import { APPR_API_VERSION, VERSION } from '../version.js'
import { parseObjectBody, receivePush, submitPush, truthy } from './push-body.js'
import { digestAdder, trustEndpoints, type WithDigest } from './trust.js'

/**
 * The appr API: every route it serves, in matching order (a literal segment such as `channels`
 * is declared before the `:release` it would otherwise match).
 */
export function apprRoutes<P>(registry: RegistryApi, options: HandlerOptions<P> = {}): Route[] {
  const withDigest = digestAdder()
  const e = apprEndpoints(registry, options, withDigest)
  const t = trustEndpoints(registry, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, withDigest)
  return [
    { path: '/version', methods: { GET: e.version } },
    { path: '/api/v1/packages', methods: { GET: e.list, POST: e.push } },
    { path: '/api/v1/packages/search', methods: { GET: e.search } },
    { path: '/api/v1/namespaces', methods: registry.namespaces === undefined ? {} : { GET: e.namespaces } },
    { path: '/api/v1/users/login', methods: e.login === undefined ? {} : { POST: e.login } },
    packageRoute('', { GET: e.releases, POST: e.push }),
    packageRoute('/channels', { GET: e.channelList }),
    packageRoute('/channels/:channel', { GET: e.channelShow, DELETE: e.channelDelete }),
    packageRoute('/channels/:channel/:release', { POST: e.channelAdd, DELETE: e.channelRemove }),
    packageRoute('/blobs/sha256/:digest', { GET: e.blob }),
    packageRoute('/blobs/sha256/:digest/json', { GET: e.blobJson }),
    // appr-core additions (docs/trust.md): a release by manifest digest, and signatures.
    packageRoute('/manifests/:digest', { GET: t.showDigest }),
    packageRoute('/:release', { GET: e.manifests }),
    packageRoute('/:release/:format', { GET: e.show, DELETE: e.delete }),
    packageRoute('/:release/:format/pull', { GET: e.pull }),
    packageRoute('/:release/:format/pull/json', { GET: e.pullJson }),
    packageRoute('/:release/:format/signatures', { GET: t.signatureList, POST: t.signatureAdd }),
    packageRoute('/:release/:format/signatures/:keyid', { DELETE: t.signatureRemove }),
  ]
}

/** A route below `/api/v1/packages/:ns/:name`, which names the package `ns/name`. */
function packageRoute(path: string, methods: Partial<Record<Method, Endpoint>>): Route {
  return { path: `/api/v1/packages/:ns/:name${path}`, methods, package: packageOf }
}

function packageOf(params: Params): string {
  return `${params.ns}/${params.name}`
}

function apprEndpoints<P>(registry: RegistryApi, options: HandlerOptions<P>, withDigest: WithDigest) {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const formatAware = options.formatAware ?? false
  const version = options.version ?? APPR_API_VERSION
  const { login } = options

  const resolveOptions = ({ params }: RouteContext) => ({ release: params.release!, format: params.format!, formatAware })

  // `?contents=true` (opt-in, not in appr) adds the package's own manifest (Chart.yaml fields,
  // or kpm's manifest.yaml) read from the blob, so a front end need not download and unpack it.
  const showManifest = async (ctx: RouteContext): Promise<unknown> => {
    if (!truthy(ctx.query.get('contents'))) return withDigest(await registry.show(ctx.pkg, resolveOptions(ctx)))
    const { manifest, stream } = await registry.pull(ctx.pkg, resolveOptions(ctx))
    const inspection = await inspectArchive(stream)
    return { ...withDigest(manifest), package_manifest: inspection.manifest ?? null }
  }

  const pullResponse = async (ctx: RouteContext, asJson: boolean): Promise<Reply> => {
    const result = await registry.pull(ctx.pkg, resolveOptions(ctx))
    if (!asJson) return gzipResponse(result, result.filename)
    return jsonWithBlob(
      { package: result.manifest.package },
      result,
      { release: result.manifest.release, media_type: formatOf(result.manifest.mediaType), filename: result.filename },
    )
  }

  const blobResponse = async ({ pkg, params }: RouteContext, asJson: boolean): Promise<Reply> => {
    const result = await registry.blob(pkg, params.digest!)
    const filename = `${pkg.replace('/', '_')}_${result.digest.slice(0, 8)}.tar.gz`
    if (asJson) return jsonWithBlob({ package: pkg }, result, { release: result.digest, filename })
    return gzipResponse(result, filename)
  }

  const asJson = (query: URLSearchParams) => query.get('format') === 'json'

  return {
    version: { operation: 'version', public: true, run: async () => jsonReply({ 'appr-api': version, 'appr-core': VERSION }) },

    login:
      login === undefined
        ? undefined
        : { operation: 'login', public: true, run: async ({ req }) => runLogin(req, login, maxBody) },

    list: {
      operation: 'list',
      run: async ({ query: q, req }) => {
        const filters = {
          ...(q.get('namespace') ? { namespace: q.get('namespace')! } : {}),
          ...(q.get('media_type') ? { format: q.get('media_type')! } : {}),
          ...(q.get('query') ? { query: q.get('query')! } : {}),
        }
        // `limit` (an appr-core addition): one page, and a `Link` to the next, for front ends.
        const page = pageOptions(q)
        if (page.limit !== undefined) {
          const one = await registry.list({ ...filters, ...page })
          return jsonReply(one.packages, 200, nextLink(req, one.next))
        }
        const first = await registry.list(filters)
        if (first.next === undefined) return jsonReply(first.packages)
        return streamList(registry, filters, first)
      },
    },

    namespaces: {
      operation: 'namespaces',
      run: async ({ query, req }) => {
        const one = await registry.namespaces!({ limit: 1000, ...pageOptions(query) })
        return jsonReply(one.namespaces, 200, nextLink(req, one.next))
      },
    },

    search: {
      operation: 'search',
      run: async ({ query }) => {
        const q = query.get('q')
        return jsonReply(q === null || q === '' ? [] : await registry.search(q))
      },
    },

    push: {
      operation: 'push',
      run: async ({ req, query, pkg }) => {
        // A bad name in the URL is refused before the body is read.
        if (pkg !== '') parsePackageName(pkg)
        await receivePush(req, maxBody, (blob) => registry.stage(blob), async (body, fields) => {
          let named = pkg
          if (named === '') {
            // Swagger's `POST /api/v1/packages` names the package in the body.
            const given = body.package ?? body.name
            if (typeof given !== 'string' || given === '') {
              throw new ApprError('invalid-parameters', 'the push body needs a package (namespace/name)', { details: { field: 'package' } })
            }
            named = given
          }
          const input = {
            package: named,
            release: fields.release,
            format: fields.format,
            metadata: fields.metadata,
            force: fields.force || truthy(query.get('force')),
            ...(fields.signatures && { signatures: fields.signatures }),
          }
          await submitPush(registry, input, fields.blob)
        })
        return jsonReply({ status: 'ok' })
      },
    },

    releases: {
      operation: 'releases',
      run: async ({ pkg, query }) => {
        const mediaType = query.get('media_type')
        return jsonReply((await registry.releases(pkg, mediaType ? { format: mediaType } : {})).map(withDigest))
      },
    },

    channelList: { operation: 'channel-list', run: async ({ pkg }) => jsonReply(await registry.channels.list(pkg)) },

    channelShow: { operation: 'channel-show', run: async ({ pkg, params }) => jsonReply(await registry.channels.show(pkg, params.channel!)) },

    channelDelete: {
      operation: 'channel-delete',
      run: async ({ pkg, params }) => {
        await registry.channels.delete(pkg, params.channel!)
        return jsonReply({ channel: params.channel, package: pkg, action: 'delete' })
      },
    },

    channelAdd: {
      operation: 'channel-add',
      run: async ({ pkg, params }) => jsonReply(await registry.channels.add(pkg, params.channel!, params.release!)),
    },

    channelRemove: {
      operation: 'channel-remove',
      run: async ({ pkg, params }) => {
        await registry.channels.remove(pkg, params.channel!, params.release!)
        return jsonReply({ status: 'deleted', package: pkg, name: params.channel, release: params.release })
      },
    },

    blob: { operation: 'blob', run: async (ctx) => blobResponse(ctx, asJson(ctx.query)) },
    blobJson: { operation: 'blob', run: async (ctx) => blobResponse(ctx, true) },

    manifests: { operation: 'manifests', run: async ({ pkg, params }) => jsonReply((await registry.manifests(pkg, params.release!)).map(withDigest)) },

    show: { operation: 'show', run: async (ctx) => jsonReply(await showManifest(ctx)) },

    delete: {
      operation: 'delete',
      run: async ({ pkg, params }) => {
        await registry.delete(pkg, params.release!, params.format!)
        return jsonReply({ status: 'deleted', package: pkg, release: params.release })
      },
    },

    pull: { operation: 'pull', run: async (ctx) => pullResponse(ctx, asJson(ctx.query)) },
    pullJson: { operation: 'pull', run: async (ctx) => pullResponse(ctx, true) },
  } satisfies Record<string, Endpoint | undefined>
}

/** Short format name of a stored manifest media type (`helm` for `…package-manifest.helm.v0.json`). */
function formatOf(mediaType: string): string {
  try {
    return parseFormat(mediaType)
  } catch {
    return mediaType
  }
}

function gzipResponse(blob: { readonly size: number; readonly stream: AsyncIterable<Uint8Array> }, filename: string): Reply {
  return reply(
    200,
    {
      'content-type': 'application/x-gzip',
      'content-length': String(blob.size),
      'content-disposition': `attachment; filename="${filename}"`,
    },
    blob.stream,
  )
}

async function runLogin(req: HttpRequest, login: NonNullable<HandlerOptions['login']>, maxBody: number): Promise<Reply> {
  const body = parseObjectBody(await readBody(req, maxBody), req.headers.get('content-type'))
  const user = typeof body.user === 'object' && body.user !== null ? (body.user as Record<string, unknown>) : body
  const { username, password } = user
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new ApprError('invalid-parameters', 'login needs {"user": {"username", "password"}}')
  }
  const token = await login({ username, password, request: req.request })
  if (token === undefined) throw new ApprError('unauthorized-access', 'invalid credentials')
  return jsonReply({ token })
}

/**
 * `?limit=&after=` of a paged listing.
 * @throws invalid-parameters when `limit` is not a whole number from 1 to 10,000
 */
function pageOptions(query: URLSearchParams): { limit?: number; after?: string } {
  const limit = query.get('limit')
  const after = query.get('after')
  if (limit !== null && !(/^\d{1,5}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 10_000)) {
    throw new ApprError('invalid-parameters', `limit must be a whole number from 1 to 10000, not '${limit.slice(0, 20)}'`, { details: { limit: limit.slice(0, 20) } })
  }
  return { ...(limit === null ? {} : { limit: Number(limit) }), ...(after === null || after === '' ? {} : { after }) }
}

/** `Link: <same URL with after=next>; rel="next"` when a page has a successor (as OCI's `/v2/` pages). */
function nextLink(req: HttpRequest, next: string | undefined): Record<string, string> {
  if (next === undefined) return {}
  const query = new URLSearchParams(req.query)
  query.set('after', next)
  return { link: `<${req.path}?${query}>; rel="next"` }
}

/**
 * Streams the whole package list as one JSON array, page by page, so listing a large registry
 * holds one page in memory. The first page was fetched before the status was committed.
 */
function streamList(
  registry: RegistryApi,
  filters: { namespace?: string; format?: string; query?: string },
  first: Awaited<ReturnType<RegistryApi['list']>>,
): Reply {
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
  return reply(200, { 'content-type': 'application/json' }, body())
}
