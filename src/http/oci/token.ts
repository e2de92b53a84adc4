/**
 * How `/v2/` asks OCI clients for credentials, and the Bearer token endpoint of the token flow
 * that docker, Helm (oras) and skopeo expect: a 401 with `WWW-Authenticate: Bearer
 * realm=…,service=…,scope=…` ({@link ociChallenge}), then a GET of the realm with Basic
 * credentials or a token already held ({@link tokenEndpoint}). The token handed out is the one
 * the handler's `login` hook answers (with `serve --token T`, `T` itself), so `authenticate`
 * accepts it as `Authorization: Bearer <token>` like any other request: nothing is signed or
 * remembered here, and any process on the same store answers it.
 * @module
 */
import { OciError } from '../../oci/errors.js'
import type { HandlerOptions } from '../options.js'
import { jsonReply } from '../reply.js'
import type { HttpRequest } from '../request-view.js'
import type { Endpoint } from '../router.js'

/** The token an anonymous token request gets: it stands for no credentials at all. */
export const ANONYMOUS_TOKEN = 'appr-core.anonymous'

/** Where the token endpoint answers (at the host's root, like every `/v2/` route). */
export const TOKEN_PATH = '/v2/token'

/** Seconds a token is said to last. The appr token does not expire; clients fetch again after this. */
const EXPIRES_IN = 3600

/** The resolved `ociAuth` options. */
export interface OciAuthSettings {
  readonly challenge: 'basic' | 'bearer'
  readonly realm: string | undefined
  readonly service: string
}

/** `ociAuth` with its defaults: Bearer when the handler can exchange credentials for a token (`login`), else Basic. */
export function ociAuthSettings(options: Pick<HandlerOptions, 'ociAuth' | 'login'>): OciAuthSettings {
  return {
    challenge: options.ociAuth?.challenge ?? (options.login ? 'bearer' : 'basic'),
    realm: options.ociAuth?.realm,
    service: options.ociAuth?.service ?? 'appr-core',
  }
}

/** Whether a request carries the anonymous token, which means the same as carrying nothing. */
export function isAnonymousToken(request: { readonly headers: { get(name: string): string | null } }): boolean {
  return /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1] === ANONYMOUS_TOKEN
}

/** `authenticate` as the OCI surface runs it: the anonymous token is no credential. */
export function ociAuthenticate<P>(authenticate: HandlerOptions<P>['authenticate']): HandlerOptions<P>['authenticate'] {
  if (!authenticate) return undefined
  return (request) => (isAnonymousToken(request) ? undefined : authenticate(request))
}

/**
 * The scope a request on `/v2/…` needs, as CNCF distribution names it: `repository:<name>:pull`
 * for reads, `…:pull,push` for writes, `…:delete` for deletes, `registry:catalog:*` for the
 * catalog; none for the ping and unknown paths.
 */
export function scopeOf(request: Pick<HttpRequest, 'method' | 'path'>): string | undefined {
  const pathname = request.path
  if (pathname === '/v2/_catalog') return 'registry:catalog:*'
  const m = /^\/v2\/(.+?)\/(?:blobs\/uploads(?:\/[^/]+)?|blobs\/[^/]+|manifests\/[^/]+|tags\/list|referrers\/[^/]+)\/?$/.exec(pathname)
  if (!m) return undefined
  let name: string
  try {
    name = decodeURIComponent(m[1]!)
  } catch {
    return undefined
  }
  const method = request.method
  const actions = method === 'GET' || method === 'HEAD' ? 'pull' : method === 'DELETE' ? 'delete' : 'pull,push'
  return `repository:${name}:${actions}`
}

const quoted = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`

/** The realm clients are sent to: the option, else this server's own token path (https when a proxy says so). */
function realmOf(settings: OciAuthSettings, request: HttpRequest): string {
  if (settings.realm) return settings.realm
  const url = request.url
  const proto = request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase()
  return `${proto === 'https' ? 'https:' : url.protocol}//${url.host}${TOKEN_PATH}`
}

/** The `WWW-Authenticate` value of a 401 on `request`. */
export function ociChallenge(settings: OciAuthSettings, request: HttpRequest): string {
  if (settings.challenge === 'basic') return 'Basic realm="appr-core"'
  const scope = scopeOf(request)
  return `Bearer realm=${quoted(realmOf(settings, request))},service=${quoted(settings.service)}${scope ? `,scope=${quoted(scope)}` : ''}`
}

function unauthorized(message: string): OciError {
  return new OciError('UNAUTHORIZED', message)
}

/** `user:password` of a Basic header, or undefined when the header is not Basic. */
function basicCredentials(header: string): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header)
  if (!m) return undefined
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) throw unauthorized('Basic credentials need a user name and a password')
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** What the credentials a request presents are worth: a token, or the anonymous token. */
async function exchange(
  options: Pick<HandlerOptions, 'authenticate' | 'login'>,
  request: HttpRequest,
  presented: { basic?: { username: string; password: string }; token?: string },
): Promise<string> {
  if (presented.basic) {
    if (!options.login) throw unauthorized('this server does not exchange user names and passwords for tokens')
    const token = await options.login({ ...presented.basic, request: request.request })
    if (token === undefined) throw unauthorized('invalid user name or password')
    return token
  }
  if (presented.token !== undefined) {
    if (presented.token === ANONYMOUS_TOKEN) return ANONYMOUS_TOKEN
    // The token is checked as any request would present it.
    const asBearer = new Request(request.url.href, { headers: { authorization: `Bearer ${presented.token}` } })
    if (!options.authenticate || (await options.authenticate(asBearer)) === undefined) throw unauthorized('invalid token')
    return presented.token
  }
  return ANONYMOUS_TOKEN
}

/** The credentials of a token request: its `Authorization`, or (OAuth2 POST) its form. */
/** A small form body (the OAuth2 POST), at most 64 KiB read. */
async function formOf(request: HttpRequest): Promise<URLSearchParams> {
  const parts: Uint8Array[] = []
  let total = 0
  for await (const chunk of request.body ?? []) {
    total += chunk.byteLength
    if (total > 64 * 1024) throw new OciError('SIZE_INVALID', 'a token request form is limited to 64 KiB')
    parts.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(parts).toString('utf8'))
}

async function presentedBy(request: HttpRequest): Promise<{ basic?: { username: string; password: string }; token?: string; oauth: boolean }> {
  if (request.method === 'POST') {
    const form = await formOf(request)
    const grant = form.get('grant_type')
    if (grant === 'password') return { basic: { username: form.get('username') ?? '', password: form.get('password') ?? '' }, oauth: true }
    if (grant === 'refresh_token') return { token: form.get('refresh_token') ?? '', oauth: true }
    throw new OciError('UNSUPPORTED', `grant_type '${String(grant).slice(0, 40)}' is not supported (password or refresh_token)`)
  }
  const header = request.headers.get('authorization')
  if (header === null) return { oauth: false }
  const basic = basicCredentials(header)
  if (basic) return { basic, oauth: false }
  return { token: header.replace(/^Bearer\s+/i, ''), oauth: false }
}

/**
 * `GET /v2/token?service=&scope=` (Basic credentials, a token, or nothing) and its OAuth2 form
 * `POST /v2/token` (`grant_type=password` or `refresh_token`): answers `{token, access_token,
 * expires_in, issued_at}`. Credentials that do not check out are 401 `UNAUTHORIZED`; no
 * credentials get the anonymous token, which lets a client read what anonymous callers may.
 * Scopes are echoed, not enforced here: each request with the token still goes through
 * `authorize`.
 */
export function tokenEndpoint(options: Pick<HandlerOptions, 'authenticate' | 'login'>): Endpoint {
  return {
    operation: 'oci-token',
    public: true,
    run: async ({ req, query }) => {
      const presented = await presentedBy(req)
      const token = await exchange(options, req, presented)
      const issued = { expires_in: EXPIRES_IN, issued_at: new Date().toISOString() }
      const scope = query.getAll('scope').join(' ')
      const body = presented.oauth
        ? { access_token: token, ...issued, ...(scope ? { scope } : {}), ...(presented.token !== undefined ? { refresh_token: token } : {}) }
        : { token, access_token: token, ...issued }
      // A token is a credential: never cached.
      return jsonReply(body, 200, { 'cache-control': 'no-store' })
    },
  }
}
