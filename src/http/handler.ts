/**
 * `createHandler`: the HTTP surfaces as one `(Request) => Promise<Response>` function over a
 * `Registry`. It only composes: the surfaces' routes (`appr/routes.ts`) go into one router
 * (`router.ts`), and the middleware (`middleware/`) wraps the dispatch.
 * @module
 */
import { adminRoutes } from './admin/routes.js'
import { apprRoutes } from './appr/routes.js'
import { type CoreHandler, fetchOf } from './core.js'
import { eventRoutes } from './events/routes.js'
import { helmRoutes } from './helm/routes.js'
import { authCheck } from './middleware/auth.js'
import { DEFAULT_MAX_BODY_BYTES } from './middleware/body-limit.js'
import { withCors } from './middleware/cors.js'
import { catchErrors, errorReply } from './middleware/errors.js'
import { withHead } from './middleware/head.js'
import { type Exchange, type Exchanges, withObservation } from './middleware/observe.js'
import { withProbes } from './middleware/probes.js'
import { ociErrorReply, ociRoutes } from './oci/routes.js'
import { ociAuthenticate } from './oci/token.js'
import type { HandlerOptions, RegistryApi } from './options.js'
import { type Answer, setHeader } from './reply.js'
import type { HttpRequest } from './request-view.js'
import { LruMap } from '../registry/lru.js'
import { createRouter, methodNotAllowed, optionsReply, type Route, type RouteContext, type RouteMatch, type Router, routeMethod } from './router.js'
import { type UiConfig, uiRoutes } from './ui/routes.js'
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
  const envelope = options.errorEnvelope ?? 'appr'
  const anonymous = surfaces(registry, options)
  // Routes over `registry.as(actor)`, per actor (a handful in practice), so the events a write
  // records name its principal: built on an actor's first write, then reused.
  const acting = new LruMap<string, Surfaces>(64)
  const actorOf = options.actor ?? defaultActor
  const ui = options.ui ? createRouter(uiRoutes(options.ui, uiConfig(options, anonymous.oci !== undefined)), '') : undefined
  const authorize = authCheck(options)
  // The anonymous token of /v2/'s token endpoint stands for no credentials, whatever `authenticate` makes of it.
  const ociAuthenticated = ociAuthenticate(options.authenticate)
  const ociAuthorize = anonymous.oci && ociAuthenticated ? authCheck({ ...options, authenticate: ociAuthenticated }) : authorize
  const isOciPath = (path: string) => path === '/v2' || path.startsWith('/v2/')
  // Only observed handlers keep a table: what the dispatch learns goes to the log line and metrics.
  const exchanges: Exchanges | undefined = options.logger !== undefined || options.metrics !== undefined ? new WeakMap() : undefined

  function surfacesOf(principal: P | undefined): Surfaces {
    const actor = principal === undefined || registry.as === undefined ? undefined : actorOf(principal)
    if (actor === undefined) return anonymous
    let found = acting.get(actor, true)
    if (found === undefined) {
      found = surfaces(registry.as!(actor), options)
      acting.set(actor, found)
    }
    return found
  }

  function find(request: HttpRequest, path: string, { router, oci }: Surfaces): RouteMatch | Answer {
    if (oci && isOciPath(path)) {
      try {
        return oci.find(path)
      } catch (error) {
        const exchange = exchanges?.get(request)
        if (exchange) exchange.error = error
        return ociErrorReply(error, request, options.onError)
      }
    }
    if (ui && (path === '/ui' || path.startsWith('/ui/'))) return ui.find(path)
    return router.find(path)
  }

  /** A route's own error answer (OCI's envelope), or undefined for the handler's. */
  function routeError(route: Route, error: unknown, request: HttpRequest): Answer | undefined {
    if (route.errorReply) return route.errorReply(error, request)
    if (route.errorResponse) return route.errorResponse(error, request.request)
    return undefined
  }

  async function dispatch(request: HttpRequest): Promise<Answer> {
    const exchange = exchanges?.get(request)
    if (exchange === undefined) return routeRequest(request, undefined)
    try {
      return await routeRequest(request, exchange)
    } catch (error) {
      exchange.error = error
      throw error
    }
  }

  async function routeRequest(request: HttpRequest, exchange: Exchange | undefined): Promise<Answer> {
    const path = request.path
    const found = find(request, path, anonymous)
    if (!('route' in found)) return found
    const { route, params, allowed } = found
    if (exchange) exchange.route = route.path
    if (request.method === 'OPTIONS') return optionsReply(found)
    const method = routeMethod(request.method)
    let endpoint = route.methods[method]
    if (endpoint === undefined) {
      const error = methodNotAllowed(request.method, path, allowed)
      const answer = routeError(route, error, request) ?? errorReply(error, envelope)
      setHeader(answer, 'allow', allowed.join(', '))
      return answer
    }
    const pkg = route.package?.(params) ?? ''
    if (exchange) exchange.operation = endpoint.operation
    try {
      const check = anonymous.oci && isOciPath(path) ? ociAuthorize : authorize
      const principal = (await check(request, endpoint, pkg)) as P | undefined
      if (exchange) exchange.principal = principal
      // Reads record nothing: only a write needs the routes of its actor.
      if (method !== 'GET' && principal !== undefined) {
        const bound = find(request, path, surfacesOf(principal))
        if ('route' in bound) endpoint = bound.route.methods[method] ?? endpoint
      }
      return await endpoint.run(routeContext(request, params, pkg))
    } catch (error) {
      // A surface with its own envelope (OCI) answers its errors itself.
      const answer = routeError(route, error, request)
      if (answer === undefined) throw error
      if (exchange) exchange.error = error
      return answer
    }
  }

  const core: CoreHandler = withHead(catchErrors(dispatch, { envelope, onError: options.onError }))
  const health = options.health ?? false
  const probed = withProbes(options.cors ?? true ? withCors(core) : core, {
    health:
      health === false
        ? undefined
        : {
            ready: (health === true ? undefined : health.ready) ?? (() => registry.ping?.() ?? Promise.resolve()),
            readyTimeoutMs: (health === true ? undefined : health.readyTimeoutMs) ?? 2000,
          },
    metrics: options.metrics,
    exchanges,
  })
  return fetchOf(exchanges ? withObservation(probed, { exchanges, logger: options.logger, metrics: options.metrics, principalName: options.principalName }) : probed)
}

/** An endpoint's context; `request` and `url` are built only if the endpoint reads them. */
function routeContext(req: HttpRequest, params: RouteContext['params'], pkg: string): RouteContext {
  return {
    req,
    params,
    pkg,
    get query() {
      return req.query
    },
    get request() {
      return req.request
    },
    get url() {
      return req.url
    },
  }
}

/** The routers of one registry (or one actor's view of it). */
interface Surfaces {
  readonly router: Router
  /** OCI clients only ever ask at the host's root /v2/. */
  readonly oci: Router | undefined
}

function surfaces<P>(registry: RegistryApi, options: HandlerOptions<P>): Surfaces {
  const router = createRouter(
    [...apprRoutes(registry, options), ...eventRoutes(registry, options), ...helmRoutes(registry, options), ...adminRoutes(registry, options, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)],
    options.prefix,
  )
  const { ociBlobs, ociManifests } = registry
  const oci = options.oci !== false && ociBlobs && ociManifests ? createRouter(ociRoutes({ ociBlobs, ociManifests }, options), '') : undefined
  return { router, oci }
}

/** The default {@link HandlerOptions.actor}: a string principal, or a principal object's string `name`. */
function defaultActor(principal: unknown): string | undefined {
  if (typeof principal === 'string') return principal
  const name = typeof principal === 'object' && principal !== null ? (principal as { name?: unknown }).name : undefined
  return typeof name === 'string' ? name : undefined
}

/** Where the UI finds the API and the Helm view: at the root when the handler serves the root, else under its first prefix. */
function uiConfig(options: Pick<HandlerOptions, 'prefix' | 'helm'>, oci: boolean): UiConfig {
  const prefixes = (options.prefix === undefined ? ['/cnr', ''] : typeof options.prefix === 'string' ? [options.prefix] : [...options.prefix]).map((p) =>
    p.replace(/^\/+|\/+$/g, ''),
  )
  const base = prefixes.includes('') ? '' : `/${prefixes[0]}`
  return { api: `${base}/api/v1`, helm: options.helm === false ? null : `${base}/helm`, oci }
}
