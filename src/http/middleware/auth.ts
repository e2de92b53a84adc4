/**
 * Authentication and authorization: one check in front of every non-public endpoint of every
 * surface, driven by the `authenticate` and `authorize` options.
 * @module
 */
import { ApprError } from '../../errors/index.js'
import type { AuthAction, AuthorizeInput, HandlerOptions } from '../options.js'
import type { HttpRequest } from '../request-view.js'
import type { Endpoint } from '../router.js'

/**
 * Lets a request run `endpoint` (naming package `pkg`, or `''`), or throws why not. Resolves
 * with the principal `authenticate` identified (undefined: anonymous, or a public endpoint).
 */
export type AuthCheck = (request: HttpRequest, endpoint: Endpoint, pkg: string) => Promise<unknown>

/**
 * The check for these options. Refusals are 401 `unauthorized-access` for anonymous callers (a
 * request whose credentials match nobody is told so) and 403 `forbidden` otherwise. Without
 * `authorize`: everything but admin routes is allowed without `authenticate`; with it, reads are
 * open and writes and admin routes need a principal.
 */
export function authCheck<P>({ authenticate, authorize: given }: Pick<HandlerOptions<P>, 'authenticate' | 'authorize'>): AuthCheck {
  const authorize =
    given ??
    (authenticate === undefined
      ? // Admin routes back up, restore and delete: never open to everyone.
        ({ action }: AuthorizeInput<P>) => action !== 'admin'
      : // The change feed shows every package's changes: a read, but not an anonymous one.
        ({ action, operation, principal }: AuthorizeInput<P>) => (action === 'read' && operation !== 'events') || principal !== undefined)
  return async (request, endpoint, pkg) => {
    if (endpoint.public === true) return undefined
    const action: AuthAction = endpoint.action ?? (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write')
    // The hooks take a WHATWG Request: built (on the node path) only when a hook reads it.
    const principal = authenticate === undefined ? undefined : await authenticate(request.request)
    const input: AuthorizeInput<P> = {
      principal,
      action,
      operation: endpoint.operation,
      get request() {
        return request.request
      },
      ...(pkg ? { package: pkg } : {}),
    }
    if (!(await authorize(input))) {
      throw principal === undefined
        ? new ApprError('unauthorized-access', request.headers.has('authorization') ? 'the credentials are not valid' : 'authentication required')
        : new ApprError('forbidden', 'not allowed', { details: { operation: endpoint.operation } })
    }
    return principal
  }
}
