/**
 * The endpoints an operator's tooling calls: `/healthz` (the process answers), `/readyz` (the
 * store answers within a deadline) and `/metrics` (Prometheus text). They sit at the root,
 * outside every API prefix, ask no credentials, and are answered before the router, so no
 * surface's route can shadow them and they cost no routing.
 * @module
 */
import type { CoreHandler } from '../core.js'
import type { HttpMetrics } from '../options.js'
import { type Answer, type Reply, reply, withoutBody } from '../reply.js'
import type { Exchanges } from './observe.js'

/** Options of the health endpoints (`HandlerOptions.health`). */
export interface HealthOptions {
  /**
   * The readiness check: resolves when the registry can serve, rejects (or throws) with the
   * reason otherwise. Default: one store round trip (`registry.ping()`).
   */
  readonly ready?: () => Promise<unknown>
  /** How long `/readyz` waits for `ready` before answering 503 (ms, default 2000). */
  readonly readyTimeoutMs?: number
}

/** Options of {@link withProbes}. */
export interface ProbeOptions {
  /** Health endpoints on, with their check; undefined: off. */
  readonly health?: { readonly ready: () => Promise<unknown>; readonly readyTimeoutMs: number } | undefined
  /** Serve `/metrics` from this. */
  readonly metrics?: HttpMetrics | undefined
  readonly exchanges?: Exchanges | undefined
}

const text = (body: string, status = 200, type = 'text/plain; charset=utf-8'): Reply => reply(status, { 'content-type': type, 'cache-control': 'no-store' }, body)

/** Why `ready` did not resolve within `ms`, or undefined when it did. */
async function notReady(ready: () => Promise<unknown>, ms: number): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`the store did not answer within ${ms} ms`), ms)
  })
  const check = (async () => {
    try {
      await ready()
      return undefined
    } catch (error) {
      return error instanceof Error ? error.message : String(error)
    }
  })()
  try {
    return await Promise.race([check, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Wraps `handler` so GET/HEAD `/healthz`, `/readyz` and `/metrics` are answered first, when on. */
export function withProbes(handler: CoreHandler, options: ProbeOptions): CoreHandler {
  const { health, metrics, exchanges } = options
  const paths = new Set([...(health ? ['/healthz', '/readyz'] : []), ...(metrics ? ['/metrics'] : [])])
  if (paths.size === 0) return handler
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return handler(request)
    const path = request.path
    if (!paths.has(path)) return handler(request)
    const exchange = exchanges?.get(request)
    if (exchange) exchange.route = path
    const answer = await probe(path)
    return request.method === 'HEAD' ? withoutBody(answer) : answer
  }

  async function probe(path: string): Promise<Answer> {
    if (path === '/healthz') return text('ok\n')
    if (path === '/readyz' && health) {
      const reason = await notReady(health.ready, health.readyTimeoutMs)
      return reason === undefined ? text('ready\n') : text(`not ready: ${reason}\n`, 503)
    }
    const exposition = await metrics!.exposition()
    return text(exposition.body, 200, exposition.contentType)
  }
}
