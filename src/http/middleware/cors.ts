/**
 * CORS: `Access-Control-Allow-Origin` on every response, and the preflight headers on the
 * router's OPTIONS answers, so a browser front end can call any surface.
 * @module
 */
import type { CoreHandler } from '../core.js'
import { appendHeader, getHeader, setHeader } from '../reply.js'

/**
 * Wraps `handler` so that every answer allows the request's `Origin` (or `*` without one), and
 * an OPTIONS answer (204 with `Allow`) also allows those methods and the requested headers.
 */
export function withCors(handler: CoreHandler): CoreHandler {
  return async (request) => {
    const answer = await handler(request)
    const origin = request.headers.get('origin')
    if (request.method === 'OPTIONS' && answer.status === 204) {
      const allow = getHeader(answer, 'allow')
      if (allow !== null) {
        setHeader(answer, 'access-control-allow-methods', allow)
        setHeader(answer, 'access-control-allow-headers', request.headers.get('access-control-request-headers') ?? 'Authorization, Content-Type')
        setHeader(answer, 'access-control-max-age', '600')
      }
    }
    setHeader(answer, 'access-control-allow-origin', origin ?? '*')
    if (origin !== null) appendHeader(answer, 'vary', 'Origin')
    return answer
  }
}
