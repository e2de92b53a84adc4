
import { ConformanceFailure, type Property, type PropertyResult, type Settings, type SuiteCtx, within } from './harness.js'

/**
 * Unhandled rejections caught while the suite runs. A property that fails can leave work in
 * flight that rejects once its store is closed; without a listener Node would exit on that
 * rejection before the failure, its counterexample and its replay line were printed.
 */
export interface StrayRejections {
  /** The rejections caught since the last call. */
  take(): unknown[]
  /** Removes the listener. */
  stop(): void
}

/** Starts collecting unhandled rejections (see {@link StrayRejections}). */
export function watchStrays(): StrayRejections {
  const caught: unknown[] = []
  const listener = (reason: unknown) => {
    caught.push(reason)
  }
  process.on('unhandledRejection', listener)
  return { take: () => caught.splice(0), stop: () => process.off('unhandledRejection', listener) }
}

const describeStray = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 3).join('\n      ') : String(e))

/** Runs one property in a fresh context with the time budget; returns its result. */
export async function runProperty<C extends SuiteCtx<unknown>>(
  property: Property<C, string>,
  settings: Settings,
  missing: string | undefined,
  context: () => C,
  strays?: StrayRejections,
): Promise<PropertyResult> {
  if (missing !== undefined) return { id: property.id, title: property.title, status: 'skipped', missing, ms: 0 }
  const earlier = strays?.take() ?? []
  if (earlier.length > 0) settings.log(`${settings.name}: ${earlier.length} unhandled rejection(s) before ${property.id}, first: ${describeStray(earlier[0])}`)
  const started = Date.now()
  const ctx = context()
  let error: unknown
  let failed = false
  try {
    await within(property.run(ctx), settings.timeoutMs, property.id)
  } catch (e) {
    failed = true
    error = e
  }
  // Cleanup failing (a hung server, a store that throws on close) must never hide the verdict.
  await within(ctx.cleanup(), 30_000, `cleanup after ${property.id}`).catch(() => {})
  // Rejections of work the property left in flight surface a turn after the stores close.
  await new Promise((r) => setTimeout(r, 10))
  const stray = strays?.take() ?? []
  if (!failed && stray.length === 0) return { id: property.id, title: property.title, status: 'passed', ms: Date.now() - started }
  const strayNote = stray.length === 0 ? '' : `\n  ${stray.length} unhandled rejection(s) ${failed ? 'after the failure' : 'while it ran'}, first: ${describeStray(stray[0])}`
  const base =
    !failed
      ? new ConformanceFailure(`${settings.name}: ${property.id} — left promises that rejected unhandled${strayNote}\n  replay: APPR_CONFORMANCE_SEED=${settings.seed} APPR_CONFORMANCE_ONLY='${property.id}'`)
      : error instanceof ConformanceFailure && error.message.includes('APPR_CONFORMANCE_SEED')
        ? new ConformanceFailure(`${error.message}${strayNote}`, { cause: error.cause ?? error })
        : new ConformanceFailure(
            `${settings.name}: ${property.id} — ${error instanceof Error ? error.message : String(error)}${strayNote}\n  replay: APPR_CONFORMANCE_SEED=${settings.seed} APPR_CONFORMANCE_ONLY='${property.id}'`,
            { cause: error },
          )
  return { id: property.id, title: property.title, status: 'failed', error: base, ms: Date.now() - started }
}
