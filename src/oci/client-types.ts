/**
 * The public types of the OCI Distribution client ({@link ociClient} in client.ts): its options,
 * auth, and what its calls answer.
 * @module
 */
import type { OciDescriptor } from './schemas.js'

/** Username and password (or identity token), sent as Basic auth and to token endpoints. */
export interface OciBasicAuth {
  readonly username: string
  readonly password: string
}

/** A Bearer token sent as is on every request. */
export interface OciTokenAuth {
  readonly token: string
}

/** Credentials of an {@link ociClient}. */
export type OciAuth = OciBasicAuth | OciTokenAuth

/** Options of {@link ociClient}. */
export interface OciClientOptions {
  /** The registry's base URL, e.g. `http://127.0.0.1:5000` (a path prefix is kept). */
  readonly url: string
  /** Credentials; without them, only anonymous access (and anonymous tokens) is tried. */
  readonly auth?: OciAuth
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof fetch
  /** Bytes sent per PATCH by {@link OciClient.pushBlobStream} (default 8 MiB); memory use is about this much. */
  readonly chunkBytes?: number
}

/** A blob's identity. */
export interface OciBlobInfo {
  /** `sha256:<hex>` */
  readonly digest: string
  readonly size: number
}

/** A blob being read. `size` is the bytes served (-1 when the registry sent no length). */
export interface OciBlob extends OciBlobInfo {
  /** The bytes. A full read verifies the digest at the end and throws `DIGEST_INVALID` on a mismatch. */
  readonly body: AsyncIterable<Uint8Array>
  /** For a range read: the first and last byte offsets served, and the total size when the registry said. */
  readonly range?: { readonly start: number; readonly end: number; readonly total?: number }
}

/** A manifest as the registry served it. */
export interface OciManifest {
  readonly mediaType: string
  readonly digest: string
  readonly bytes: Uint8Array
}

/** What a manifest HEAD tells. */
export interface OciManifestInfo {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
}

/** One page of a tags or catalog listing. */
export interface OciPage {
  readonly items: readonly string[]
  /** The `last` to ask for the next page, when the registry said there is one (`Link: …; rel="next"`). */
  readonly next?: string
}

/** Paging of a listing. */
export interface OciPageOptions {
  /** Page size (`n`). */
  readonly n?: number
  /** List after this item (`last`). */
  readonly last?: string
}

/** An OCI Distribution client (see {@link ociClient}). */
export interface OciClient {
  /** The base URL. */
  readonly url: string
  /** `GET /v2/`: resolves when the registry speaks the API (and accepts the credentials). */
  ping(): Promise<void>
  /** The blob's size, or `undefined` when the repository has no such blob. */
  headBlob(repository: string, digest: string): Promise<OciBlobInfo | undefined>
  /** The blob's bytes (or a range of them: `end` inclusive), or `undefined` when absent. */
  getBlob(repository: string, digest: string, options?: { readonly range?: { readonly start: number; readonly end?: number } }): Promise<OciBlob | undefined>
  /**
   * Uploads bytes held in memory. Up to 64 KiB (`MONOLITHIC_POST_BYTES`) they go in the POST itself
   * (`?digest=`, the spec's single-request upload: 201 and done); a registry that answers 202
   * instead, or larger bytes, get the POST then one PUT `?digest=`. `digest`, when given, is checked first.
   */
  pushBlob(repository: string, bytes: Uint8Array, options?: { readonly digest?: string }): Promise<OciBlobInfo>
  /**
   * Makes sure the repository has these bytes, in as few requests as it can: bytes up to
   * 64 KiB (`MONOLITHIC_POST_BYTES`) are pushed at once (sending them costs about what asking
   * costs, and the registry keeps one copy); larger ones are pushed only when a HEAD says the
   * repository lacks them.
   */
  ensureBlob(repository: string, bytes: Uint8Array, options?: { readonly digest?: string }): Promise<OciBlobInfo>
  /**
   * Uploads a stream in `chunkBytes` PATCHes (or the registry's `OCI-Chunk-Min-Length`, when
   * larger) with `Content-Range`, then PUT `?digest=`; cancels the upload on failure, and when the
   * bytes do not have `digest` (if given: `DIGEST_INVALID`, nothing stored).
   */
  pushBlobStream(repository: string, chunks: AsyncIterable<Uint8Array>, options?: { readonly digest?: string }): Promise<OciBlobInfo>
  /** Mounts a blob from another repository: true when mounted; false when the registry declined (the upload it started is cancelled). */
  mountBlob(repository: string, digest: string, from: string): Promise<boolean>
  /** Deletes a blob: true when deleted, false when absent. */
  deleteBlob(repository: string, digest: string): Promise<boolean>
  /** A manifest by tag or digest, verified, or `undefined` when absent. */
  getManifest(repository: string, reference: string, options?: { readonly accept?: string }): Promise<OciManifest | undefined>
  /** A manifest's media type, digest and size, or `undefined` when absent. */
  headManifest(repository: string, reference: string, options?: { readonly accept?: string }): Promise<OciManifestInfo | undefined>
  /** Stores a manifest at a tag or at its digest; resolves with its digest. */
  putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string>
  /**
   * PUTs a manifest that has a `subject` (by its digest): `indexed` is true when the registry
   * answered `OCI-Subject`, i.e. its referrers API lists it; otherwise the referrers tag schema
   * is the caller's to keep (see `pushReferrer`).
   */
  putReferrer(repository: string, bytes: Uint8Array, mediaType: string): Promise<{ readonly digest: string; readonly indexed: boolean }>
  /**
   * `GET /v2/<name>/referrers/<digest>` (with `artifactType`, only those): the descriptors of
   * the manifests whose `subject` is `digest`, or `undefined` when the registry answers 404 (no
   * referrers API: the spec's signal to read the referrers tag schema instead).
   */
  referrers(repository: string, digest: string, options?: { readonly artifactType?: string }): Promise<OciDescriptor[] | undefined>
  /** Deletes a manifest by digest (or by tag, where the registry allows): true when deleted, false when absent. */
  deleteManifest(repository: string, reference: string): Promise<boolean>
  /** One page of the repository's tags. @throws OciError `NAME_UNKNOWN` when the repository does not exist */
  tagsPage(repository: string, options?: OciPageOptions): Promise<OciPage>
  /** Every tag, page after page. */
  tags(repository: string, options?: { readonly pageSize?: number }): AsyncIterable<string>
  /** One page of the registry's repositories (`/v2/_catalog`). */
  catalogPage(options?: OciPageOptions): Promise<OciPage>
}
