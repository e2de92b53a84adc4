/**
 * Helm's repository index (`index.yaml`) built from a registry's `helm`-format releases: which
 * releases Helm could load (and why the others are left out), each chart's Chart.yaml read once
 * per blob digest, and the YAML document itself.
 * @module
 */
import semver from 'semver'
import { stringify } from 'yaml'
import { inspectArchive } from '../../archive/inspect.js'
import { isApprError } from '../../errors/index.js'
import type { Manifest } from '../../model/types.js'
import { LruMap } from '../../registry/lru.js'
import type { RegistryApi } from '../options.js'
import { helmMetadata } from './chart-metadata.js'

/** What Helm reads from one loadable chart archive. */
export interface ChartFacts {
  /** The Chart.yaml fields Helm's index holds, typed as Helm reads them (`chart-metadata.ts`). */
  readonly chart: Readonly<Record<string, unknown>>
  /** Hex sha256 of the gzipped archive (Helm's `digest`). */
  readonly sha256: string
}

/** A release left out of the index, and why. */
export interface SkippedChart {
  readonly package: string
  readonly release: string
  readonly reason: string
}

/** One release of the index: where its archive is and what Helm reads from it. */
export interface IndexedChart {
  readonly package: string
  readonly manifest: Manifest
  readonly facts: ChartFacts
}

/** Helm's chart names: no path separators, nothing a file name or URL would need escaped. */
const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * Reads and checks chart archives, remembering the outcome per appr digest (a blob's content
 * never changes, so neither does what Helm makes of it).
 */
export function chartReader(registry: RegistryApi, maxEntries = 20_000) {
  const cache = new LruMap<string, ChartFacts | string>(maxEntries)
  return async function read(pkg: string, manifest: Manifest): Promise<ChartFacts | string> {
    // The release is part of the key: the same blob may be two releases, and only one matches its Chart.yaml version.
    const key = `${manifest.content.digest} ${manifest.release}`
    const known = cache.get(key)
    if (known !== undefined) return known
    let outcome: ChartFacts | string
    try {
      const pulled = await registry.pull(pkg, { release: manifest.release, format: 'helm' })
      const inspection = await inspectArchive(pulled.stream)
      const refused = helmLoadable(inspection.root, inspection.manifest, manifest.release)
      const chart = refused ?? helmMetadata(inspection.manifest!.document as Record<string, unknown>)
      outcome = typeof chart === 'string' ? chart : { chart, sha256: pulled.ociDigest.replace(/^sha256:/, '') }
    } catch (error) {
      // A release deleted while the index was built is simply not there; anything else is reported.
      if (isApprError(error, 'package-release-not-found') || isApprError(error, 'package-not-found')) return 'deleted while the index was built'
      // A store that failed for now says nothing about the chart: the index fails (503) rather
      // than leave it out, and nothing is remembered.
      if (isApprError(error, 'unavailable') || (isApprError(error) && error.transient)) throw error
      outcome = `the archive could not be read: ${error instanceof Error ? error.message : String(error)}`
    }
    cache.set(key, outcome)
    return outcome
  }
}

/**
 * Why Helm's loader would refuse this archive (undefined: it loads). Helm expects every file under
 * one `<chart>/` folder holding `Chart.yaml` with an `apiVersion`, a plain `name` (the folder's,
 * as `helm package` writes it) and a SemVer `version`; the index also needs that version to be
 * the release, or `helm install --version` would fetch a different chart than it names.
 */
function helmLoadable(
  root: string | undefined,
  manifest: { kind: string; path: string; document?: unknown; error?: string } | undefined,
  release: string,
): string | undefined {
  if (root === undefined) return 'the archive has no single top folder (Helm expects <chart>/Chart.yaml)'
  if (manifest === undefined || manifest.kind !== 'helm' || manifest.path !== `${root}/Chart.yaml`) return `no ${root}/Chart.yaml`
  if (manifest.error !== undefined) return `Chart.yaml: ${manifest.error}`
  const doc = manifest.document
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'Chart.yaml is not a mapping'
  const { apiVersion, name, version } = doc as Record<string, unknown>
  if (apiVersion !== 'v1' && apiVersion !== 'v2') return 'Chart.yaml needs apiVersion v1 or v2'
  if (typeof name !== 'string' || !CHART_NAME.test(name)) return 'Chart.yaml needs a plain name'
  if (name !== root) return `the chart ${name} is under ${root}/, not ${name}/`
  if (typeof version !== 'string' || semver.valid(version) === null) return 'Chart.yaml needs a SemVer version'
  if (semver.clean(version) !== semver.clean(release)) return `Chart.yaml says version ${version}, the release is ${release}`
  return undefined
}

/**
 * The index document: `entries` by chart name, versions highest first, `urls` relative to the
 * index (Helm resolves them against the repository URL). `generated` is the newest `created`,
 * so the same releases always give the same bytes (and the same ETag).
 *
 * Written in YAML 1.1 terms (Helm's parser is go-yaml v2: an unquoted `yes` or `1.0` would not
 * stay a string), one version entry at a time: `fragments`, when given, keeps each entry's text,
 * so a rebuild after one push writes one entry and joins the rest (writing 10 000 entries with
 * the YAML library takes about 2 s).
 */
export function indexYaml(
  charts: readonly IndexedChart[],
  skipped: readonly SkippedChart[],
  urlOf: (c: IndexedChart) => string,
  fragments?: LruMap<string, string>,
): string {
  const entries = new Map<string, string[]>()
  const seen = new Set<string>()
  const duplicates: SkippedChart[] = []
  let generated = '1970-01-01T00:00:00Z'
  const ordered = [...charts].sort((a, b) => a.package.localeCompare(b.package) || semver.rcompare(a.manifest.release, b.manifest.release))
  for (const c of ordered) {
    const name = c.facts.chart.name as string
    const version = c.facts.chart.version as string
    // Helm needs (name, version) unique: across namespaces the first package wins.
    if (seen.has(`${name}@${version}`)) {
      duplicates.push({ package: c.package, release: c.manifest.release, reason: `chart ${name} ${version} is already listed` })
      continue
    }
    seen.add(`${name}@${version}`)
    const created = rfc3339(c.manifest.created_at)
    if (created !== undefined && created > generated) generated = created
    const url = urlOf(c)
    const key = `${c.manifest.content.digest}\n${c.manifest.release}\n${url}\n${created}`
    let text = fragments?.get(key)
    if (text === undefined) {
      text = versionEntry({ ...c.facts.chart, urls: [url], ...(created === undefined ? {} : { created }), digest: c.facts.sha256 })
      fragments?.set(key, text)
    }
    const versions = entries.get(name) ?? []
    entries.set(name, versions)
    versions.push(text)
  }
  const report = [...skipped, ...duplicates].map((s) => `# left out: ${s.package} ${s.release}: ${s.reason.replace(/[\r\n]+/g, ' ')}\n`).join('')
  const names = [...entries.keys()].sort()
  const body = names.length === 0 ? 'entries: {}\n' : `entries:\n${names.map((n) => `  ${stringify(n, YAML_11).trimEnd()}:\n${entries.get(n)!.join('')}`).join('')}`
  return `${report}apiVersion: v1\n${body}${stringify({ generated }, YAML_11)}`
}

const YAML_11 = { version: '1.1' } as const

/** One version of a chart as a list item under its name (4 spaces in), ready to be joined. */
function versionEntry(entry: Record<string, unknown>): string {
  return stringify([entry], YAML_11)
    .split('\n')
    .map((line) => (line === '' ? line : `    ${line}`))
    .join('\n')
}

/**
 * `created` as Helm parses it (Go's RFC 3339): appr-core writes UTC ISO times, but a release
 * restored or mirrored from an appr server may carry Python's `isoformat()`, with no zone (taken
 * as UTC). A time that cannot be read is left out: Helm would refuse the whole index over it.
 */
function rfc3339(time: string): string | undefined {
  const zoned = /(?:Z|[+-]\d\d:\d\d)$/i.test(time) ? time : `${time}Z`
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(time) ? Date.parse(zoned) : Number.NaN
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
}
