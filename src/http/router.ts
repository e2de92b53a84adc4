/**
 * Routing, shared by every HTTP surface: the {@link Route} a surface declares, and the router
 * that finds the route of a request path under the handler's prefixes. A surface (appr today,
 * later OCI's `/v2/` or a Helm `index.yaml`) only contributes `Route[]`; matching, OPTIONS and 405
 * are answered here the same way for all of them.
 * @module
 */
import { ApprError } from '../errors/index.js'
import type { Operation } from './options.js'

/** Methods a route can declare; HEAD is answered by GET (see `middleware/head.ts`). */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** Path parameters by name (`:ns` in a route path → `params.ns`), percent-decoded. */
export type Params = Record<string, string>

/** What an endpoint gets for one request. */
export interface RouteContext {
  readonly request: Request
  readonly url: URL
  readonly params: Params
  /** The package the route names (its {@link Route.package}), or `''`. */
  readonly pkg: string
}

/** One method of a route. */
export interface Endpoint {
  /** Names the request for the authorize hook. */
  readonly operation: Operation
  /** Answers everyone without asking `authenticate`/`authorize` (clients call these before they hold a token). */
  readonly public?: boolean
  readonly run: (ctx: RouteContext) => Promise<Response>
}

/** A path and what each method does there. */
export interface Route {
  /**
   * `/`-separated segments below the prefix; `:name` segments match any one non-empty segment and
   * become `params.name`. Among routes that match a path, the first one declared wins.
   */
  readonly path: string
  /** A route with no methods answers 404 (a feature switched off by an option). */
  readonly methods: Partial<Record<Method, Endpoint>>
  /** The package a request on this route names, given to the authorize hook and to endpoints. */
  readonly package?: (params: Params) => string
}

/** A route and the parameters of one request path. */
export interface RouteMatch {
  readonly route: Route
  readonly params: Params
  /** The route's methods, in declaration order (for `Allow`). */
  readonly allowed: readonly Method[]
}

/** Finds routes for request paths; built once per handler by {@link createRouter}. */
export interface Router {
  /**
   * The route of `pathname` (prefix included).
   * @throws resource-not-found when no prefix or route matches, or the route has no methods
   * @throws invalid-usage when the path is not valid percent-encoding
   */
  find(pathname: string): RouteMatch
}

interface CompiledRoute {
  readonly route: Route
  readonly pattern: readonly string[]
  readonly allowed: readonly Method[]
}

/**
 * Compiles `routes` served under `prefix` (default `['/cnr', '']`: the appr client's `/cnr` and
 * the root; a single string serves only that prefix). Routes are compiled here, once, so that
 * indexing them (by segment count, by first segment) stays a change to this file alone.
 */
export function createRouter(routes: readonly Route[], prefix?: string | readonly string[]): Router {
  const prefixes = normalisePrefixes(prefix)
  const compiled: CompiledRoute[] = routes.map((route) => ({
    route,
    pattern: route.path.split('/').filter((s) => s !== ''),
    allowed: Object.keys(route.methods) as Method[],
  }))

  function stripPrefix(pathname: string): string | undefined {
    for (const p of prefixes) {
      if (p === '') return pathname
      if (pathname === p || pathname.startsWith(`${p}/`)) return pathname.slice(p.length)
    }
    return undefined
  }

  function match(segments: readonly string[]): RouteMatch | undefined {
    for (const { route, pattern, allowed } of compiled) {
      if (pattern.length !== segments.length) continue
      const params: Params = {}
      let ok = true
      for (let i = 0; i < segments.length && ok; i++) {
        const want = pattern[i]!
        const got = segments[i]!
        if (want.startsWith(':')) params[want.slice(1)] = got
        else ok = want === got
      }
      if (ok) return { route, params, allowed }
    }
    return undefined
  }

  return {
    find(pathname) {
      const rest = stripPrefix(pathname)
      if (rest === undefined) throw routeNotFound(pathname)
      const raw = rest.replace(/\/+$/, '').split('/').slice(1)
      let segments: string[]
      try {
        segments = raw.map((s) => decodeURIComponent(s))
      } catch {
        throw new ApprError('invalid-usage', 'the request path is not valid percent-encoding')
      }
      if (segments.some((s) => s === '')) throw routeNotFound(pathname)
      const found = match(segments)
      if (found === undefined || found.allowed.length === 0) throw routeNotFound(pathname)
      return found
    },
  }
}

/** The method a request runs as: HEAD runs GET (its body is dropped by `withHead`). */
export function routeMethod(request: Request): Method {
  return (request.method === 'HEAD' ? 'GET' : request.method) as Method
}

/** The `Allow` list of a route: its methods, HEAD with GET, and OPTIONS. */
export function allowHeader(allowed: readonly Method[]): string {
  return [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ')
}

/** The answer to OPTIONS on a route (CORS adds its preflight headers in `middleware/cors.ts`). */
export function optionsResponse(allowed: readonly Method[]): Response {
  return new Response(null, { status: 204, headers: { allow: allowHeader(allowed) } })
}

/** The error for a method the route does not declare (405; the caller adds `Allow`). */
export function methodNotAllowed(request: Request, pathname: string, allowed: readonly Method[]): ApprError {
  return new ApprError('method-not-allowed', `${request.method} is not allowed on ${pathname}`, {
    details: { method: request.method, allowed },
  })
}

function routeNotFound(path: string): ApprError {
  return new ApprError('resource-not-found', `no route for ${path}`, { details: { path } })
}

function normalisePrefixes(prefix: string | readonly string[] | undefined): string[] {
  const list = prefix === undefined ? ['/cnr', ''] : typeof prefix === 'string' ? [prefix] : [...prefix]
  const cleaned = list.map((p) => {
    const trimmed = p.replace(/\/+$/, '')
    return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`
  })
  // Longest first, so `/cnr/version` is not read as the root route `/cnr/...`.
  return [...new Set(cleaned)].sort((a, b) => b.length - a.length)
}
