/**
 * Package references on the command line: `ns/name`, `ns/name@release-or-query`,
 * `ns/name:channel`, `ns/name@sha256:<digest>`.
 * @module
 */
import { isApprError } from '../errors/index.js'
import { type PackageName, parsePackageName } from '../model/index.js'
import { UsageError } from './args.js'

/** A package reference. */
export interface PackageRef {
  readonly package: PackageName
  readonly release?: string
  readonly channel?: string
  readonly digest?: string
}

/** Parses a {@link PackageRef}; a missing or malformed one is a {@link UsageError}. */
export function parseRef(input: string | undefined): PackageRef {
  if (input === undefined) throw new UsageError('a package (namespace/name) is required')
  const digest = /^(.*)@sha256:([0-9a-f]{64})$/.exec(input)
  if (digest) return { package: parseName(digest[1]!), digest: digest[2]! }
  const at = input.indexOf('@')
  if (at >= 0) return { package: parseName(input.slice(0, at)), release: input.slice(at + 1) }
  const colon = input.indexOf(':')
  if (colon >= 0) return { package: parseName(input.slice(0, colon)), channel: input.slice(colon + 1) }
  return { package: parseName(input) }
}

function parseName(input: string): PackageName {
  try {
    return parsePackageName(input)
  } catch (e) {
    throw new UsageError(isApprError(e) ? e.message : `bad package name: ${input}`)
  }
}

/** The client's release selector of a reference (a channel, a release or query, or the default). */
export function selectorOf(ref: PackageRef, format: string): { release?: string; channel?: string; format: string } {
  return { ...(ref.release === undefined ? {} : { release: ref.release }), ...(ref.channel === undefined ? {} : { channel: ref.channel }), format }
}
