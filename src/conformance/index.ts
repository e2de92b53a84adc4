/**
 * The appr-core conformance suite: property-based proof that a {@link KvStore} adapter keeps
 * the storage contract (byte order, atomic conditional commits, versions, limits, durability,
 * concurrency). An adapter's test file is a few lines:
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
export { runConformance, checkConformance, kvGroups, registryGroups, allGroups } from './run.js'
export type { CheckOptions } from './run.js'
export { ConformanceFailure, Ctx } from './harness.js'
export type { ConformanceOptions, ConformanceReport, Group, Need, Profile, Property, PropertyResult, WorkerHandle } from './harness.js'
export { KvModel, compareUtf8 } from './model.js'
export type { ModelCheck, ModelEntry } from './model.js'
export { kvCommands } from './properties/model-run.js'
export type { KvRunModel, KvRunReal } from './properties/model-run.js'
export { applyRegistryOp, RegistryModel, outcomeOf, renderState, showOp } from './registry-model.js'
export type { Outcome, RegistryOp } from './registry-model.js'
export { keyArb, keyChars, prefixArb, specialValues, valueArb } from './arbitraries.js'
