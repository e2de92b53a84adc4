/**
 * `createHandler`: the HTTP surfaces as one `(Request) => Promise<Response>` function over a
 * `Registry`. It only composes: the surfaces' routes (`appr/routes.ts`) go into one router
 * (`router.ts`), and the middleware (`middleware/`) wraps the dispatch.
 * @module
 */
import { adminRoutes } from './admin/routes.js'
import { apprRoutes } from './appr/routes.js'
import { eventRoutes } from './events/routes.js'
import { helmRoutes } from './helm/routes.js'
import { authCheck } from './middleware/auth.js'
import { DEFAULT_MAX_BODY_BYTES } from './middleware/body-limit.js'
import { withCors } from './middleware/cors.js'
import { catchErrors, errorResponse } from './middleware/errors.js'
import { withHead } from './middleware/head.js'
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
  const router = createRouter(
    [...apprRoutes(registry, options), ...eventRoutes(registry, options), ...helmRoutes(registry, options), ...adminRoutes(registry, options, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)],
    options.prefix,
  )
  const { ociBlobs, ociManifests } = registry
  // OCI clients only ever ask at the host's root /v2/.
  const oci = options.oci !== false && ociBlobs && ociManifests ? { router: createRouter(ociRoutes({ ociBlobs, ociManifests }, options), '') } : undefined
  const authorize = authCheck(options)

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
    const url = new URL(request.url)
    const found = find(request, url)
    if (found instanceof Response) return found
    const { route, params, allowed } = found
    if (request.method === 'OPTIONS') return optionsResponse(allowed)
    const endpoint = route.methods[routeMethod(request)]
    if (endpoint === undefined) {
      const error = methodNotAllowed(request, url.pathname, allowed)
      const response = route.errorResponse ? route.errorResponse(error, request) : errorResponse(error, envelope)
      response.headers.set('allow', allowed.join(', '))
      return response
    }
    const pkg = route.package?.(params) ?? ''
    try {
      await authorize(request, endpoint, pkg)
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
