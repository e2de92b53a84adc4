/**
 * appr-core: the App Registry protocol as an embeddable library.
 * @module
 */

export type { BlobFacts } from './archive/validate.js'
export { validateBlob } from './archive/validate.js'
export type { BlobDigests } from './digest/index.js'
export { digestBlob, fromOciDigest, isDigest, toOciDigest } from './digest/index.js'
export type { ApprErrorOptions, ErrorCode, ErrorDetails } from './errors/index.js'
export { ApprError, httpStatus, isApprError } from './errors/index.js'
export * from './model/index.js'
export type * from './model/types.js'
export type { OciBlobInfo, OciBlobRead, OciUploadStatus } from './registry/oci-blobs.js'
export type { OciListPage, OciStoredManifest } from './registry/oci-manifests.js'
export type { ChannelOperations, OciBlobOperations, OciManifestOperations, SignatureOperations } from './registry/registry.js'
export { Registry } from './registry/registry.js'
export type * from './registry/events/types.js'
export type * from './registry/types.js'
export type { BlobStore } from './storage/blob.js'
export type { StoreCounts } from './storage/counting.js'
export { countingStore, zeroCounts } from './storage/counting.js'
export type { KvCapabilities, KvCheck, KvCommit, KvCommitResult, KvEntry, KvListOptions, KvPut, KvStore, Unsubscribe, Version } from './storage/kv.js'
export type { KvBlobStore, KvBlobStoreOptions } from './storage/kv-blob-store.js'
export { kvBlobStore } from './storage/kv-blob-store.js'
export { assertCommit, assertKey, compareKeys, listAll } from './storage/util.js'
export type { DeliveryReport, WebhookDeliverer, WebhookEndpoint, WebhookOptions } from './webhooks/deliver.js'
export { startWebhooks } from './webhooks/deliver.js'
export { SIGNATURE_HEADER, signWebhook, verifyWebhook } from './webhooks/sign.js'
