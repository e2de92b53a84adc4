/**
 * How the OCI client reads a registry's answers: bodies bounded or verified against their digest,
 * spec error bodies as {@link OciError}, DELETE outcomes and `Link` paging.
 * @module
 */
import { sha256 } from '../digest/index.js'
import type { OciPage } from './client-types.js'
import { OciError, type OciErrorEntry } from './errors.js'

export async function* responseChunks(res: Response): AsyncIterable<Uint8Array> {
  if (!res.body) return
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) yield chunk
}

export async function* verified(source: AsyncIterable<Uint8Array>, digest: string, size: number | undefined): AsyncIterable<Uint8Array> {
  const hash = sha256()
  let seen = 0
  for await (const chunk of source) {
    hash.update(chunk)
    seen += chunk.byteLength
    yield chunk
  }
  const actual = `sha256:${hash.hex()}`
  if (actual !== digest || (size !== undefined && seen !== size)) {
    throw new OciError('DIGEST_INVALID', `the registry served ${seen} bytes with digest ${actual} for ${digest}`, { detail: { expected: digest, actual, size: seen } })
  }
}

/** Reads a body up to `limit` bytes. */
export async function readLimited(res: Response, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let total = 0
  for await (const chunk of responseChunks(res)) {
    total += chunk.byteLength
    if (total > limit) {
      await res.body?.cancel().catch(() => undefined)
      throw new OciError('SIZE_INVALID', `the registry's answer exceeds ${limit} bytes`)
    }
    parts.push(chunk)
  }
  return new Uint8Array(Buffer.concat(parts))
}

export async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined)
}

/** A DELETE's answer: true when deleted, false when absent (404), else the registry's error. */
export async function deletedOrAbsent(res: Response, what: string): Promise<boolean> {
  if (res.status !== 404 && !res.ok) throw await errorOf(res, what)
  await discard(res)
  return res.ok
}

/** The OciError a failed answer stands for (its spec body when it has one). */
export async function errorOf(res: Response, what: string): Promise<OciError> {
  let entries: OciErrorEntry[] = []
  try {
    const body = JSON.parse(new TextDecoder().decode(await readLimited(res, 64 * 1024))) as { errors?: unknown }
    if (Array.isArray(body.errors)) {
      entries = body.errors
        .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string')
        .map((e) => ({ code: String(e.code), message: typeof e.message === 'string' ? e.message : '', detail: e.detail ?? null }))
    }
  } catch {
    // Not a spec body: the status alone tells.
  }
  const first = entries[0]
  const fallback = res.status === 401 ? 'UNAUTHORIZED' : res.status === 403 ? 'DENIED' : res.status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN'
  return new OciError(first?.code ?? fallback, `${what}: ${res.status}${first?.message ? ` ${first.message}` : ''}`, {
    status: res.status,
    detail: first?.detail ?? null,
    ...(entries.length > 0 ? { errors: entries } : {}),
  })
}

export function pageOf(res: Response, base: URL, items: unknown): OciPage {
  const list = Array.isArray(items) ? items.filter((t): t is string => typeof t === 'string') : []
  const link = /<([^>]*)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')
  const next = link ? (new URL(link[1]!, base).searchParams.get('last') ?? list.at(-1)) : undefined
  return next === undefined ? { items: list } : { items: list, next }
}
