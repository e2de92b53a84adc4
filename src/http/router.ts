/**
 * Routing, shared by every HTTP surface: the {@link Route} a surface declares, and the router
 * that finds the route of a request path under the handler's prefixes. A surface (appr today,
 * later OCI's `/v2/` or a Helm `index.yaml`) only contributes `Route[]`; matching, OPTIONS and 405
 * are answered here the same way for all of them.
 * @module
 */
import { ApprError } from '../errors/index.js'
import type { AuthAction, Operation } from './options.js'

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
  /** What the authorize hook is told the request does (default: `read` for GET, `write` otherwise). */
  readonly action?: AuthAction
  /** Answers everyone without asking `authenticate`/`authorize` (clients call these before they hold a token). */
  readonly public?: boolean
  readonly run: (ctx: RouteContext) => Promise<Response>
}

/** A path and what each method does there. */
export interface Route {
  /**
   * `/`-separated segments below the prefix; `:name` segments match any one non-empty segment and
   * become `params.name`; one `*name` segment matches one or more segments (joined by `/`, the
   * segments after it matched from the end of the path, as OCI repository names need). Among
   * routes that match a path, the first one declared wins.
   */
  readonly path: string
  /** A route with no methods answers 404 (a feature switched off by an option). */
  readonly methods: Partial<Record<Method, Endpoint>>
  /** The package a request on this route names, given to the authorize hook and to endpoints. */
  readonly package?: (params: Params) => string
  /**
   * The surface's own error envelope for whatever this route's auth check or endpoint throws
   * (OCI answers `{errors: […]}`); default: the handler's appr envelope.
   */
  readonly errorResponse?: (error: unknown, request: Request) => Response
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
  /** Index of the `*name` segment, or -1. */
  readonly rest: number
  readonly allowed: readonly Method[]
}

/**
 * Compiles `routes` served under `prefix` (default `['/cnr', '']`: the appr client's `/cnr` and
 * the root; a single string serves only that prefix). Routes are compiled here, once, so that
 * indexing them (by segment count, by first segment) stays a change to this file alone.
 */
export function createRouter(routes: readonly Route[], prefix?: string | readonly string[]): Router {
  const prefixes = normalisePrefixes(prefix)
  const compiled: CompiledRoute[] = routes.map((route) => {
    const pattern = route.path.split('/').filter((s) => s !== '')
    return { route, pattern, rest: pattern.findIndex((s) => s.startsWith('*')), allowed: Object.keys(route.methods) as Method[] }
  })

  function stripPrefix(pathname: string): string | undefined {
    for (const p of prefixes) {
      if (p === '') return pathname
      if (pathname === p || pathname.startsWith(`${p}/`)) return pathname.slice(p.length)
    }
    return undefined
  }

  /** Matches `pattern` segment by segment against `segments` (same length), filling `params`. */
  function matchFixed(pattern: readonly string[], segments: readonly string[], params: Params): boolean {
    for (let i = 0; i < segments.length; i++) {
      const want = pattern[i]!
      const got = segments[i]!
      if (want.startsWith(':')) params[want.slice(1)] = got
      else if (want !== got) return false
    }
    return true
  }

  function match(segments: readonly string[]): RouteMatch | undefined {
    for (const { route, pattern, rest, allowed } of compiled) {
      const params: Params = {}
      if (rest < 0) {
        if (pattern.length === segments.length && matchFixed(pattern, segments, params)) return { route, params, allowed }
        continue
      }
      const after = pattern.length - rest - 1
      const taken = segments.length - rest - after
      if (taken < 1) continue
      if (!matchFixed(pattern.slice(0, rest), segments.slice(0, rest), params)) continue
      if (!matchFixed(pattern.slice(rest + 1), segments.slice(segments.length - after), params)) continue
      params[pattern[rest]!.slice(1)] = segments.slice(rest, rest + taken).join('/')
      return { route, params, allowed }
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
