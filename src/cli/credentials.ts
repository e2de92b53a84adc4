/**
 * Tokens `appr-core login` stores, one per registry, in `$XDG_CONFIG_HOME/appr-core/credentials.json`
 * (default `~/.config/appr-core/`). The file is private to its user (mode 0600 in a 0700
 * directory) and replaced atomically, so a crash mid-write never loses the other registries.
 * @module
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { apiBase } from '../client/index.js'

/** One registry's stored login. */
export interface StoredLogin {
  readonly token: string
  readonly username?: string
}

interface CredentialsFile {
  /** By the registry's API base (`…/cnr/api/v1`), so every spelling of one registry shares a login. */
  registries: Record<string, StoredLogin>
}

/** Where the credentials live for this environment. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(base, 'appr-core', 'credentials.json')
}

/** The key of a registry in the file (its API base, as the client resolves it). */
export const registryKey = (registry: string): string => apiBase(registry).api

function readFile(path: string): CredentialsFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { registries: Object.create(null) }
    throw error
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Error(`${path} is not JSON: fix or delete it`)
  }
  const registries = (parsed as { registries?: unknown } | null)?.registries
  if (typeof registries !== 'object' || registries === null) throw new Error(`${path} has no "registries" object: fix or delete it`)
  // User-given URLs are keys: a null-prototype map, so "__proto__" is an entry like any other.
  const map: Record<string, StoredLogin> = Object.create(null)
  for (const [key, login] of Object.entries(registries)) {
    const token = (login as { token?: unknown } | null)?.token
    const username = (login as { username?: unknown } | null)?.username
    if (typeof token === 'string') map[key] = { token, ...(typeof username === 'string' ? { username } : {}) }
  }
  return { registries: map }
}

function writeCredentials(path: string, file: CredentialsFile): void {
  const dir = join(path, '..')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const temp = `${path}.${process.pid}.tmp`
  try {
    // Created 0600 (and set again: an existing file or a umask must not leave it readable by others).
    writeFileSync(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 })
    chmodSync(temp, 0o600)
    renameSync(temp, path)
  } finally {
    rmSync(temp, { force: true })
  }
}

/** The login stored for `registry`, if any. */
export function storedLogin(registry: string, path = credentialsPath()): StoredLogin | undefined {
  const logins = readFile(path).registries
  const key = registryKey(registry)
  return Object.hasOwn(logins, key) ? logins[key] : undefined
}

/** Stores (or replaces) the login of `registry`. */
export function storeLogin(registry: string, login: StoredLogin, path = credentialsPath()): void {
  const file = readFile(path)
  file.registries[registryKey(registry)] = login
  writeCredentials(path, file)
}

/** Forgets the login of `registry`; false when there was none. */
export function forgetLogin(registry: string, path = credentialsPath()): boolean {
  const file = readFile(path)
  const key = registryKey(registry)
  if (!Object.hasOwn(file.registries, key)) return false
  delete file.registries[key]
  writeCredentials(path, file)
  return true
}
