/**
 * What the OCI client reads from and writes to headers besides bodies: the chunk size a
 * registry asks for (`OCI-Chunk-Min-Length`), auth challenges (`WWW-Authenticate`) and Basic
 * credentials.
 * @module
 */
import type { OciBasicAuth } from './client-types.js'
import { OciError } from './errors.js'

/** The largest `OCI-Chunk-Min-Length` followed: a chunk is held in memory before it is sent. */
const MAX_CHUNK_BYTES = 256 * 1024 * 1024

/** The chunk size for an upload the registry started: `chunkBytes`, or its `OCI-Chunk-Min-Length` when larger. */
export function chunkSizeFor(started: Response, chunkBytes: number): number {
  const header = started.headers.get('oci-chunk-min-length')
  const min = header !== null && /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : 0
  if (min > MAX_CHUNK_BYTES) {
    throw new OciError('BLOB_UPLOAD_INVALID', `the registry asks for chunks of at least ${min} bytes (OCI-Chunk-Min-Length), more than the ${MAX_CHUNK_BYTES} this client holds`, {
      detail: { minLength: min },
    })
  }
  return Math.max(chunkBytes, min)
}

export interface Challenge {
  readonly scheme: string
  readonly params: ReadonlyMap<string, string>
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (one challenge). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header)
  if (!m) return undefined
  const params = new Map<string, string>()
  for (const p of m[2]!.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params.set(p[1]!.toLowerCase(), p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? ''))
  }
  return { scheme: m[1]!.toLowerCase(), params }
}

export function basicHeader(auth: OciBasicAuth): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`
}
