/**
 * The public vocabulary of `appr-core/http`: the options of `createHandler` and the inputs of its
 * hooks. Every surface's routes share it, so an authorize hook sees one {@link Operation} type.
 * @module
 */
import type { Registry } from '../registry/registry.js'
import type { EventRouteOptions } from './events/routes.js'
import type { ErrorEnvelope } from './middleware/errors.js'
import type { HealthOptions } from './middleware/probes.js'
import type { UiAssets } from './ui/routes.js'

/** The part of {@link Registry} the handler calls, so a wrapper or another implementation fits. */
export type RegistryApi = Pick<
  Registry,
  'push' | 'stage' | 'show' | 'pull' | 'blob' | 'releases' | 'manifests' | 'list' | 'search' | 'delete' | 'channels' | 'showByDigest' | 'signatures'
> &
  Partial<Pick<Registry, 'ociBlobs' | 'ociManifests' | 'events' | 'namespaces' | 'listManifests' | 'as' | 'ping' | 'backup' | 'restore' | 'backupStream' | 'restoreStream' | 'gc' | 'stats'>>

/**
 * What a route does: `read` for GET/HEAD routes, `write` for every route that changes data,
 * `admin` for the admin routes (backup, restore, gc, stats; {@link HandlerOptions.admin}).
 */
export type AuthAction = 'read' | 'write' | 'admin'

/** The registry operation a request asks for. */
export type Operation =
  | 'version'
  | 'login'
  | 'list'
  | 'namespaces'
  | 'search'
  | 'push'
  | 'releases'
  | 'manifests'
  | 'show'
  | 'delete'
  | 'pull'
  | 'blob'
  | 'channel-list'
  | 'channel-show'
  | 'channel-add'
  | 'channel-remove'
  | 'channel-delete'
  | 'oci-ping'
  | 'oci-catalog'
  | 'oci-tags'
  | 'oci-manifest'
  | 'oci-blob'
  | 'oci-upload'
  | 'oci-token'
  | 'signature-list'
  | 'signature-add'
  | 'signature-remove'
  | 'events'
  | 'helm-index'
  | 'helm-chart'
  | 'admin-backup'
  | 'admin-restore'
  | 'admin-gc'
  | 'admin-stats'
  | 'ui'

/**
 * Where request log lines go: a pino logger fits, as does anything with these three methods.
 * Each call gets the line's fields and its message.
 */
export interface RequestLogger {
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
}

/** One finished request, as {@link HttpMetrics.request} sees it. */
export interface RequestObservation {
  /** The method, or `OTHER` for one no route declares. */
  readonly method: string
  /** The route template (`/api/v1/packages/:ns/:name`), `/healthz` and the like, or `(none)` when no route matched. */
  readonly route: string
  readonly status: number
  /** From the request's arrival to the end of its response body. */
  readonly seconds: number
  readonly operation: Operation | undefined
  /** What the request failed with, if anything. */
  readonly error: unknown
}

/**
 * What the handler needs of a metrics registry (`createMetrics()` of `appr-core/metrics`
 * implements it on prom-client; the handler itself does not depend on prom-client).
 */
export interface HttpMetrics {
  /** Counts one finished request. */
  request(observation: RequestObservation): void
  /** The text `GET /metrics` answers. */
  exposition(): Promise<{ readonly contentType: string; readonly body: string }>
}

/** Input of the {@link HandlerOptions.authorize} hook. */
export interface AuthorizeInput<P> {
  /** What `authenticate` returned (undefined: anonymous). */
  readonly principal: P | undefined
  readonly action: AuthAction
  readonly operation: Operation
  /** `namespace/name` as written in the URL (not yet validated), for package routes. */
  readonly package?: string
  readonly request: Request
}

/** Input of the {@link HandlerOptions.login} hook (`POST /api/v1/users/login`). */
export interface LoginInput {
  readonly username: string
  readonly password: string
  readonly request: Request
}

/** Options of `createHandler`. */
export interface HandlerOptions<P = unknown> {
  /**
   * Path prefixes the API is served under (default `['/cnr', '']`: the appr client's `/cnr` and
   * the root). A single string serves only that prefix.
   */
  readonly prefix?: string | readonly string[]
  /** Send `Access-Control-Allow-Origin` (`*`, or the request's `Origin`) and answer preflights (default true). */
  readonly cors?: boolean
  /** Largest accepted request body in bytes; larger is 413 `payload-too-large` (default 96 MiB). */
  readonly maxBodyBytes?: number
  /** `appr` (default): `{code, message, details}`; `quay`: `{"error": {code, message, details}}`. */
  readonly errorEnvelope?: ErrorEnvelope
  /** Resolve release queries among releases that have the requested format (default false, as appr). */
  readonly formatAware?: boolean
  /**
   * Serve the OCI Distribution API at `/v2/` (always at the root, whatever `prefix` says), when
   * the registry has `ociBlobs` and `ociManifests` (default true). See docs/oci.md.
   */
  readonly oci?: boolean
  /**
   * How `/v2/` asks OCI clients for credentials (docs/oci.md). `challenge`: `bearer` answers 401
   * with `WWW-Authenticate: Bearer realm=…,service=…,scope=…` and serves the token endpoint at
   * `realm` (default this server's `/v2/token`), where clients exchange Basic credentials
   * (through `login`) or a token `authenticate` accepts for a token they then send as
   * `Authorization: Bearer <token>`; `basic` answers `Basic realm="appr-core"`. Default: `bearer`
   * when `login` is given, else `basic`. `service` names this registry in the challenge (default
   * `appr-core`).
   */
  readonly ociAuth?: { readonly challenge?: 'basic' | 'bearer'; readonly realm?: string; readonly service?: string }
  /**
   * Smallest chunk, in bytes, of a chunked OCI upload except its last: sent as
   * `OCI-Chunk-Min-Length` on upload POST answers, and a chunk that follows a shorter one is
   * refused (`BLOB_UPLOAD_INVALID`). Default 0: no minimum, no header.
   */
  readonly ociChunkMinLength?: number
  /** API level `GET /version` reports as `appr-api` (default `0.7.4`, the reference's; appr-core's own version is `appr-core`). */
  readonly version?: string
  /**
   * Identifies the caller (the appr client sends `Authorization: <token>` verbatim). Return
   * undefined for anonymous; throw an ApprError (`unauthorized-access`) to refuse outright.
   */
  readonly authenticate?: (request: Request) => P | undefined | Promise<P | undefined>
  /**
   * Decides whether a request may proceed. Refusals are 401 `unauthorized-access` for
   * anonymous callers and 403 `forbidden` otherwise. Default: without `authenticate`, everything
   * but the admin routes is allowed; with it, reads are open and writes and admin routes need a
   * principal. {@link scopedTokens} makes all three hooks from a list of scoped tokens.
   */
  readonly authorize?: (input: AuthorizeInput<P>) => boolean | Promise<boolean>
  /**
   * Names the principal in the change feed: the events a write records carry it as `actor`
   * (through `registry.as(actor)`). Return undefined to record none. Default: a string principal
   * itself, or a principal object's string `name`.
   */
  readonly actor?: (principal: P) => string | undefined
  /**
   * Enables Quay's `POST /api/v1/users/login` (`{"user": {"username", "password"}}` → `{token}`).
   * Return the token, or undefined to refuse (401).
   */
  readonly login?: (input: LoginInput) => string | undefined | Promise<string | undefined>
  /**
   * Serve the change feed at `GET /api/v1/events` (docs/events.md; default false). With
   * `authenticate` and no `authorize`, it needs a principal, though it is a read. An object turns
   * it on with options ({@link EventRouteOptions}: how often a held long poll reads the feed).
   */
  readonly events?: boolean | EventRouteOptions
  /**
   * Serve the Helm chart repository view, `…/helm/<namespace>/index.yaml` and `…/helm/index.yaml`
   * with the chart archives they list (default true; read-only, behind the same auth hooks).
   */
  readonly helm?: boolean
  /**
   * Serve the admin routes — `GET …/api/v1/admin/stats`, `POST …/admin/gc`, `GET …/admin/backup`
   * (NDJSON, or `?format=json`), `POST …/admin/restore` — when the registry has those methods
   * (default false). They are the `admin` action: refused unless `authorize` allows it (the default
   * hook allows it to any principal, never to anonymous callers). See docs/operate.md.
   */
  readonly admin?: boolean
  /**
   * Serve the web UI at `/ui` (at the host's root, whatever `prefix` says) from these bundled
   * assets (`loadUiAssets()` or `bundleUi()` of `src/ui/bundle.ts`; default: no UI). Its files are
   * public (operation `ui`); what it shows comes through the API and its auth hooks. See docs/ui.md.
   */
  readonly ui?: UiAssets
  /** Called with every unexpected (non-ApprError) exception before a bare 500 is answered. */
  readonly onError?: (error: unknown, request: Request) => void
  /**
   * Answer `GET /healthz` (200 while the process runs) and `GET /readyz` (200 when a store round
   * trip succeeds within the deadline, else 503 with the reason) at the root, outside every
   * prefix, without credentials (default false; `appr-core serve` turns them on).
   */
  readonly health?: boolean | HealthOptions
  /**
   * Count every request (by method, route template and status, with its latency) here, and
   * answer `GET /metrics` at the root with its text, without credentials. See docs/monitoring.md.
   */
  readonly metrics?: HttpMetrics
  /**
   * Log one line per request once its response has gone out: request id, method, path (secret
   * query values masked), route, status, bytes, ms, operation, principal, the error's code;
   * 5xx at `error`. Headers and bodies are never logged. Every response carries `X-Request-Id`
   * (the client's when sane, else a fresh UUID) whenever `logger` or `metrics` is set.
   */
  readonly logger?: RequestLogger
  /**
   * The principal's name in log lines (default: a string principal as is, or an object's
   * string `name` or `id`; anything else is left out).
   */
  readonly principalName?: (principal: P) => string | undefined
}
