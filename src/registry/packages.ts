/**
 * Finding a package, shared by every operation family: name and format lookups that answer
 * `package-not-found` for what cannot exist (as appr does), and the package record, read through
 * the record cache or decoded for a mutation.
 * @module
 */
import { ApprError, type ErrorDetails } from '../errors/index.js'
import { parseFormat } from '../model/media-type.js'
import { type PackageName, parsePackageName } from '../model/package-name.js'
import type { KvEntry } from '../storage/kv.js'
import type { RegistryContext } from './context.js'
import { decode, keys, type PackageRecord, PackageRecordType } from './records.js'

export const packageNotFound = (details: ErrorDetails, what = 'package'): ApprError =>
  new ApprError('package-not-found', `${what} not found: ${Object.values(details).join(' ')}`, { details })

/** Parses a name where appr answers 404 for anything that cannot exist. */
export function lookupName(pkg: string): PackageName {
  try {
    return parsePackageName(pkg)
  } catch {
    throw packageNotFound({ package: String(pkg).slice(0, 600) })
  }
}

export function lookupFormat(format: string, details: ErrorDetails): string {
  try {
    return parseFormat(format)
  } catch {
    throw packageNotFound({ ...details, media_type: String(format).slice(0, 200) })
  }
}

/** A package record read for a mutation: a fresh copy the caller may change. */
export function decodePackage(entry: KvEntry, name: PackageName): PackageRecord {
  return decode(PackageRecordType, entry.value, { package: name.full })
}

/** The package record for a read path: possibly shared with the record cache, so never to be changed. */
export async function readPackage(ctx: RegistryContext, name: PackageName): Promise<{ record: PackageRecord; version: string }> {
  const key = keys.pkg(name)
  const entry = await ctx.store.get(key)
  if (entry === undefined) throw packageNotFound({ package: name.full })
  if (!ctx.known.has(key)) ctx.known.set(key, true)
  let record = ctx.records.get(key, entry.version)
  if (record === undefined) {
    record = decodePackage(entry, name)
    ctx.records.set(key, entry.version, record)
  }
  return { record, version: entry.version }
}
