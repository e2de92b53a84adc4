/**
 * Helm charts as OCI artifacts, as Helm 3.8+ pushes them: an OCI image manifest whose config
 * (`application/vnd.cncf.helm.config.v1+json`) is the Chart.yaml fields as JSON, whose one
 * layer (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`) is the chart `.tgz` bytes, with
 * Helm's `org.opencontainers.image.*` annotations; SemVer build metadata (`+`) is written `_` in
 * tags, since `+` is not a tag character.
 * @module
 */
import { isRelease } from '../model/release.js'
import { goJsonBytes, sortedMap } from './canonical.js'
import { ociDigestOf } from './digest.js'
import { HELM_CHART_LAYER, HELM_CONFIG, OCI_MANIFEST } from './media-types.js'

/** The tag Helm pushes a chart version under: `+` becomes `_`. */
export function helmTagOf(version: string): string {
  return version.replaceAll('+', '_')
}

/**
 * The chart version a tag names, as `helm pull` reads it (`_` back to `+`), or `undefined` when
 * the tag is not a SemVer version either way.
 */
export function versionOfHelmTag(tag: string): string | undefined {
  const restored = tag.replaceAll('_', '+')
  return isRelease(tag) ? tag : isRelease(restored) ? restored : undefined
}

type Doc = Record<string, unknown>

const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v)
// Helm's loader reads Chart.yaml into Go strings; YAML scalars such as `appVersion: 6.5` arrive as numbers.
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined
const strings = (v: unknown): string[] | undefined => {
  if (!Array.isArray(v)) return undefined
  const out = v.map(str).filter((s): s is string => s !== undefined)
  return out.length > 0 ? out : undefined
}
const stringMap = (v: unknown): Record<string, string> | undefined => {
  if (!isObject(v)) return undefined
  const entries = Object.entries(v).flatMap(([k, x]) => {
    const s = str(x)
    return s === undefined ? [] : [[k, s] as const]
  })
  return entries.length > 0 ? sortedMap(entries) : undefined
}

// Go's omitempty: drop undefined, '' and false, keep the order the fields are listed in.
function goStruct(fields: readonly (readonly [string, unknown])[], always: readonly string[] = []): Doc {
  const out: Doc = {}
  for (const [key, value] of fields) {
    if (always.includes(key)) out[key] = value ?? ''
    else if (value !== undefined && value !== '' && value !== false) out[key] = value
  }
  return out
}

/** Chart.yaml's `maintainers` as Helm's `Maintainer` structs. */
function maintainersOf(v: unknown): Doc[] | undefined {
  if (!Array.isArray(v)) return undefined
  const out = v.filter(isObject).map((m) => goStruct([['name', str(m.name)], ['email', str(m.email)], ['url', str(m.url)]]))
  return out.length > 0 ? out : undefined
}

/** Chart.yaml's `dependencies` as Helm's `Dependency` structs (`name` and `repository` always written). */
function dependenciesOf(v: unknown): Doc[] | undefined {
  if (!Array.isArray(v)) return undefined
  const out = v.filter(isObject).map((d) =>
    goStruct(
      [
        ['name', str(d.name)],
        ['version', str(d.version)],
        ['repository', str(d.repository)],
        ['condition', str(d.condition)],
        ['tags', strings(d.tags)],
        ['enabled', d.enabled === true],
        ['import-values', Array.isArray(d['import-values']) && d['import-values'].length > 0 ? d['import-values'] : undefined],
        ['alias', str(d.alias)],
      ],
      ['name', 'repository'],
    ),
  )
  return out.length > 0 ? out : undefined
}

/** The fields of a chart that Helm's OCI config and annotations are made of. */
export interface HelmChartMetadata {
  readonly name?: string
  readonly version?: string
  readonly description?: string
  readonly home?: string
  readonly sources?: readonly string[]
  readonly maintainers?: readonly { readonly name?: string; readonly email?: string }[]
  readonly annotations?: Readonly<Record<string, string>>
}

/**
 * The Helm config blob of a chart: its parsed Chart.yaml as Helm's `chart.Metadata` marshals it
 * (Go field order, empty fields omitted), so the bytes and digest equal Helm's own.
 */
export function helmConfigBytes(chartYaml: unknown): Uint8Array {
  return goJsonBytes(helmConfigObject(chartYaml))
}

function helmConfigObject(chartYaml: unknown): Doc {
  const c = isObject(chartYaml) ? chartYaml : {}
  return goStruct([
    ['name', str(c.name)],
    ['home', str(c.home)],
    ['sources', strings(c.sources)],
    ['version', str(c.version)],
    ['description', str(c.description)],
    ['keywords', strings(c.keywords)],
    ['maintainers', maintainersOf(c.maintainers)],
    ['icon', str(c.icon)],
    ['apiVersion', str(c.apiVersion)],
    ['condition', str(c.condition)],
    ['tags', str(c.tags)],
    ['appVersion', str(c.appVersion)],
    ['deprecated', c.deprecated === true],
    ['annotations', stringMap(c.annotations)],
    ['kubeVersion', str(c.kubeVersion)],
    ['dependencies', dependenciesOf(c.dependencies)],
    ['type', str(c.type)],
  ])
}

/** The subset of Chart.yaml that Helm's annotations read (parsed the way Helm's loader does). */
export function helmChartMetadata(chartYaml: unknown): HelmChartMetadata {
  const c = helmConfigObject(chartYaml) as HelmChartMetadata
  return c
}

/**
 * The manifest annotations Helm writes for a chart: description, title (name), version, url
 * (home), created, source (first of `sources`), authors (maintainers as `name (email)`, joined
 * by `, `), then the chart's own annotations except `…title` and `…version`.
 */
export function helmAnnotations(chart: HelmChartMetadata, created: string): Record<string, string> {
  const out = new Map<string, string>()
  const add = (key: string, value: string | undefined) => {
    if (value !== undefined && value !== '') out.set(key, value)
  }
  add('org.opencontainers.image.description', chart.description)
  add('org.opencontainers.image.title', chart.name)
  add('org.opencontainers.image.version', chart.version)
  add('org.opencontainers.image.url', chart.home)
  add('org.opencontainers.image.created', created)
  add('org.opencontainers.image.source', chart.sources?.[0])
  if (chart.maintainers && chart.maintainers.length > 0) {
    add('org.opencontainers.image.authors', chart.maintainers.map((m) => `${m.name ?? ''}${m.email ? ` (${m.email})` : ''}`).join(', '))
  }
  for (const [key, value] of Object.entries(chart.annotations ?? {})) {
    if (key !== 'org.opencontainers.image.title' && key !== 'org.opencontainers.image.version') out.set(key, value)
  }
  return sortedMap(out)
}

/** A blob's identity in a manifest. */
export interface BlobRef {
  /** `sha256:<hex>` of the bytes. */
  readonly digest: string
  readonly size: number
}

/** A manifest as bytes, with the digest and size its descriptor needs. */
export interface ManifestBytes {
  readonly mediaType: string
  readonly bytes: Uint8Array
  readonly digest: string
  readonly size: number
}

/** Wraps manifest bytes with their digest and size. */
export function manifestBytes(mediaType: string, bytes: Uint8Array): ManifestBytes {
  return { mediaType, bytes, digest: ociDigestOf(bytes), size: bytes.byteLength }
}

/**
 * The Helm chart manifest for a config blob and a chart layer, byte for byte as Helm 3.13+
 * (oras-go v2) writes it: `schemaVersion`, `mediaType`, `config`, `layers`, `annotations`.
 */
export function helmChartManifest(config: BlobRef, chart: BlobRef, annotations: Readonly<Record<string, string>>): ManifestBytes {
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: HELM_CONFIG, digest: config.digest, size: config.size },
    layers: [{ mediaType: HELM_CHART_LAYER, digest: chart.digest, size: chart.size }],
    ...(Object.keys(annotations).length > 0 ? { annotations: sortedMap(Object.entries(annotations)) } : {}),
  }
  return manifestBytes(OCI_MANIFEST, goJsonBytes(manifest))
}
