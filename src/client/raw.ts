/**
 * The client's low level, for routes and uses the typed methods do not cover (a mirror reading
 * another server's answers through its own schemas): a registry address, escaped package paths,
 * and one request that turns error answers into {@link ApprError}s exactly as `createClient` does.
 * @module
 */
import { apiBase, errorOf, unreachable } from './transport.js'

/** Where and how to reach a registry. */
export interface Client {
  /** `…/api/v1`, without a trailing slash. */
  readonly api: string
  /** Sent verbatim as `Authorization`, as the appr client does. */
  readonly token?: string
  /** `User-Agent` of every request (default `appr-core`; browsers ignore it). */
  readonly userAgent?: string
}

/**
 * A {@link Client} for a registry URL: the server root, `…/cnr` or `…/cnr/api/v1`.
 * @throws ApprError `invalid-parameters` when `url` is not an http(s) URL.
 */
export function clientFor(url: string, options: { token?: string | undefined; userAgent?: string } = {}): Client {
  return {
    api: apiBase(url).api,
    ...(options.token ? { token: options.token } : {}),
    ...(options.userAgent !== undefined && { userAgent: options.userAgent }),
  }
}

/** `…/packages/<ns>/<name>[/rest…]` with each part escaped. */
export function packagePath(client: Client, name: { readonly namespace: string; readonly name: string }, ...rest: string[]): string {
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
  const response = await fetch(url, { ...init, headers }).catch((error: unknown) => {
    // The caller's abort stays an abort; anything else never reached the server: say where.
    throw init.signal?.aborted ? error : unreachable(url, error)
  })
  if (response.ok) return response
  throw await errorOf(response, url)
}

/** GET a JSON document (unchecked: parse it with a schema before trusting its shape). */
export async function getJson<T>(client: Client, url: string, init: RequestInit = {}): Promise<T> {
  return (await (await call(client, url, init)).json()) as T
}
