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
import { ociErrorReply, ociRoutes } from './oci/routes.js'
import type { HandlerOptions, RegistryApi } from './options.js'
import { type Answer, setHeader } from './reply.js'
import type { HttpRequest } from './request-view.js'
import { createRouter, methodNotAllowed, optionsReply, type Route, type RouteContext, type RouteMatch, routeMethod } from './router.js'
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
  const router = createRouter(
    [...apprRoutes(registry, options), ...eventRoutes(registry, options), ...helmRoutes(registry, options), ...adminRoutes(registry, options, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)],
    options.prefix,
  )
  const { ociBlobs, ociManifests } = registry
  // OCI clients only ever ask at the host's root /v2/.
  const oci = options.oci !== false && ociBlobs && ociManifests ? { router: createRouter(ociRoutes({ ociBlobs, ociManifests }, options), '') } : undefined
  const ui = options.ui ? createRouter(uiRoutes(options.ui, uiConfig(options, oci !== undefined)), '') : undefined
  const authorize = authCheck(options)

  function find(request: HttpRequest, path: string): RouteMatch | Answer {
    if (oci && (path === '/v2' || path.startsWith('/v2/'))) {
      try {
        return oci.router.find(path)
      } catch (error) {
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
    const path = request.path
    const found = find(request, path)
    if (!('route' in found)) return found
    const { route, params, allowed } = found
    if (request.method === 'OPTIONS') return optionsReply(found)
    const endpoint = route.methods[routeMethod(request.method)]
    if (endpoint === undefined) {
      const error = methodNotAllowed(request.method, path, allowed)
      const answer = routeError(route, error, request) ?? errorReply(error, envelope)
      setHeader(answer, 'allow', allowed.join(', '))
      return answer
    }
    const pkg = route.package?.(params) ?? ''
    try {
      await authorize(request, endpoint, pkg)
      return await endpoint.run(routeContext(request, params, pkg))
    } catch (error) {
      // A surface with its own envelope (OCI) answers its errors itself.
      const answer = routeError(route, error, request)
      if (answer === undefined) throw error
      return answer
    }
  }

  const core: CoreHandler = withHead(catchErrors(dispatch, { envelope, onError: options.onError }))
  return fetchOf(options.cors ?? true ? withCors(core) : core)
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

/** Where the UI finds the API and the Helm view: at the root when the handler serves the root, else under its first prefix. */
function uiConfig(options: Pick<HandlerOptions, 'prefix' | 'helm'>, oci: boolean): UiConfig {
  const prefixes = (options.prefix === undefined ? ['/cnr', ''] : typeof options.prefix === 'string' ? [options.prefix] : [...options.prefix]).map((p) =>
    p.replace(/^\/+|\/+$/g, ''),
  )
  const base = prefixes.includes('') ? '' : `/${prefixes[0]}`
  return { api: `${base}/api/v1`, helm: options.helm === false ? null : `${base}/helm`, oci }
}
