/**
 * `appr-core/archive`: package archives (gzipped tarballs) — validate what comes in, digest it,
 * inspect what is inside, pack a directory reproducibly.
 * @module
 */
export { analyzeBlob, validateBlob } from './validate.js'
export type { BlobFacts } from './validate.js'
export { DEFAULT_LIMITS, resolveLimits } from './limits.js'
export type { ArchiveLimits, RejectionReason } from './limits.js'
export { digestBlob, sha256, sha256Hex, isDigest, toOciDigest, fromOciDigest } from '../digest/index.js'
export type { BlobDigests, Sha256 } from '../digest/index.js'
export { inspectArchive } from './inspect.js'
export type { ArchiveFile, ArchiveInspection, ChartDependency, InspectOptions, PackageManifestInfo } from './inspect.js'
export { packDirectory } from './pack.js'
export type { PackOptions } from './pack.js'
