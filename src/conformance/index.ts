/**
 * The appr-core conformance suite: property-based proof that a {@link KvStore} adapter keeps
 * the storage contract (byte order, atomic conditional commits, versions, limits, durability,
 * concurrency), and that a {@link BlobStore} keeps its own ({@link runBlobConformance}). An
 * adapter's test file is a few lines:
 *
 * @example
 * ```ts
 * import { runConformance } from 'appr-core/conformance'
 * import { levelStore } from 'appr-core/adapters/level'
 * await runConformance({ name: 'level', open: (path) => levelStore({ path }), newLocation: tempDir, destroy: rmDir })
 * ```
 *
 * uvu and fast-check are optional peer dependencies: install them next to appr-core.
 * Replay a failure with the variables it prints: `APPR_CONFORMANCE_SEED`, `APPR_CONFORMANCE_ONLY`,
 * `APPR_CONFORMANCE_PATH`; `APPR_CONFORMANCE_PROFILE=deep` runs twenty times longer.
 * @module
 */

export type { HostileKeys } from './arbitraries.js'
export { hostileKeyChars, hostileKeysArb, keyArb, keyChars, prefixArb, specialValues, valueArb } from './arbitraries.js'
export type { BlobCapabilities, BlobConformanceOptions, BlobGroup, BlobNeed, BlobProperty } from './blob-harness.js'
export { BlobCtx } from './blob-harness.js'
export type { ConformanceOptions, ConformanceReport, Group, Need, Profile, Property, PropertyResult, SuiteOptions, WorkerHandle } from './harness.js'
export { ConformanceFailure, Ctx, SuiteCtx } from './harness.js'
export type { ModelCheck, ModelEntry } from './model.js'
export { compareUtf8, KvModel } from './model.js'
export { blobContent, pieces, readAll } from './properties/blobs.js'
export type { KvRunModel, KvRunReal } from './properties/model-run.js'
export { kvCommands } from './properties/model-run.js'
export type { Outcome, RegistryOp } from './registry-model.js'
export { applyRegistryOp, outcomeOf, RegistryModel, renderState, showOp } from './registry-model.js'
export type { CheckOptions } from './run.js'
export { allGroups, blobGroups, checkBlobConformance, checkConformance, kvGroups, registryGroups, runBlobConformance, runConformance } from './run.js'
