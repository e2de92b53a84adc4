/**
 * Entry points: {@link checkConformance} (runner-agnostic, returns a report) and
 * {@link runConformance} (registers and runs uvu suites).
 * @module
 */
import type { KvCapabilities } from '../storage/kv.js'
import { type ConformanceOptions, type ConformanceReport, type Group, type PropertyResult, missingFor, runProperty, settingsOf } from './harness.js'
import { bytes } from './properties/bytes.js'
import { commit } from './properties/commit.js'
import { concurrency } from './properties/concurrency.js'
import { durability } from './properties/durability.js'
import { lifecycle } from './properties/lifecycle.js'
import { limits } from './properties/limits.js'
import { list } from './properties/list.js'
import { modelRun } from './properties/model-run.js'
import { registry } from './properties/registry.js'

/** Every group of the KvStore contract (level A), in run order: cheap and precise first. */
export const kvGroups: readonly Group[] = [lifecycle, bytes, commit, list, limits, concurrency, modelRun, durability]

/** Level B: appr registry semantics over the adapter. */
export const registryGroups: readonly Group[] = [registry]

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

function selected(groups: readonly Group[], only: string | undefined): Group[] {
  return groups
    .map((g) => ({ ...g, properties: g.properties.filter((p) => only === undefined || p.id.includes(only)) }))
    .filter((g) => g.properties.length > 0)
}

/** Options of {@link checkConformance}. */
export interface CheckOptions {
  /** Stop at the first failing property (what the mutant tests use to time a catch). */
  readonly bail?: boolean
  /** Called after each property. */
  readonly onResult?: (result: PropertyResult) => void
  /** Groups to run (default {@link kvGroups}). */
  readonly groups?: readonly Group[]
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
  const groups = check.groups ?? allGroups
  const settings = settingsOf(options)
  const started = Date.now()
  const capabilities = await probe(options)
  const results: PropertyResult[] = []
  let firstFailureMs: number | undefined
  for (const group of selected(groups, settings.only)) {
    for (const property of group.properties) {
      const result = await runProperty({ ...property, needs: [...(group.needs ?? []), ...(property.needs ?? [])] }, settings, capabilities, options)
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
 * Registers one uvu suite per group of the contract for the adapter and runs them. Groups the
 * adapter's capabilities rule out print `SKIPPED SUITE: <adapter> <group> — needs <capability>`.
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
  const { suite } = await import('uvu')
  const settings = settingsOf(options)
  const fixed: ConformanceOptions = { ...options, seed: settings.seed }
  let capabilities: KvCapabilities
  try {
    capabilities = await probe(fixed)
  } catch (error) {
    await options.teardown?.()
    throw error
  }
  settings.log(`conformance: ${options.name} · profile ${settings.profile} · APPR_CONFORMANCE_SEED=${settings.seed} · ${JSON.stringify(capabilities)}`)
  let last: ReturnType<typeof suite> | undefined
  const queued: ReturnType<typeof suite>[] = []
  for (const group of selected(groups, settings.only)) {
    const missing = missingFor(group.needs, capabilities, fixed)
    if (missing !== undefined) {
      settings.log(`SKIPPED SUITE: ${options.name} ${group.name} — needs ${missing}`)
      continue
    }
    const test = suite(`${options.name} ${group.name}`)
    queued.push(test)
    for (const property of group.properties) {
      const why = missingFor(property.needs, capabilities, fixed)
      if (why !== undefined) {
        // A property about single-process stores does not apply to a multi-process one: nothing is missing.
        const applies = !(property.needs?.includes('singleProcess') && capabilities.multiProcess)
        settings.log(applies ? `SKIPPED SUITE: ${options.name} ${property.id} — needs ${why}` : `not applicable: ${options.name} ${property.id} (the store is multiProcess)`)
        continue
      }
      test(property.id, async () => {
        const result = await runProperty(property, settings, capabilities, fixed)
        if (result.status === 'failed') throw result.error
      })
    }
    last = test
  }
  const teardown = options.teardown
  if (teardown && last) last.after(async () => teardown())
  else await teardown?.()
  // Queued only now, so the teardown hook is attached to the last suite before any suite runs.
  for (const s of queued) s.run()
}
