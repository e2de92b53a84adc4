/**
 * Webhook signatures: HMAC-SHA256 of the exact body bytes with the endpoint's secret, sent as
 * `X-Appr-Signature-256: sha256=<hex>`. A receiver verifies with {@link verifyWebhook} (or the
 * same three lines in any language) before it trusts a delivery.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** The signature header's name. */
export const SIGNATURE_HEADER = 'x-appr-signature-256'

/** `sha256=<hex>`: the signature of `body` with `secret`. */
export function signWebhook(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/**
 * True when `signature` (the `X-Appr-Signature-256` header) is the signature of `body` (the raw
 * bytes received, before any JSON parsing) with `secret`. Compares in constant time.
 * @example
 * ```ts
 * const body = await request.text()
 * if (!verifyWebhook(secret, body, request.headers.get('x-appr-signature-256'))) return new Response(null, { status: 401 })
 * ```
 */
export function verifyWebhook(secret: string, body: string | Uint8Array, signature: string | null | undefined): boolean {
  if (typeof signature !== 'string') return false
  const expected = Buffer.from(signWebhook(secret, body))
  const given = Buffer.from(signature)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
