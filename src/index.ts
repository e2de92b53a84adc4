/**
 * appr-core: the App Registry protocol as an embeddable library.
 * @module
 */
export { ApprError, isApprError, httpStatus } from './errors/index.js'
export type { ErrorCode, ErrorDetails, ApprErrorOptions } from './errors/index.js'
export type { KvStore, KvEntry, KvCommit, KvCommitResult, KvCheck, KvPut, KvListOptions, KvCapabilities, Version } from './storage/kv.js'
export type { BlobStore } from './storage/blob.js'
export { compareKeys, listAll, assertCommit, assertKey } from './storage/util.js'
export { Registry } from './registry/registry.js'
export type { ChannelOperations, OciBlobOperations, OciManifestOperations } from './registry/registry.js'
export type { OciListPage, OciStoredManifest } from './registry/oci-manifests.js'
export type { OciBlobInfo, OciBlobRead, OciUploadStatus } from './registry/oci-blobs.js'
export type * from './registry/types.js'
export type * from './model/types.js'
export { kvBlobStore } from './storage/kv-blob-store.js'
export type { KvBlobStore, KvBlobStoreOptions } from './storage/kv-blob-store.js'
export * from './model/index.js'
export { digestBlob, isDigest, toOciDigest, fromOciDigest } from './digest/index.js'
export type { BlobDigests } from './digest/index.js'
export { validateBlob } from './archive/validate.js'
export type { BlobFacts } from './archive/validate.js'
export { countingStore, zeroCounts } from './storage/counting.js'
export type { StoreCounts } from './storage/counting.js'
