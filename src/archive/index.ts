/**
 * `appr-core/archive`: package archives (gzipped tarballs) — validate what comes in, digest it,
 * inspect what is inside, pack a directory reproducibly.
 * @module
 */

export type { BlobDigests, Sha256 } from '../digest/index.js'
export { digestBlob, fromOciDigest, isDigest, sha256, sha256Hex, toOciDigest } from '../digest/index.js'
export type { ArchiveFile, ArchiveInspection, ChartDependency, InspectOptions, PackageManifestInfo } from './inspect.js'
export { inspectArchive } from './inspect.js'
export type { ArchiveLimits, RejectionReason } from './limits.js'
export { DEFAULT_LIMITS, resolveLimits } from './limits.js'
export type { PackOptions } from './pack.js'
export { packDirectory } from './pack.js'
export type { BlobFacts } from './validate.js'
export { analyzeBlob, validateBlob } from './validate.js'
