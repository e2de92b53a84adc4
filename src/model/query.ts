import semver from 'semver'
import { ApprError } from '../errors/index.js'
import { highestRelease, isRelease } from './release.js'

/**
 * Release queries in the style of Python's `semantic_version` Spec, as the appr reference
 * resolves them:
 * - `default` (or no query): the highest release, pre-releases included;
 * - otherwise comma-separated clauses, all of which must hold: `==V`, `!=V`, `<V`, `<=V`, `>V`,
 *   `>=V`, `^V`, `~V`, `~=V`, a bare `V` (same as `==V`) or `*`;
 * - `V` may be partial (`1`, `1.2`, `1.2.x`): `==1` is any 1.x.x, `>1.2` is above every 1.2.x;
 * - build metadata is ignored when matching (`1.0.0` matches `1.0.0+build.1`);
 * - pre-releases are candidates only when the query itself contains a `-`.
 * @module
 */

type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=' | '^' | '~' | '~='

interface Bound {
  readonly parts: readonly number[] // 1 to 3 numbers
  readonly prerelease: string | undefined // only with 3 parts
}

interface Clause {
  readonly op: Operator
  readonly bound: Bound | 'any'
}

/** A parsed release query. */
export interface ReleaseQuery {
  /** The text it was parsed from. */
  readonly text: string
  /** True when pre-releases are candidates (the text contains `-`). */
  readonly includesPrereleases: boolean
  /** True when `release` (an exact SemVer) satisfies every clause, pre-release rule included. */
  matches(release: string): boolean
}

const MAX_QUERY_LENGTH = 1024
const CLAUSE = /^(==|!=|<=|>=|~=|<|>|=|\^|~)?\s*(\S.*)$/
const NUM = '(0|[1-9]\\d*)'
const ID = '[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*'
const PARTIAL = new RegExp(`^${NUM}(?:\\.(?:${NUM}|[xX*])(?:\\.(?:${NUM}|[xX*])(?:-(${ID}))?(?:\\+(${ID}))?)?)?$`)

function invalid(text: string, why: string): ApprError {
  return new ApprError('invalid-release', `invalid release query '${text.slice(0, 200)}': ${why}`, { details: { release: text.slice(0, 200) } })
}

function parseBound(text: string, raw: string): Bound | 'any' {
  if (raw === '*' || raw === 'x' || raw === 'X') return 'any'
  const m = PARTIAL.exec(raw)
  if (!m) throw invalid(text, `'${raw.slice(0, 100)}' is not a version`)
  const parts: number[] = [Number(m[1])]
  // A wildcard ends the version: `1.x.3` is not meaningful.
  const minorWild = raw.split('.')[1]?.match(/^[xX*]$/)
  if (m[2] !== undefined && !minorWild) {
    parts.push(Number(m[2]))
    const patchWild = raw.split('.')[2]?.match(/^[xX*]/)
    if (m[3] !== undefined && !patchWild) parts.push(Number(m[3]))
  } else if (m[3] !== undefined) {
    throw invalid(text, `'${raw.slice(0, 100)}' has a number after a wildcard`)
  }
  if (m[4] !== undefined && parts.length < 3) throw invalid(text, 'a pre-release needs a full version')
  if (parts.some((n) => !Number.isSafeInteger(n))) throw invalid(text, 'version number too large')
  return { parts, prerelease: m[4] }
}

/** -1, 0 or 1: how `v` compares with `bound` on the fields the bound has. */
function compareToBound(v: semver.SemVer, bound: Bound): number {
  const own = [v.major, v.minor, v.patch]
  for (let i = 0; i < bound.parts.length; i++) {
    const a = own[i]!
    const b = bound.parts[i]!
    if (a !== b) return a < b ? -1 : 1
  }
  if (bound.parts.length < 3) return 0
  // Full bound: SemVer precedence of the pre-release part (no pre-release sorts last).
  const full = `${bound.parts.join('.')}${bound.prerelease === undefined ? '' : `-${bound.prerelease}`}`
  return semver.compare(`${v.major}.${v.minor}.${v.patch}${v.prerelease.length ? `-${v.prerelease.join('.')}` : ''}`, full)
}

function filled(bound: Bound): Bound {
  const parts = [...bound.parts]
  while (parts.length < 3) parts.push(0)
  return { parts, prerelease: bound.prerelease }
}

/** Exclusive upper bound of `^`, `~` and `~=`, as a full version without pre-release. */
function upperOf(op: '^' | '~' | '~=', bound: Bound): Bound {
  const [major = 0, minor = 0, patch = 0] = bound.parts
  const n = bound.parts.length
  let parts: number[]
  if (op === '^') {
    if (major > 0 || n === 1) parts = [major + 1, 0, 0]
    else if (minor > 0 || n === 2) parts = [0, minor + 1, 0]
    else parts = [0, 0, patch + 1]
  } else if (op === '~') {
    parts = n === 1 ? [major + 1, 0, 0] : [major, minor + 1, 0]
  } else {
    // PEP 440 compatible release: drop the last given field and bump the one before it.
    parts = n <= 2 ? [major + 1, 0, 0] : [major, minor + 1, 0]
  }
  return { parts, prerelease: undefined }
}

function clauseMatches(clause: Clause, v: semver.SemVer): boolean {
  const { op, bound } = clause
  if (bound === 'any') return op !== '!='
  switch (op) {
    case '==':
      return compareToBound(v, bound) === 0
    case '!=':
      return compareToBound(v, bound) !== 0
    case '<':
      return compareToBound(v, bound) < 0
    case '<=':
      return compareToBound(v, bound) <= 0
    case '>':
      return compareToBound(v, bound) > 0
    case '>=':
      return compareToBound(v, bound) >= 0
    default:
      return compareToBound(v, filled(bound)) >= 0 && compareToBound(v, upperOf(op, bound)) < 0
  }
}

/**
 * Parses a release query (not `default`).
 * @throws ApprError `invalid-release` when malformed
 */
export function parseQuery(text: string): ReleaseQuery {
  if (typeof text !== 'string') throw invalid(String(text), 'not a string')
  if (text.length > MAX_QUERY_LENGTH) throw invalid(text, `longer than ${MAX_QUERY_LENGTH} characters`)
  const clauses: Clause[] = text.split(',').map((piece) => {
    const trimmed = piece.trim()
    const m = CLAUSE.exec(trimmed)
    if (!m) throw invalid(text, 'empty clause')
    const op = (m[1] === undefined || m[1] === '=' ? '==' : m[1]) as Operator
    const bound = parseBound(text, m[2]!.trim())
    if (bound === 'any' && op !== '==') throw invalid(text, `'*' cannot follow '${op}'`)
    return { op, bound }
  })
  const includesPrereleases = text.includes('-')
  return {
    text,
    includesPrereleases,
    matches(release) {
      const v = semver.parse(release)
      if (v === null) return false
      if (v.prerelease.length > 0 && !includesPrereleases) return false
      return clauses.every((c) => clauseMatches(c, v))
    },
  }
}

/** True when `text` asks for the default release (`default`, empty or absent). */
export function isDefaultQuery(text: string | undefined): boolean {
  return text === undefined || text === '' || text === 'default'
}

/** True unless `text` is an exact release (or the default). */
export function isQuery(text: string | undefined): boolean {
  return !isDefaultQuery(text) && !isRelease(text)
}

/**
 * The release a query selects among `releases`: the highest match, or `undefined` for none.
 * An exact release present in `releases` is returned as is.
 * @throws ApprError `invalid-release` when the query is malformed
 */
export function resolveQuery(query: string | undefined, releases: readonly string[]): string | undefined {
  if (isDefaultQuery(query)) return highestRelease(releases)
  const text = query as string
  if (isRelease(text) && releases.includes(text)) return text
  const parsed = parseQuery(text)
  return highestRelease(releases.filter((r) => parsed.matches(r)))
}
