/**
 * Repository names and references (tags and digests) as the OCI Distribution Specification
 * defines them.
 * @module
 */
import { isOciDigest, parseOciDigest } from './digest.js'
import { OciError } from './errors.js'

// The spec's `<name>` grammar: path components of [a-z0-9] runs joined by `.`, `_`, `__` or `-`s.
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/

/** Longest repository name accepted (the spec suggests clients keep name + host under 255). */
export const MAX_REPOSITORY_LENGTH = 255

/** True when `value` is a valid repository name. */
export function isRepositoryName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_REPOSITORY_LENGTH && NAME.test(value)
}

/**
 * Validates a repository name (`acme/nginx`, `library/a.b/c-d`).
 * @throws OciError `NAME_INVALID`
 */
export function parseRepositoryName(value: unknown): string {
  if (!isRepositoryName(value)) {
    const shown = typeof value === 'string' ? value.slice(0, 300) : String(value)
    throw new OciError('NAME_INVALID', `invalid repository name '${shown}'`, { detail: { name: shown } })
  }
  return value
}

/** True when `value` is a valid tag. */
export function isTag(value: unknown): value is string {
  return typeof value === 'string' && TAG.test(value)
}

/**
 * Validates a tag.
 * @throws OciError `TAG_INVALID`
 */
export function parseTag(value: unknown): string {
  if (!isTag(value)) {
    const shown = typeof value === 'string' ? value.slice(0, 200) : String(value)
    throw new OciError('TAG_INVALID', `invalid tag '${shown}': expected [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`, { detail: { tag: shown } })
  }
  return value
}

/** A manifest reference: a tag or a digest. */
export type ManifestReference = { readonly kind: 'tag'; readonly tag: string } | { readonly kind: 'digest'; readonly digest: string }

/**
 * Parses the `<reference>` of a manifest URL: a digest when it contains `:`, else a tag.
 * @throws OciError `DIGEST_INVALID` or `TAG_INVALID`
 */
export function parseReference(value: unknown): ManifestReference {
  if (typeof value === 'string' && value.includes(':')) {
    parseOciDigest(value)
    return { kind: 'digest', digest: value }
  }
  return { kind: 'tag', tag: parseTag(value) }
}

/** The string form of a reference (its tag or digest). */
export function referenceString(reference: ManifestReference): string {
  return reference.kind === 'tag' ? reference.tag : reference.digest
}

/** True when `value` is a valid reference (tag or supported digest). */
export function isReference(value: unknown): boolean {
  return isTag(value) || isOciDigest(value)
}
