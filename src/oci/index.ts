/**
 * `appr-core/oci`: the OCI Distribution side of appr-core — media types, manifest schemas,
 * digests, references and spec errors; the Helm chart and appr release projections; a small
 * OCI Distribution client; and a BlobStore that keeps blob bytes in an OCI registry.
 * @module
 */

export type { OciBlobStoreOptions } from './blob-store.js'
export { BLOB_ID_ANNOTATION, BLOB_OBJECT_ARTIFACT_TYPE, blobIdOfTag, blobIdTag, MAX_OCI_BLOB_ID_BYTES, ociBlobStore } from './blob-store.js'
export { goJson, goJsonBytes, sortedMap } from './canonical.js'
export type { OciAuth, OciBasicAuth, OciBlob, OciBlobInfo, OciClient, OciClientOptions, OciManifest, OciManifestInfo, OciPage, OciPageOptions, OciTokenAuth } from './client.js'
export { MONOLITHIC_POST_BYTES, ociClient } from './client.js'
export * from './digest.js'
export * from './errors.js'
export * from './helm.js'
export * from './media-types.js'
export * from './projection.js'
export * from './reference.js'
export type { CopiedChannel, CopiedRelease, CopyEnds, CopyOptions, CopyReport } from './copy.js'
export { copyFromOci, copyToOci } from './copy.js'
export type { PulledFormat, PulledRelease, PushedRelease, PushReleaseFormat, ResolvedFormat, ResolvedRelease } from './releases.js'
export { packageOfRepository, pullRelease, pushRelease, repositoryOf, resolveRelease, writeProjection } from './releases.js'
export * from './schemas.js'
export * from './signatures.js'
export { APPR_MANIFEST_ARTIFACT, projectManifestRecord, pullManifestRecord, pushManifestRecord } from './manifest-records.js'
export { ociDestination } from './mirror-destination.js'
export { listReferrers, pullSignatures, pushReferrer, pushSignature } from './referrers.js'
