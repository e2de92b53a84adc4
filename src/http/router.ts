/**
 * Routing, shared by every HTTP surface: the {@link Route} a surface declares, and the router
 * that finds the route of a request path under the handler's prefixes. A surface (appr today,
 * later OCI's `/v2/` or a Helm `index.yaml`) only contributes `Route[]`; matching, OPTIONS and 405
 * are answered here the same way for all of them.
 * @module
 */
import { ApprError } from '../errors/index.js'
import type { AuthAction, Operation } from './options.js'
import { type Answer, type Reply, reply } from './reply.js'
import type { HttpRequest } from './request-view.js'

/** Methods a route can declare; HEAD is answered by GET (see `middleware/head.ts`). */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** Path parameters by name (`:ns` in a route path → `params.ns`), percent-decoded. */
export type Params = Record<string, string>

/** What an endpoint gets for one request. */
export interface RouteContext {
  /** The request: method, path, query, headers, body as chunks (no WHATWG objects behind it on the node path). */
  readonly req: HttpRequest
  /** The query string's parameters (`req.query`). */
  readonly query: URLSearchParams
  /** The WHATWG `Request`, for code written against fetch; on the node path it is built when first read. */
  readonly request: Request
  /** The whole URL; on the node path it is built when first read (prefer {@link query}). */
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
  /** The answer: a {@link Reply} (cheapest on the node path) or a WHATWG `Response`. */
  readonly run: (ctx: RouteContext) => Promise<Answer>
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
  readonly errorResponse?: (error: unknown, request: Request) => Answer
  /** As {@link errorResponse}, from the request view (no WHATWG `Request` is built); preferred when both are given. */
  readonly errorReply?: (error: unknown, request: HttpRequest) => Answer
}

/** A route and the parameters of one request path. */
export interface RouteMatch {
  readonly route: Route
  readonly params: Params
  /** The route's methods, in declaration order (for `Allow`). */
  readonly allowed: readonly Method[]
  /** The `Allow` header of an OPTIONS answer ({@link allowHeader}). */
  readonly allow: string
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
  readonly allow: string
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
    const allowed = Object.keys(route.methods) as Method[]
    return { route, pattern, rest: pattern.findIndex((s) => s.startsWith('*')), allowed, allow: allowHeader(allowed) }
  })
  // The routes a path of n segments can match, in declaration order: those of exactly n
  // segments and every `*name` route.
  const bySegments = new Map<number, CompiledRoute[]>()
  const candidates = (n: number): readonly CompiledRoute[] => {
    let list = bySegments.get(n)
    if (list === undefined) {
      list = compiled.filter((c) => (c.rest < 0 ? c.pattern.length === n : c.pattern.length <= n))
      if (bySegments.size < 64) bySegments.set(n, list)
    }
    return list
  }

  function stripPrefix(pathname: string): string | undefined {
    for (const p of prefixes) {
      if (p === '') return pathname
      if (pathname === p || pathname.startsWith(`${p}/`)) return pathname.slice(p.length)
    }
    return undefined
  }

  /** True when `pattern` matches `segments` from `at` on (same count); allocates nothing. */
  function fits(pattern: readonly string[], from: number, segments: readonly string[], at: number, count: number): boolean {
    for (let i = 0; i < count; i++) {
      const want = pattern[from + i]!
      if (want.charCodeAt(0) !== 0x3a && want !== segments[at + i]) return false
    }
    return true
  }

  /** Copies the `:name` segments of a pattern that {@link fits} into `params`. */
  function fill(pattern: readonly string[], from: number, segments: readonly string[], at: number, count: number, params: Params): void {
    for (let i = 0; i < count; i++) {
      const want = pattern[from + i]!
      if (want.charCodeAt(0) === 0x3a) params[want.slice(1)] = segments[at + i]!
    }
  }

  function match(segments: readonly string[]): RouteMatch | undefined {
    const n = segments.length
    for (const { route, pattern, rest, allowed, allow } of candidates(n)) {
      if (rest < 0) {
        if (!fits(pattern, 0, segments, 0, n)) continue
        const params: Params = {}
        fill(pattern, 0, segments, 0, n, params)
        return { route, params, allowed, allow }
      }
      const after = pattern.length - rest - 1
      const taken = n - rest - after
      if (taken < 1 || !fits(pattern, 0, segments, 0, rest) || !fits(pattern, rest + 1, segments, n - after, after)) continue
      const params: Params = {}
      fill(pattern, 0, segments, 0, rest, params)
      fill(pattern, rest + 1, segments, n - after, after, params)
      params[pattern[rest]!.slice(1)] = segments.slice(rest, rest + taken).join('/')
      return { route, params, allowed, allow }
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
        segments = raw.map((s) => (s.includes('%') ? decodeURIComponent(s) : s))
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
export function routeMethod(method: string): Method {
  return (method === 'HEAD' ? 'GET' : method) as Method
}

/** The `Allow` list of a route: its methods, HEAD with GET, and OPTIONS. */
export function allowHeader(allowed: readonly Method[]): string {
  return [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ')
}

/** The answer to OPTIONS on a route (CORS adds its preflight headers in `middleware/cors.ts`). */
export function optionsReply(match: RouteMatch): Reply {
  return reply(204, { allow: match.allow })
}

/** The error for a method the route does not declare (405; the caller adds `Allow`). */
export function methodNotAllowed(method: string, pathname: string, allowed: readonly Method[]): ApprError {
  return new ApprError('method-not-allowed', `${method} is not allowed on ${pathname}`, {
    details: { method, allowed },
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
