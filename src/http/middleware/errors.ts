/**
 * The error envelope: every thrown error becomes appr's `{code, message, details}` on the wire,
 * whichever surface or middleware threw it.
 * @module
 */
import { ApprError, isApprError } from '../../errors/index.js'
import type { CoreHandler } from '../core.js'
import { jsonReply, type Reply, toResponse } from '../reply.js'

/** How errors are wrapped on the wire. */
export type ErrorEnvelope = 'appr' | 'quay'

/**
 * Converts anything thrown into an appr error response. ApprErrors keep their code, status and
 * public details; anything else becomes a bare `internal-error` (its message may carry internals,
 * so it never reaches the wire).
 */
export function errorReply(error: unknown, envelope: ErrorEnvelope): Reply {
  const e = isApprError(error) ? error : new ApprError('internal-error', 'internal server error')
  const body = { code: e.code, message: e.message, details: e.details ?? {} }
  const headers: Record<string, string> = {}
  if (e.code === 'unavailable' && e.transient) headers['retry-after'] = '1'
  return jsonReply(envelope === 'quay' ? { error: body } : body, e.status, headers)
}

/** {@link errorReply} as a WHATWG `Response`. */
export function errorResponse(error: unknown, envelope: ErrorEnvelope): Response {
  return toResponse(errorReply(error, envelope))
}

/** Options of {@link catchErrors}. */
export interface CatchErrorsOptions {
  readonly envelope: ErrorEnvelope
  /** Sees every unexpected (non-ApprError) exception before its bare 500 is answered. */
  readonly onError?: ((error: unknown, request: Request) => void) | undefined
}

/** Wraps `handler` so that whatever it throws is answered as an error response. */
export function catchErrors(handler: CoreHandler, { envelope, onError }: CatchErrorsOptions): CoreHandler {
  return async (request) => {
    try {
      return await handler(request)
    } catch (error) {
      if (!isApprError(error)) onError?.(error, request.request)
      return errorReply(error, envelope)
    }
  }
}
