/**
 * `createHandler`: the HTTP surfaces as one `(Request) => Promise<Response>` function over a
 * `Registry`. It only composes: the surfaces' routes (`appr/routes.ts`) go into one router
 * (`router.ts`), and the middleware (`middleware/`) wraps the dispatch.
 * @module
 */
import { apprRoutes } from './appr/routes.js'
import { eventRoutes } from './events/routes.js'
import { helmRoutes } from './helm/routes.js'
import { authCheck } from './middleware/auth.js'
import { withCors } from './middleware/cors.js'
import { catchErrors, errorResponse } from './middleware/errors.js'
import { withHead } from './middleware/head.js'
import { ociErrorResponse, ociRoutes } from './oci/routes.js'
import type { HandlerOptions, RegistryApi } from './options.js'
import { LruMap } from '../registry/lru.js'
import { createRouter, methodNotAllowed, optionsResponse, type RouteMatch, type Router, routeMethod } from './router.js'

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
  const authorize = authCheck(options)

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

  function find(request: Request, url: URL, { router, oci }: Surfaces): RouteMatch | Response {
    if (oci && (url.pathname === '/v2' || url.pathname.startsWith('/v2/'))) {
      try {
        return oci.find(url.pathname)
      } catch (error) {
        return ociErrorResponse(error, request, options.onError)
      }
    }
    return router.find(url.pathname)
  }

  async function dispatch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const found = find(request, url, anonymous)
    if (found instanceof Response) return found
    const { route, params, allowed } = found
    if (request.method === 'OPTIONS') return optionsResponse(allowed)
    const method = routeMethod(request)
    let endpoint = route.methods[method]
    if (endpoint === undefined) {
      const error = methodNotAllowed(request, url.pathname, allowed)
      const response = route.errorResponse ? route.errorResponse(error, request) : errorResponse(error, envelope)
      response.headers.set('allow', allowed.join(', '))
      return response
    }
    const pkg = route.package?.(params) ?? ''
    try {
      const principal = (await authorize(request, endpoint, pkg)) as P | undefined
      // Reads record nothing: only a write needs the routes of its actor.
      if (method !== 'GET' && principal !== undefined) {
        const bound = find(request, url, surfacesOf(principal))
        if (!(bound instanceof Response)) endpoint = bound.route.methods[method] ?? endpoint
      }
      return await endpoint.run({ request, url, params, pkg })
    } catch (error) {
      // A surface with its own envelope (OCI) answers its errors itself.
      if (route.errorResponse) return route.errorResponse(error, request)
      throw error
    }
  }

  const handler = withHead(catchErrors(dispatch, { envelope, onError: options.onError }))
  return options.cors ?? true ? withCors(handler) : handler
}

/** The routers of one registry (or one actor's view of it). */
interface Surfaces {
  readonly router: Router
  /** OCI clients only ever ask at the host's root /v2/. */
  readonly oci: Router | undefined
}

function surfaces<P>(registry: RegistryApi, options: HandlerOptions<P>): Surfaces {
  const router = createRouter([...apprRoutes(registry, options), ...eventRoutes(registry, options), ...helmRoutes(registry, options)], options.prefix)
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
