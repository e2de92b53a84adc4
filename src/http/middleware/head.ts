/**
 * HEAD: the router runs a HEAD request as GET (`routeMethod`); this drops the body afterwards,
 * so every GET route answers HEAD with its exact headers without a HEAD variant of its own.
 * @module
 */

/** Wraps `handler` so that a HEAD request gets the GET response's status and headers, no body. */
export function withHead(handler: (request: Request) => Promise<Response>): (request: Request) => Promise<Response> {
  return async (request) => {
    const response = await handler(request)
    if (request.method !== 'HEAD' || response.body === null) return response
    // Keep the headers (Content-Length included) and drop the body without reading it.
    await response.body.cancel().catch(() => {})
    return new Response(null, { status: response.status, headers: response.headers })
  }
}
