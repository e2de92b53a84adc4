/**
 * `createHandler`: the HTTP surfaces as one `(Request) => Promise<Response>` function over a
 * `Registry`. It only composes: the surfaces' routes (`appr/routes.ts`) go into one router
 * (`router.ts`), and the middleware (`middleware/`) wraps the dispatch.
 * @module
 */
import { apprRoutes } from './appr/routes.js'
import { helmRoutes } from './helm/routes.js'
import { authCheck } from './middleware/auth.js'
import { withCors } from './middleware/cors.js'
import { catchErrors, errorResponse } from './middleware/errors.js'
import { withHead } from './middleware/head.js'
import type { HandlerOptions, RegistryApi } from './options.js'
import { createRouter, methodNotAllowed, optionsResponse, routeMethod } from './router.js'

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
  const router = createRouter([...apprRoutes(registry, options), ...helmRoutes(registry, options)], options.prefix)
  const authorize = authCheck(options)

  async function dispatch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const { route, params, allowed } = router.find(url.pathname)
    if (request.method === 'OPTIONS') return optionsResponse(allowed)
    const endpoint = route.methods[routeMethod(request)]
    if (endpoint === undefined) {
      const response = errorResponse(methodNotAllowed(request, url.pathname, allowed), envelope)
      response.headers.set('allow', allowed.join(', '))
      return response
    }
    const pkg = route.package?.(params) ?? ''
    await authorize(request, endpoint, pkg)
    return endpoint.run({ request, url, params, pkg })
  }

  const handler = withHead(catchErrors(dispatch, { envelope, onError: options.onError }))
  return options.cors ?? true ? withCors(handler) : handler
}
