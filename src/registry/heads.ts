/**
 * The heads of a package record: per format, a copy of the default release's manifest, so that
 * show and pull of the default release read one key. Every commit that writes or deletes a
 * manifest calls {@link updateHead} on the record it rewrites.
 * @module
 */
import { resolveQuery } from '../model/query.js'
import type { Manifest } from '../model/types.js'
import { type Head, nameMap, own, type PackageRecord } from './records.js'

/**
 * Metadata longer than this (as JSON) keeps its manifest out of the package record, which every
 * call reads; every other manifest field is short (bounded by validation).
 */
const MAX_HEAD_METADATA_CHARS = 2048

const headFits = (manifest: Manifest): boolean =>
  manifest.metadata === null || manifest.metadata === undefined || JSON.stringify(manifest.metadata).length <= MAX_HEAD_METADATA_CHARS

/**
 * Keeps `record.heads[format]` true after the releases of `format` changed: `candidate` (the
 * manifest just written, or the new default's after a delete) becomes the head when it is the
 * default release of the format; a head that is no longer the default, or whose manifest was
 * replaced by something not copied, is dropped. Never leaves a head that differs from its stored manifest.
 */
export function updateHead(record: PackageRecord, format: string, candidate: Head | undefined): void {
  const withFormat = Object.keys(record.releases).filter((r) => Object.hasOwn(record.releases[r]!, format))
  const wanted = withFormat.length === 0 ? undefined : resolveQuery(undefined, withFormat)
  const heads = nameMap(record.heads)
  const current = own(heads, format)
  if (candidate && candidate.manifest.release === wanted && headFits(candidate.manifest)) {
    heads[format] = candidate
  } else if (current && (current.manifest.release !== wanted || current.manifest.release === candidate?.manifest.release)) {
    delete heads[format]
  }
  if (Object.keys(heads).length > 0) record.heads = heads
  else delete record.heads
}

/** The default release of `format` once `release` is gone, with its digest. */
export function nextDefault(record: PackageRecord, release: string, format: string): { release: string; digest: string } | undefined {
  const rest = Object.keys(record.releases).filter((r) => r !== release && Object.hasOwn(record.releases[r]!, format))
  const next = rest.length === 0 ? undefined : resolveQuery(undefined, rest)
  return next === undefined ? undefined : { release: next, digest: record.releases[next]![format]! }
}
