/**
 * How the client talks to a server: one {@link Transport.send} that adds the auth header, bounds
 * the wait for an answer, retries transient 503s with back-off and turns error answers into
 * {@link ApprError}s with the server's code. Only `fetch` and web APIs: no Node built-ins.
 * @module
 */
import { ApprError, type ErrorCode, httpStatus } from '../errors/index.js'

/** Where the token comes from: a fixed string, or a function asked before every request. */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>)

/** Options of `createClient`. */
export interface ClientOptions {
  /**
   * The registry: its root (`https://host`), `…/cnr` or `…/cnr/api/v1`, as the appr client accepts.
   */
  readonly registry: string | URL
  /** Sent verbatim as `Authorization` (appr's convention), on every request. */
  readonly token?: TokenSource
  /** Extra headers on every request (a CLI's `User-Agent`, a proxy's header). */
  readonly headers?: Record<string, string>
  /** The `fetch` to use (default `globalThis.fetch`). */
  readonly fetch?: typeof fetch
  /**
   * Longest wait for a response's headers, in ms (default 30 000; 0: none). A download's body is
   * not bounded by it (stop one with an `AbortSignal`), nor is an upload unless the call gives
   * its own `timeoutMs`: a large push may rightly take longer than any default.
   */
  readonly timeoutMs?: number
  /** Retries of a 503 answer (default 3), for requests whose body can be sent again. */
  readonly retries?: number
  /** First back-off in ms, doubled per retry (default 250); a `Retry-After` of up to 30 s wins. */
  readonly retryDelayMs?: number
}

/** Options every call takes. */
export interface CallOptions {
  /** Cancels the call (and a download's body) when it aborts. */
  readonly signal?: AbortSignal
  /** Overrides {@link ClientOptions.timeoutMs} for this call. */
  readonly timeoutMs?: number
}

/** One request as a route method builds it. */
export interface Outgoing {
  readonly method?: string
  /** Path below `…/api/v1` (already escaped), or an absolute path from the server root. */
  readonly path: string
  readonly query?: Record<string, string | undefined>
  readonly headers?: Record<string, string>
  /** A body that can be sent again (string, Blob, bytes) makes the request retryable. */
  readonly body?: BodyInit
  /** The body is a stream: sent with `duplex: 'half'`, never retried. */
  readonly streamed?: boolean
  /** Resolve `path` against {@link Transport.root} instead of the API (`/version`). */
  readonly fromRoot?: boolean
}

/** What the route methods send requests through. */
export interface Transport {
  /** `…/api/v1`, no trailing slash. */
  readonly api: string
  /** What `/api/v1` hangs under (`…/cnr`): where `/version` is. */
  readonly root: string
  /** Sends `request`; resolves with a 2xx response, throws the server's error otherwise. */
  send(request: Outgoing, options?: CallOptions): Promise<Response>
}

const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_RETRIES = 3
const DEFAULT_RETRY_DELAY_MS = 250
const MAX_RETRY_AFTER_MS = 30_000

/**
 * Normalises a registry address as the appr client does: the root, `…/cnr` or `…/cnr/api/v1`.
 * @throws invalid-parameters when it is not an http(s) URL
 */
export function apiBase(registry: string | URL): { api: string; root: string } {
  let url: URL
  try {
    url = new URL(registry)
  } catch {
    throw new ApprError('invalid-parameters', `the registry is not a URL: ${String(registry)}`, { details: { registry: String(registry) } })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApprError('invalid-parameters', `the registry must be http(s): ${String(registry)}`, { details: { registry: String(registry) } })
  }
  let path = url.pathname.replace(/\/+$/, '')
  if (path.endsWith('/api/v1')) path = path.slice(0, -'/api/v1'.length)
  else if (!path.endsWith('/cnr')) path = `${path}/cnr`
  return { api: `${url.origin}${path}/api/v1`, root: `${url.origin}${path}` }
}

/** Builds the transport of a client. */
export function createTransport(options: ClientOptions): Transport {
  const { api, root } = apiBase(options.registry)
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init))
  const retries = options.retries ?? DEFAULT_RETRIES
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS

  async function headersFor(request: Outgoing): Promise<Headers> {
    const headers = new Headers(options.headers)
    for (const [name, value] of Object.entries(request.headers ?? {})) headers.set(name, value)
    const token = typeof options.token === 'function' ? await options.token() : options.token
    if (token !== undefined && token !== '') headers.set('Authorization', token)
    return headers
  }

  function urlOf(request: Outgoing): string {
    const base = request.fromRoot ? root : api
    const params = new URLSearchParams()
    for (const [name, value] of Object.entries(request.query ?? {})) if (value !== undefined) params.set(name, value)
    const query = params.size > 0 ? `?${params}` : ''
    return `${base}${request.path}${query}`
  }

  async function once(request: Outgoing, url: string, call: CallOptions): Promise<Response> {
    // An upload may rightly take longer than any default: only a per-call timeout bounds it.
    const timeoutMs = call.timeoutMs ?? (request.body === undefined ? (options.timeoutMs ?? DEFAULT_TIMEOUT_MS) : 0)
    const link = linkedSignal(call.signal, timeoutMs)
    let response: Response
    try {
      const init: RequestInit & { duplex?: 'half' } = {
        method: request.method ?? 'GET',
        headers: await headersFor(request),
        signal: link.signal,
        ...(request.body === undefined ? {} : { body: request.body }),
        ...(request.streamed ? { duplex: 'half' } : {}),
      }
      response = await doFetch(url, init)
    } catch (error) {
      link.detach()
      if (link.timedOut()) {
        throw new ApprError('unavailable', `no answer from ${url} within ${timeoutMs} ms`, { details: { url, timeoutMs }, transient: true, cause: error })
      }
      // The caller's own abort (its reason, as fetch rejects with it) is not a network failure.
      if (call.signal?.aborted) throw error
      throw unreachable(url, error)
    } finally {
      // The deadline covers the wait for headers only; the caller's signal still ends the body.
      link.disarm()
    }
    return settledWithBody(response, link.detach)
  }

  return {
    api,
    root,
    async send(request, call = {}) {
      const url = urlOf(request)
      const replayable = !request.streamed
      for (let attempt = 0; ; attempt++) {
        const response = await once(request, url, call)
        if (response.ok) return response
        if (response.status === 503 && replayable && attempt < retries) {
          await response.body?.cancel().catch(() => {})
          await sleep(backoff(response, attempt, retryDelayMs), call.signal)
          continue
        }
        throw await errorOf(response, url)
      }
    },
  }
}

/** Why a connection failed, from the error `fetch` rejects with (Node puts the socket's code in `cause`). */
const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
}

/**
 * A request that never got an answer (refused, reset, unknown host, TLS failure) as an
 * `unavailable` error naming the URL, so "fetch failed" never reaches a user without saying where.
 */
export function unreachable(url: string, error: unknown): ApprError {
  type Cause = { code?: unknown; message?: unknown; errors?: Cause[] }
  const cause = (error as { cause?: Cause } | undefined)?.cause
  // Several addresses tried at once (IPv4 and IPv6) fail as an AggregateError: the first one tells.
  const first = cause?.code === undefined ? (cause?.errors?.[0] ?? cause) : cause
  const code = typeof first?.code === 'string' ? first.code : undefined
  const said = typeof first?.message === 'string' && first.message !== '' ? first.message : error instanceof Error ? error.message : String(error)
  const reason = code !== undefined ? `${REASONS[code] ?? said} (${code})` : said
  return new ApprError('unavailable', `cannot reach ${url}: ${reason}`, { details: { url, ...(code === undefined ? {} : { reason: code }) }, transient: true, cause: error })
}

/** The server's error as an {@link ApprError} (also when wrapped as Quay's `{ error: {…} }`). */
export async function errorOf(response: Response, url: string): Promise<ApprError> {
  const text = await response.text().catch(() => '')
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  const envelope = body as { error?: unknown } | undefined
  const error = (typeof envelope?.error === 'object' ? envelope.error : body) as { code?: unknown; message?: unknown; details?: unknown } | undefined
  const transient = response.status === 503
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    // A code we do not know (another server's) still reaches the caller, as internal-error with the original code.
    const known = isKnownCode(error.code)
    const details = typeof error.details === 'object' && error.details !== null ? error.details : {}
    return new ApprError(known ? (error.code as ErrorCode) : 'internal-error', error.message, {
      details: { ...details, ...(known ? {} : { code: error.code }), status: response.status },
      transient,
    })
  }
  return new ApprError(transient ? 'unavailable' : 'internal-error', `HTTP ${response.status} from ${url}`, {
    details: { status: response.status, body: text.slice(0, 200) },
    transient,
  })
}

function isKnownCode(code: string): code is ErrorCode {
  return Object.hasOwn(httpStatus, code)
}

function backoff(response: Response, attempt: number, base: number): number {
  const after = response.headers.get('retry-after')
  const seconds = after === null ? Number.NaN : Number(after)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS)
  return base * 2 ** attempt
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * A signal that aborts when the caller's does, or when `timeoutMs` passes before `disarm()`.
 * (`AbortSignal.timeout` cannot be disarmed once the headers are in, so the timer is our own.)
 * `detach()` takes its listener off the caller's signal: one signal may outlive many calls (a
 * page's, a server's), and each call left behind would keep a listener and its controller alive.
 */
function linkedSignal(outer: AbortSignal | undefined, timeoutMs: number): { signal: AbortSignal; disarm(): void; detach(): void; timedOut(): boolean } {
  const controller = new AbortController()
  let expired = false
  const onAbort = () => controller.abort(outer?.reason)
  if (outer?.aborted) controller.abort(outer.reason)
  else outer?.addEventListener('abort', onAbort, { once: true })
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          expired = true
          controller.abort()
        }, timeoutMs)
      : undefined
  return {
    signal: controller.signal,
    disarm() {
      if (timer !== undefined) clearTimeout(timer)
    },
    detach() {
      outer?.removeEventListener('abort', onAbort)
    },
    timedOut: () => expired,
  }
}

/**
 * `response` with `settled` called once its body is done: read to the end, failed or cancelled
 * (at once when it has none). Until then the caller's signal must still be able to end the body.
 */
function settledWithBody(response: Response, settled: () => void): Response {
  const body = response.body
  // A 204/304 may not be rebuilt with a body (and has none to wait for).
  if (body === null || response.status === 204 || response.status === 205 || response.status === 304) {
    settled()
    return response
  }
  const reader = body.getReader()
  const watched = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read()
          if (done) {
            settled()
            controller.close()
          } else controller.enqueue(value)
        } catch (error) {
          settled()
          controller.error(error)
        }
      },
      async cancel(reason) {
        settled()
        await reader.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
  return new Response(watched, { status: response.status, statusText: response.statusText, headers: response.headers })
}
