/**
 * `appr-core/oci`: the OCI Distribution side of appr-core — media types, manifest schemas,
 * digests, references and spec errors; the Helm chart and appr release projections; a small
 * OCI Distribution client; and a BlobStore that keeps blob bytes in an OCI registry.
 * @module
 */
export * from './media-types.js'
export * from './errors.js'
export * from './digest.js'
export * from './reference.js'
export * from './schemas.js'
export { goJson, goJsonBytes, sortedMap } from './canonical.js'
export * from './helm.js'
export * from './projection.js'
export { ociClient } from './client.js'
export type { OciAuth, OciBasicAuth, OciTokenAuth, OciClient, OciClientOptions, OciBlob, OciBlobInfo, OciManifest, OciManifestInfo, OciPage, OciPageOptions } from './client.js'
export { ociBlobStore, blobIdTag, blobIdOfTag, BLOB_OBJECT_ARTIFACT_TYPE, BLOB_ID_ANNOTATION, MAX_OCI_BLOB_ID_BYTES } from './blob-store.js'
export type { OciBlobStoreOptions } from './blob-store.js'
export { pushRelease, pullRelease, repositoryOf, packageOfRepository } from './releases.js'
export type { PushReleaseFormat, PushedRelease, PulledFormat, PulledRelease } from './releases.js'
