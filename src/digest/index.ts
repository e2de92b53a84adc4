/**
 * Digests of package blobs.
 *
 * appr identifies a blob by its **appr digest**: the lowercase hex SHA-256 of the *gunzipped* tar
 * stream (not of the gzip bytes); its **size** is the size of the gzip bytes. appr-core also
 * exposes the **OCI digest** of the stored gzip bytes (`sha256:<hex>`) for registries that address
 * blobs that way.
 *
 * Everything here streams: memory use does not depend on the blob size. Node's `crypto` and
 * `zlib` are used because the Web standards have no incremental SHA-256 (`crypto.subtle.digest`
 * needs the whole input) and `DecompressionStream` cannot tell a truncated gzip from a corrupt one.
 *
 * To validate a blob as a tar archive in the same pass, use `analyzeBlob` from `appr-core/archive`.
 * @module
 */
import * as crypto from 'node:crypto'
import { createHash } from 'node:crypto'
import { createGunzip } from 'node:zlib'

/** An incremental SHA-256. */
export interface Sha256 {
  /** Adds bytes to the hash. */
  update(bytes: Uint8Array): void
  /** The lowercase hex digest of everything added so far. Call once. */
  hex(): string
}

/** Starts an incremental SHA-256. */
export function sha256(): Sha256 {
  const hash = createHash('sha256')
  return {
    update: (bytes) => void hash.update(bytes),
    hex: () => hash.digest('hex'),
  }
}

// One-shot hashing (Node ≥ 20.12) skips the Hash object of createHash: same digest, less work
// on the small-push path.
const oneShot = typeof crypto.hash === 'function'

/** Lowercase hex SHA-256 of `bytes` (a string is hashed as UTF-8). */
export function sha256Hex(bytes: Uint8Array | string): string {
  return oneShot ? crypto.hash('sha256', bytes, 'hex') : createHash('sha256').update(bytes).digest('hex')
}

const HEX64 = /^[0-9a-f]{64}$/

/** True when `value` is an appr digest: 64 lowercase hex characters. */
export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value)
}

/** `sha256:<hex>` for a hex SHA-256. */
export function toOciDigest(hex: string): string {
  return `sha256:${hex}`
}

/** The hex part of an OCI digest `sha256:<hex>`, or `undefined` when `value` is not one. */
export function fromOciDigest(value: string): string | undefined {
  const hex = value.startsWith('sha256:') ? value.slice(7) : undefined
  return hex !== undefined && HEX64.test(hex) ? hex : undefined
}

/** What identifies a blob. */
export interface BlobDigests {
  /** appr digest: lowercase hex SHA-256 of the gunzipped stream. */
  readonly digest: string
  /** `sha256:` + lowercase hex SHA-256 of the gzip bytes. */
  readonly ociDigest: string
  /** Size of the gzip bytes. */
  readonly size: number
}

/** Turns a byte array or a byte stream into a byte stream. */
export async function* byteChunks(input: Uint8Array | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (input instanceof Uint8Array) yield input
  else yield* input
}

/**
 * The appr digest, OCI digest and size of a gzip blob, in one streaming pass.
 *
 * It only gunzips: it does not look at the tar inside nor apply limits. Incoming blobs should go
 * through `analyzeBlob`/`validateBlob` from `appr-core/archive` instead, which compute the same
 * digests while validating.
 *
 * @throws the zlib error when `input` is not a complete gzip stream.
 * @example
 * ```ts
 * const { digest, size } = await digestBlob(await readFile('chart.tgz'))
 * ```
 */
export async function digestBlob(input: Uint8Array | AsyncIterable<Uint8Array>): Promise<BlobDigests> {
  const gzipHash = sha256()
  const tarHash = sha256()
  let size = 0
  const gunzip = createGunzip()
  gunzip.on('data', (chunk: Buffer) => tarHash.update(chunk))
  const ended = new Promise<void>((resolve, reject) => {
    gunzip.once('end', resolve)
    gunzip.once('error', reject)
  })
  // A rejection that happens while we are still writing is observed by the await below.
  ended.catch(() => {})
  for await (const chunk of byteChunks(input)) {
    size += chunk.byteLength
    gzipHash.update(chunk)
    // Waiting for each write keeps at most one chunk (and zlib's window) in memory.
    const written = new Promise<void>((resolve, reject) => gunzip.write(chunk, (e) => (e ? reject(e) : resolve())))
    await Promise.race([written, ended])
  }
  gunzip.end()
  await ended
  return { digest: tarHash.hex(), ociDigest: toOciDigest(gzipHash.hex()), size }
}
