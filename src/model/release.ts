import semver from 'semver'
import { ApprError } from '../errors/index.js'

// The regular expression published with SemVer 2.0.0. semver.valid() alone is too lenient
// (it accepts `v1.0.0` and `=1.0.0`), and appr answers invalid-release for those.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/

/** Longest release string accepted (keeps keys and messages bounded). */
export const MAX_RELEASE_LENGTH = 256

/** True when `input` is an exact SemVer 2.0.0 version. */
export function isRelease(input: unknown): input is string {
  return typeof input === 'string' && input.length <= MAX_RELEASE_LENGTH && SEMVER.test(input) && semver.valid(input) !== null
}

/**
 * Validates an exact release (SemVer 2.0.0; build metadata allowed).
 * @throws ApprError `invalid-release`
 */
export function parseRelease(input: unknown): string {
  if (!isRelease(input)) {
    const shown = typeof input === 'string' ? input.slice(0, 300) : String(input)
    throw new ApprError('invalid-release', `'${shown}' is not a valid release: expected a semantic version such as 1.2.0`, {
      details: { release: shown },
    })
  }
  return input
}

/**
 * Orders releases by SemVer precedence; releases equal but for build metadata are ordered by
 * their build strings so the order is total and deterministic.
 */
export function compareReleases(a: string, b: string): number {
  return semver.compareBuild(a, b)
}

/** The releases, highest first. */
export function sortReleasesDesc(releases: Iterable<string>): string[] {
  return [...releases].sort((a, b) => compareReleases(b, a))
}

/** The highest release, or undefined for none. */
export function highestRelease(releases: Iterable<string>): string | undefined {
  let best: string | undefined
  for (const r of releases) if (best === undefined || compareReleases(r, best) > 0) best = r
  return best
}
