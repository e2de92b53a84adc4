/**
 * A Chart.yaml as Helm's index may carry it. Helm reads `index.yaml` strictly into its own types
 * (`yaml.UnmarshalStrict` into `repo.ChartVersion`): one field it does not know, or a list where
 * it wants a string, fails the whole index for every chart in it. Helm's chart loader reads
 * Chart.yaml leniently (unknown fields dropped, scalars where strings go turned into strings), so
 * each chart's document is projected onto the fields Helm 3 knows, as `helm repo index` would
 * write them, and a chart whose Chart.yaml Helm could not read at all is left out with the reason.
 * @module
 */

type Doc = Readonly<Record<string, unknown>>

/** The string fields of Helm's chart metadata (`chart.Metadata`). */
const STRINGS = ['name', 'home', 'version', 'description', 'icon', 'apiVersion', 'condition', 'tags', 'appVersion', 'kubeVersion', 'type'] as const
/** Its lists of strings. */
const STRING_LISTS = ['sources', 'keywords'] as const
/** Helm's dependency aliases (`aliasNameFormat`). */
const ALIAS = /^[a-zA-Z0-9-_]+$/

/**
 * The Chart.yaml fields Helm's index holds for `doc`, typed as Helm reads them, or why Helm
 * could not read the document (a string).
 */
export function helmMetadata(doc: Doc): Record<string, unknown> | string {
  const out: Record<string, unknown> = {}
  for (const field of STRINGS) {
    const value = scalar(doc[field])
    if (value === INVALID) return `Chart.yaml: ${field} must be a string`
    if (value !== undefined && value !== '') out[field] = value
  }
  for (const field of STRING_LISTS) {
    const list = stringList(doc[field])
    if (list === INVALID) return `Chart.yaml: ${field} must be a list of strings`
    if (list !== undefined && list.length > 0) out[field] = list
  }
  if (doc.deprecated !== undefined && doc.deprecated !== null) {
    if (typeof doc.deprecated !== 'boolean') return 'Chart.yaml: deprecated must be true or false'
    if (doc.deprecated) out.deprecated = true
  }
  if (out.type !== undefined && out.type !== 'application' && out.type !== 'library') return 'Chart.yaml: type must be application or library'
  const maintainers = listOf(doc.maintainers, (m) => pick(m, ['name', 'email', 'url']), 'maintainers')
  if (typeof maintainers === 'string') return maintainers
  if (maintainers.length > 0) out.maintainers = maintainers
  const dependencies = listOf(doc.dependencies, dependency, 'dependencies')
  if (typeof dependencies === 'string') return dependencies
  if (dependencies.length > 0) out.dependencies = dependencies
  if (doc.annotations !== undefined && doc.annotations !== null) {
    const annotations = pick(doc.annotations, undefined)
    if (typeof annotations === 'string') return 'Chart.yaml: annotations must map names to strings'
    if (Object.keys(annotations).length > 0) out.annotations = annotations
  }
  // In the chart's own order, as its author wrote it.
  return Object.fromEntries(Object.keys(doc).flatMap((field) => (Object.hasOwn(out, field) ? [[field, out[field]]] : [])))
}

const INVALID = Symbol('invalid')

/** A string as Helm's reader makes it: numbers and booleans become their text, absent stays absent. */
function scalar(value: unknown): string | undefined | typeof INVALID {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return INVALID
}

function stringList(value: unknown): string[] | undefined | typeof INVALID {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) return INVALID
  const out: string[] = []
  for (const item of value) {
    const s = scalar(item)
    if (s === INVALID || s === undefined) return INVALID
    out.push(s)
  }
  return out
}

function isMapping(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `fields` of a mapping as strings (every field when `fields` is undefined), or why not. */
function pick(value: unknown, fields: readonly string[] | undefined): Record<string, string> | string {
  if (!isMapping(value)) return 'not a mapping'
  const out: Record<string, string> = Object.create(null)
  for (const field of fields ?? Object.keys(value)) {
    const s = scalar(value[field])
    if (s === INVALID) return `${field} must be a string`
    if (s !== undefined && s !== '') out[field] = s
  }
  return { ...out }
}

function listOf<T>(value: unknown, item: (v: unknown) => T | string, field: string): T[] | string {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) return `Chart.yaml: ${field} must be a list`
  const out: T[] = []
  for (const v of value) {
    const read = item(v)
    if (typeof read === 'string') return `Chart.yaml: ${field}: ${read}`
    out.push(read)
  }
  return out
}

/** One of `dependencies`, as Helm's `chart.Dependency`. */
function dependency(value: unknown): Record<string, unknown> | string {
  const strings = pick(value, ['name', 'version', 'repository', 'condition', 'alias'])
  if (typeof strings === 'string') return strings
  const d = value as Doc
  if (strings.alias !== undefined && !ALIAS.test(strings.alias)) return `dependency ${strings.name ?? ''} has disallowed characters in the alias`
  // `name` and `repository` are the two Helm writes even when empty.
  const out: Record<string, unknown> = { ...strings, name: strings.name ?? '', repository: strings.repository ?? '' }
  const tags = stringList(d.tags)
  if (tags === INVALID) return 'tags must be a list of strings'
  if (tags !== undefined && tags.length > 0) out.tags = tags
  if (d.enabled !== undefined && d.enabled !== null) {
    if (typeof d.enabled !== 'boolean') return 'enabled must be true or false'
    if (d.enabled) out.enabled = true
  }
  if (d['import-values'] !== undefined && d['import-values'] !== null) {
    if (!Array.isArray(d['import-values'])) return 'import-values must be a list'
    if (d['import-values'].length > 0) out['import-values'] = d['import-values']
  }
  return out
}
