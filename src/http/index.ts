/**
 * appr-core/http: the appr REST API v1 as a framework-free WHATWG fetch handler.
 *
 * Mount it in anything that speaks `Request`/`Response` (Hono, Bun, Deno, workers), or in
 * node:http through `appr-core/http/node`.
 * @module
 */
export { createHandler } from './handler.js'
export type { EventRouteOptions } from './events/routes.js'
export type { ErrorEnvelope } from './middleware/errors.js'
export type { HealthOptions } from './middleware/probes.js'
export type { AuthAction, AuthorizeInput, HandlerOptions, HttpMetrics, LoginInput, Operation, RegistryApi, RequestLogger, RequestObservation } from './options.js'
export { type ScopedTokenOptions, type Scope, scopedTokens, parseTokens, type TokenPrincipal, type TokenSpec } from './tokens.js'
export { UI_CSP, type UiAssets, type UiConfig } from './ui/routes.js'
export { APPR_API_VERSION, VERSION } from './version.js'
