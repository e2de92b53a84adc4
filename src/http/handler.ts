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
import { type Exchange, type Exchanges, withObservation } from './middleware/observe.js'
import { withProbes } from './middleware/probes.js'
import { ociErrorResponse, ociRoutes } from './oci/routes.js'
import type { HandlerOptions, RegistryApi } from './options.js'
import { createRouter, methodNotAllowed, optionsResponse, type RouteMatch, routeMethod } from './router.js'

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
  const router = createRouter([...apprRoutes(registry, options), ...eventRoutes(registry, options), ...helmRoutes(registry, options)], options.prefix)
  const { ociBlobs, ociManifests } = registry
  // OCI clients only ever ask at the host's root /v2/.
  const oci = options.oci !== false && ociBlobs && ociManifests ? { router: createRouter(ociRoutes({ ociBlobs, ociManifests }, options), '') } : undefined
  const authorize = authCheck(options)
  // Only observed handlers keep a table: what the dispatch learns goes to the log line and metrics.
  const exchanges: Exchanges | undefined = options.logger !== undefined || options.metrics !== undefined ? new WeakMap() : undefined

  function find(request: Request, url: URL): RouteMatch | Response {
    if (oci && (url.pathname === '/v2' || url.pathname.startsWith('/v2/'))) {
      try {
        return oci.router.find(url.pathname)
      } catch (error) {
        return ociErrorResponse(error, request, options.onError)
      }
    }
    return router.find(url.pathname)
  }

  async function dispatch(request: Request): Promise<Response> {
    const exchange = exchanges?.get(request)
    try {
      return await route(request, exchange)
    } catch (error) {
      if (exchange) exchange.error = error
      throw error
    }
  }

  async function route(request: Request, exchange: Exchange | undefined): Promise<Response> {
    const url = new URL(request.url)
    const found = find(request, url)
    if (found instanceof Response) return found
    const { route, params, allowed } = found
    if (exchange) exchange.route = route.path
    if (request.method === 'OPTIONS') return optionsResponse(allowed)
    const endpoint = route.methods[routeMethod(request)]
    if (endpoint === undefined) {
      const error = methodNotAllowed(request, url.pathname, allowed)
      const response = route.errorResponse ? route.errorResponse(error, request) : errorResponse(error, envelope)
      response.headers.set('allow', allowed.join(', '))
      return response
    }
    const pkg = route.package?.(params) ?? ''
    if (exchange) exchange.operation = endpoint.operation
    try {
      const principal = await authorize(request, endpoint, pkg)
      if (exchange) exchange.principal = principal
      return await endpoint.run({ request, url, params, pkg })
    } catch (error) {
      // A surface with its own envelope (OCI) answers its errors itself.
      if (route.errorResponse) {
        if (exchange) exchange.error = error
        return route.errorResponse(error, request)
      }
      throw error
    }
  }

  const core = withHead(catchErrors(dispatch, { envelope, onError: options.onError }))
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
  return exchanges ? withObservation(probed, { exchanges, logger: options.logger, metrics: options.metrics, principalName: options.principalName }) : probed
}
