/**
 * Loading a store's driver package on demand. The drivers (`level`, `ioredis`, `etcd3`) are
 * optional peer dependencies of appr-core: a user installs the one their store needs, and a
 * store whose driver is missing says which package to install instead of failing to resolve.
 * @module
 */
import { fileURLToPath } from 'node:url'
import { ApprError } from '../errors/index.js'

/** Where the running appr-core was installed, as far as its own path tells ({@link installKind}). */
export type InstallKind = 'local' | 'global' | 'unknown'

/**
 * Where the appr-core at `modulePath` (a file of it) was installed, seen from `cwd`, without
 * asking npm: `local` when it is in the `node_modules` of `cwd` or of a folder above it (or not in
 * any `node_modules`: a checkout), `global` when it is in a global prefix's `node_modules`
 * (`<prefix>/lib/node_modules/appr-core`, or `%APPDATA%\npm\node_modules\appr-core` on Windows)
 * and not in the former, `unknown` otherwise (another project's install, `npx`'s cache).
 */
export function installKind(modulePath: string, cwd: string): InstallKind {
  const path = modulePath.replaceAll('\\', '/')
  const at = path.lastIndexOf('/node_modules/appr-core/')
  if (at < 0) return 'local'
  const owner = path.slice(0, at)
  const here = cwd.replaceAll('\\', '/').replace(/\/+$/, '')
  if (here === owner || here.startsWith(`${owner}/`)) return 'local'
  if (owner.endsWith('/lib') || /\/AppData\/Roaming\/npm$/i.test(owner)) return 'global'
  return 'unknown'
}

/**
 * The npm command that installs `packages` beside the running appr-core: `npm install …`,
 * `npm install --global …` for a global install, both when its install is neither.
 */
export function installCommand(packages: string, kind: InstallKind = installKind(fileURLToPath(import.meta.url), process.cwd())): string {
  if (kind === 'local') return `npm install ${packages}`
  if (kind === 'global') return `npm install --global ${packages}`
  return `npm install ${packages} (or npm install --global ${packages} for a global appr-core)`
}

/**
 * Imports the driver package `driver` of the `adapter` store.
 * @throws ApprError `unsupported` naming the package to install when `driver` is not installed
 *   (with `--global` when appr-core itself is a global install: {@link installCommand}); any
 *   other failure to load it (a broken install, a missing dependency of the driver) as is
 */
export async function importDriver<T>(driver: string, adapter: string): Promise<T> {
  try {
    return (await import(driver)) as T
  } catch (cause) {
    if (!isMissingPackage(cause, driver)) throw cause
    throw new ApprError('unsupported', `the ${adapter} store needs the '${driver}' package, which is not installed: ${installCommand(driver)}`, {
      cause,
      details: { adapter, package: driver },
    })
  }
}

/** True when `error` says that `name` itself (not something it imports) cannot be resolved. */
export function isMissingPackage(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${name}'`)
}
