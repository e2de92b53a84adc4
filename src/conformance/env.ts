// The suite is a test harness, so unlike the rest of src/ it reads its replay knobs from the
// environment: a failing CI log prints these variables and pasting them reproduces the run.
// This is the only file of src/conformance that touches process.env.

/** Replay settings read from `APPR_CONFORMANCE_*` variables (all optional). */
export interface EnvSettings {
  readonly seed?: number
  readonly path?: string
  readonly profile?: 'quick' | 'deep'
  readonly only?: string
}

export function readEnv(): EnvSettings {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {}
  const out: { seed?: number; path?: string; profile?: 'quick' | 'deep'; only?: string } = {}
  const seed = env.APPR_CONFORMANCE_SEED
  if (seed !== undefined && seed !== '' && Number.isInteger(Number(seed))) out.seed = Number(seed)
  if (env.APPR_CONFORMANCE_PATH) out.path = env.APPR_CONFORMANCE_PATH
  if (env.APPR_CONFORMANCE_PROFILE === 'deep' || env.APPR_CONFORMANCE_PROFILE === 'quick') out.profile = env.APPR_CONFORMANCE_PROFILE
  if (env.APPR_CONFORMANCE_ONLY) out.only = env.APPR_CONFORMANCE_ONLY
  return out
}
