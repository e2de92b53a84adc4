/**
 * CORS: `Access-Control-Allow-Origin` on every response, and the preflight headers on the
 * router's OPTIONS answers, so a browser front end can call any surface.
 * @module
 */

/**
 * Wraps `handler` so that every response allows the request's `Origin` (or `*` without one), and
 * an OPTIONS answer (204 with `Allow`) also allows those methods and the requested headers.
 */
export function withCors(handler: (request: Request) => Promise<Response>): (request: Request) => Promise<Response> {
  return async (request) => {
    const response = await handler(request)
    const allow = response.headers.get('allow')
    if (request.method === 'OPTIONS' && response.status === 204 && allow !== null) {
      response.headers.set('access-control-allow-methods', allow)
      response.headers.set('access-control-allow-headers', request.headers.get('access-control-request-headers') ?? 'Authorization, Content-Type')
      response.headers.set('access-control-max-age', '600')
    }
    response.headers.set('access-control-allow-origin', request.headers.get('origin') ?? '*')
    if (request.headers.has('origin')) response.headers.append('vary', 'Origin')
    return response
  }
}
