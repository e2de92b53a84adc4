/**
 * Entry points: {@link checkConformance} (runner-agnostic, returns a report) and
 * {@link runConformance} (registers and runs uvu suites) for KvStores, and
 * {@link checkBlobConformance} / {@link runBlobConformance} for BlobStores. Both parts run on
 * one runner ({@link checkPart}, {@link registerPart}), so they report alike.
 * @module
 */
import type { KvCapabilities } from '../storage/kv.js'
import { type BlobConformanceOptions, BlobCtx, type BlobGroup, type BlobNeed, missingForBlobs } from './blob-harness.js'
import {
  type ConformanceOptions,
  type ConformanceReport,
  Ctx,
  type Group,
  missingFor,
  type Need,
  type Property,
  type PropertyResult,
  type Settings,
  type SuiteCtx,
  type SuiteOptions,
  settingsOf,
} from './harness.js'
import { blobs } from './properties/blobs.js'
import { bytes } from './properties/bytes.js'
import { commit } from './properties/commit.js'
import { concurrency } from './properties/concurrency.js'
import { durability } from './properties/durability.js'
import { keys } from './properties/keys.js'
import { lifecycle } from './properties/lifecycle.js'
import { limits } from './properties/limits.js'
import { list } from './properties/list.js'
import { modelRun } from './properties/model-run.js'
import { registry } from './properties/registry.js'
import { runProperty, watchStrays } from './property-run.js'

/** Every group of the KvStore contract (level A), in run order: cheap and precise first. */
export const kvGroups: readonly Group[] = [lifecycle, bytes, keys, commit, list, limits, concurrency, modelRun, durability]

/** Level B: appr registry semantics over the adapter. */
export const registryGroups: readonly Group[] = [registry]

/** The BlobStore contract. */
export const blobGroups: readonly BlobGroup[] = [blobs]

/** Every group: level A, then level B. */
export const allGroups: readonly Group[] = [...kvGroups, ...registryGroups]

async function probe(options: ConformanceOptions): Promise<KvCapabilities> {
  const location = options.newLocation ? await options.newLocation() : 'appr-conformance-probe'
  const store = await options.open(location)
  try {
    return store.capabilities
  } finally {
    await store.close()
    await options.destroy?.(location)
  }
}

/**
 * One part of the suite bound to the thing under test: its groups, what each property lacks, and
 * how to build a property's context. {@link checkPart} and {@link registerPart} run any part the
 * same way, so the KvStore and BlobStore parts report alike.
 */
export interface Part<C extends SuiteCtx<unknown>> {
  readonly options: SuiteOptions
  readonly settings: Settings
  /** Printed first: what was declared (capabilities as JSON). */
  readonly declared: string
  readonly groups: readonly Group<C, string>[]
  /** What a property lacks to run (undefined: nothing). */
  missing(needs: readonly string[] | undefined): string | undefined
  /** False when a property does not apply at all (reported as "not applicable", not as skipped). */
  applies?(property: Property<C, string>): boolean
  context(property: Property<C, string>): C
}

function selected<C>(groups: readonly Group<C, string>[], only: string | undefined): Group<C, string>[] {
  return groups
    .map((g) => ({ ...g, properties: g.properties.filter((p) => only === undefined || p.id.includes(only)) }))
    .filter((g) => g.properties.length > 0)
}

/** Options of {@link checkConformance}. */
export interface CheckOptions<G = Group> {
  /** Stop at the first failing property (what the mutant tests use to time a catch). */
  readonly bail?: boolean
  /** Called after each property. */
  readonly onResult?: (result: PropertyResult) => void
  /** Groups to run (default {@link allGroups}). */
  readonly groups?: readonly G[]
}

/** Runs every property of `part` without a test runner and returns the report. */
export async function checkPart<C extends SuiteCtx<unknown>>(part: Part<C>, check: Pick<CheckOptions, 'bail' | 'onResult'> = {}, started = Date.now()): Promise<ConformanceReport> {
  const { settings, options } = part
  const results: PropertyResult[] = []
  let firstFailureMs: number | undefined
  const strays = watchStrays()
  try {
    for (const group of selected(part.groups, settings.only)) {
      for (const property of group.properties) {
        const needs = [...(group.needs ?? []), ...(property.needs ?? [])]
        const result = await runProperty(property, settings, part.missing(needs), () => part.context(property), strays)
        results.push(result)
        check.onResult?.(result)
        if (result.status === 'failed') {
          firstFailureMs ??= Date.now() - started
          if (check.bail) break
        }
      }
      if (check.bail && firstFailureMs !== undefined) break
    }
    await options.teardown?.()
  } finally {
    strays.stop()
  }
  return {
    name: options.name,
    seed: settings.seed,
    results,
    failed: results.filter((r) => r.status === 'failed').length,
    ...(firstFailureMs === undefined ? {} : { firstFailureMs }),
    ms: Date.now() - started,
  }
}

/**
 * Registers one uvu suite per group of `part` and runs them. Groups and properties that cannot
 * run print `SKIPPED SUITE: <name> <group or property> — needs <what enables it>`; a failure is
 * printed the moment it is known, so nothing that happens later (a crash in cleanup, a killed
 * run) can hide it.
 */
export async function registerPart<C extends SuiteCtx<unknown>>(part: Part<C>): Promise<void> {
  const { suite } = await import('uvu')
  const { settings, options } = part
  settings.log(`conformance: ${options.name} · profile ${settings.profile} · APPR_CONFORMANCE_SEED=${settings.seed} · ${part.declared}`)
  const strays = watchStrays()
  let last: ReturnType<typeof suite> | undefined
  const queued: ReturnType<typeof suite>[] = []
  for (const group of selected(part.groups, settings.only)) {
    const missing = part.missing(group.needs)
    if (missing !== undefined) {
      settings.log(`SKIPPED SUITE: ${options.name} ${group.name} — needs ${missing}`)
      continue
    }
    const test = suite(`${options.name} ${group.name}`)
    queued.push(test)
    for (const property of group.properties) {
      const why = part.missing([...(group.needs ?? []), ...(property.needs ?? [])])
      if (why !== undefined) {
        settings.log(part.applies?.(property) === false ? `not applicable: ${options.name} ${property.id}` : `SKIPPED SUITE: ${options.name} ${property.id} — needs ${why}`)
        continue
      }
      test(property.id, async () => {
        const result = await runProperty(property, settings, undefined, () => part.context(property), strays)
        if (result.status === 'failed') {
          settings.log(`FAIL ${String((result.error as Error).message)}`)
          throw result.error
        }
      })
    }
    last = test
  }
  const finish = async () => {
    strays.stop()
    await options.teardown?.()
  }
  if (last) last.after(finish)
  else await finish()
  // Queued only now, so the teardown hook is attached to the last suite before any suite runs.
  for (const s of queued) s.run()
}

/** The KvStore part for `options`, with capabilities read from a store opened once. */
async function kvPart(options: ConformanceOptions, groups: readonly Group[]): Promise<Part<Ctx>> {
  const settings = settingsOf(options)
  const fixed: ConformanceOptions = { ...options, seed: settings.seed }
  let capabilities: KvCapabilities
  try {
    capabilities = await probe(fixed)
  } catch (error) {
    await options.teardown?.()
    throw error
  }
  return {
    options: fixed,
    settings,
    declared: JSON.stringify(capabilities),
    groups: groups as readonly Group<Ctx, string>[],
    missing: (needs) => missingFor(needs as readonly Need[] | undefined, capabilities, fixed),
    // A property about single-process stores does not apply to a multi-process one: nothing is missing.
    applies: (property) => !(property.needs?.includes('singleProcess') && capabilities.multiProcess),
    context: (property) => new Ctx(settings, capabilities, property as Property, fixed),
  }
}

/**
 * Runs the suite without any test runner and returns what passed, failed and was skipped.
 * @example
 * ```ts
 * const report = await checkConformance({ name: 'mine', open: () => myStore() })
 * if (report.failed) console.error(report.results.filter((r) => r.status === 'failed'))
 * ```
 */
export async function checkConformance(options: ConformanceOptions, check: CheckOptions = {}): Promise<ConformanceReport> {
  const started = Date.now()
  return checkPart(await kvPart(options, check.groups ?? allGroups), check, started)
}

/**
 * Registers one uvu suite per group of the contract for the adapter and runs them. Groups the
 * adapter's capabilities or options rule out print `SKIPPED SUITE: <adapter> <group> — needs
 * <capability or option>`.
 *
 * @example
 * ```ts
 * // test/conformance/memory.test.ts
 * import { runConformance } from 'appr-core/conformance'
 * import { memoryStore } from 'appr-core/adapters/memory'
 * await runConformance({ name: 'memory', open: () => memoryStore() })
 * ```
 */
export async function runConformance(options: ConformanceOptions, groups: readonly Group[] = allGroups): Promise<void> {
  await registerPart(await kvPart(options, groups))
}

function blobPart(options: BlobConformanceOptions, groups: readonly BlobGroup[]): Part<BlobCtx> {
  const settings = settingsOf(options)
  const fixed: BlobConformanceOptions = { ...options, seed: settings.seed }
  return {
    options: fixed,
    settings,
    declared: JSON.stringify({ ...options.capabilities, close: options.close !== undefined }),
    groups: groups as readonly Group<BlobCtx, string>[],
    missing: (needs) => missingForBlobs(needs as readonly BlobNeed[] | undefined, fixed),
    context: (property) => new BlobCtx(settings, property as Property<BlobCtx, BlobNeed>, fixed),
  }
}

/**
 * Runs the BlobStore part without a test runner and returns the report (see {@link checkConformance}).
 * @example
 * ```ts
 * const report = await checkBlobConformance({ name: 'my-objects', open: (location) => myBlobStore(location) })
 * ```
 */
export async function checkBlobConformance(options: BlobConformanceOptions, check: CheckOptions<BlobGroup> = {}): Promise<ConformanceReport> {
  return checkPart(blobPart(options, check.groups ?? blobGroups), check)
}

/**
 * Registers the BlobStore part as uvu suites and runs them, like {@link runConformance}.
 *
 * @example
 * ```ts
 * import { runBlobConformance } from 'appr-core/conformance'
 * import { fileBlobStore } from 'appr-core/adapters/level'
 * await runBlobConformance({ name: 'file blobs', open: (path) => fileBlobStore({ path }), newLocation: tempDir, destroy: rmDir, capabilities: { persistent: true } })
 * ```
 */
export async function runBlobConformance(options: BlobConformanceOptions, groups: readonly BlobGroup[] = blobGroups): Promise<void> {
  await registerPart(blobPart(options, groups))
}
