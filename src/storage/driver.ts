/**
 * Loading a store's driver package on demand. The drivers (`level`, `ioredis`, `etcd3`) are
 * optional peer dependencies of appr-core: a user installs the one their store needs, and a
 * store whose driver is missing says which package to install instead of failing to resolve.
 * @module
 */
import { ApprError } from '../errors/index.js'

/**
 * Imports the driver package `driver` of the `adapter` store.
 * @throws ApprError `unsupported` naming the package to install when `driver` is not installed;
 *   any other failure to load it (a broken install, a missing dependency of the driver) as is
 */
export async function importDriver<T>(driver: string, adapter: string): Promise<T> {
  try {
    return (await import(driver)) as T
  } catch (cause) {
    if (!isMissingPackage(cause, driver)) throw cause
    throw new ApprError('unsupported', `the ${adapter} store needs the '${driver}' package, which is not installed: npm install ${driver}`, {
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
