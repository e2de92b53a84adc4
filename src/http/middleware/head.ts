/**
 * HEAD: the router runs a HEAD request as GET (`routeMethod`); this drops the body afterwards,
 * so every GET route answers HEAD with its exact headers without a HEAD variant of its own.
 * @module
 */
import type { CoreHandler } from '../core.js'
import { withoutBody } from '../reply.js'

/** Wraps `handler` so that a HEAD request gets the GET answer's status and headers, no body. */
export function withHead(handler: CoreHandler): CoreHandler {
  return async (request) => {
    const answer = await handler(request)
    return request.method === 'HEAD' ? withoutBody(answer) : answer
  }
}
