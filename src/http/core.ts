/**
 * The handler's core: `(HttpRequest) => Promise<Reply | Response>`, which both the fetch handler
 * and the node listener run. `createHandler` returns a fetch function carrying its core
 * ({@link withCore}), so `createNodeListener` given that function skips `Request` and `Response`
 * ({@link coreOf}); any other fetch function still runs through the WHATWG bridge.
 * @module
 */
import { type Answer, toResponse } from './reply.js'
import { fetchRequestView, type HttpRequest } from './request-view.js'

/** A handler over request views. */
export type CoreHandler = (request: HttpRequest) => Promise<Answer>

/** A middleware: wraps the handler it is given. */
export type Middleware = (next: CoreHandler) => CoreHandler

/** A fetch-style handler. */
export type FetchFunction = (request: Request) => Promise<Response>

const CORE = Symbol('appr-core.http.core')

/** `fetch` with `core` attached (not enumerable), for {@link coreOf}. */
export function withCore(fetch: FetchFunction, core: CoreHandler): FetchFunction {
  Object.defineProperty(fetch, CORE, { value: core })
  return fetch
}

/** The core behind a handler made by `createHandler`, or undefined for any other fetch function. */
export function coreOf(fetch: FetchFunction): CoreHandler | undefined {
  const core = (fetch as unknown as Record<symbol, unknown>)[CORE]
  return typeof core === 'function' ? (core as CoreHandler) : undefined
}

/** The fetch handler of a core. */
export function fetchOf(core: CoreHandler): FetchFunction {
  return withCore(async (request) => toResponse(await core(fetchRequestView(request))), core)
}

/**
 * A middleware written against fetch (`(next: (Request) => Promise<Response>) => …`) as a
 * {@link Middleware}: it runs on both paths, and on the node path it costs the `Request` and
 * `Response` it needs. When it passes the request on unchanged, the rest of the chain keeps the
 * original view (and its light body).
 */
export function fetchMiddleware(wrap: (next: FetchFunction) => FetchFunction): Middleware {
  return (next) => {
    const views = new WeakMap<Request, HttpRequest>()
    const inner = wrap(async (request) => toResponse(await next(views.get(request) ?? fetchRequestView(request))))
    return async (view) => {
      const request = view.request
      views.set(request, view)
      return inner(request)
    }
  }
}
