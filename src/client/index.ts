/**
 * A small client of the appr HTTP API v1 (appr-core, the Python appr 0.7.4 server, Quay):
 * where a registry is, how to name its routes, and one request function that turns the server's
 * error answers into {@link ApprError}s. Used by the command-line client and the mirror; reads no
 * environment.
 * @module
 */
import { ApprError, type ErrorCode, httpStatus } from '../errors/index.js'
import type { PackageName } from '../model/index.js'

/** Where and how to reach a registry. */
export interface Client {
  /** `…/api/v1`, without a trailing slash. */
  readonly api: string
  /** Sent verbatim as `Authorization`, as the appr client does. */
  readonly token?: string
  /** `User-Agent` of every request (default `appr-core`). */
  readonly userAgent?: string
}

/**
 * A {@link Client} for a registry URL: the server root, `…/cnr` or `…/cnr/api/v1` (as the appr
 * client accepts them); a root without `/cnr` gets it, as appr servers mount the API there.
 * @throws ApprError `invalid-parameters` when `url` is not an http(s) URL.
 */
export function clientFor(url: string, options: { token?: string | undefined; userAgent?: string } = {}): Client {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ApprError('invalid-parameters', `not a URL: ${String(url).slice(0, 200)}`, { details: { url: String(url).slice(0, 200) } })
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ApprError('invalid-parameters', `a registry URL must be http(s): ${url.slice(0, 200)}`, { details: { url: url.slice(0, 200) } })
  }
  let path = parsed.pathname.replace(/\/+$/, '')
  if (!path.endsWith('/api/v1')) path = `${path.endsWith('/cnr') ? path : `${path}/cnr`}/api/v1`
  return {
    api: `${parsed.origin}${path}`,
    ...(options.token ? { token: options.token } : {}),
    ...(options.userAgent !== undefined && { userAgent: options.userAgent }),
  }
}

/** `…/packages/<ns>/<name>[/rest…]` with each part escaped. */
export function packagePath(client: Client, name: PackageName, ...rest: string[]): string {
  return [`${client.api}/packages`, name.namespace, name.name, ...rest].map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/')
}

/**
 * Sends a request; returns the response when it is 2xx, throws the server's appr error otherwise
 * (also when the registry wraps errors as `{ error: {…} }`, as Quay does). A code this library
 * does not know reaches the caller as `internal-error` with the original code in `details.code`.
 */
export async function call(client: Client, url: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  if (client.token !== undefined) headers.set('Authorization', client.token)
  headers.set('User-Agent', client.userAgent ?? 'appr-core')
  const response = await fetch(url, { ...init, headers })
  if (response.ok) return response
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  const envelope = body as { error?: unknown } | undefined
  const error = (typeof envelope?.error === 'object' ? envelope.error : body) as { code?: unknown; message?: unknown; details?: unknown } | undefined
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    const known = isKnownCode(error.code)
    const code: ErrorCode = isKnownCode(error.code) ? error.code : 'internal-error'
    throw new ApprError(code, error.message, {
      details: { ...(typeof error.details === 'object' && error.details !== null ? error.details : {}), ...(known ? {} : { code: error.code }), status: response.status },
    })
  }
  throw new ApprError('internal-error', `HTTP ${response.status} from ${url}`, { details: { status: response.status, body: text.slice(0, 200) } })
}

function isKnownCode(code: string): code is ErrorCode {
  return Object.hasOwn(httpStatus, code)
}

/** GET a JSON document (unchecked: parse it with a schema before trusting its shape). */
export async function getJson<T>(client: Client, url: string, init: RequestInit = {}): Promise<T> {
  return (await (await call(client, url, init)).json()) as T
}
