/**
 * Listing packages: paged summaries (list) and name search, both one range scan over the package
 * records, which carry everything a summary needs.
 * @module
 */
import { parseFormat } from '../model/media-type.js'
import { parseSegment } from '../model/package-name.js'
import { sortReleasesDesc } from '../model/release.js'
import type { Manifest, PackageSummary } from '../model/types.js'
import type { KvEntry } from '../storage/kv.js'
import { listAll } from '../storage/util.js'
import type { RegistryContext } from './context.js'
import { decode, keys, ManifestRecordType, type PackageRecord, PackageRecordType } from './records.js'
import type { ListOptions, ListPage, ManifestListOptions, ManifestPage, NamespacePage, PageOptions } from './types.js'

export async function list(ctx: RegistryContext, options: ListOptions = {}): Promise<ListPage> {
  const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000))
  let prefix: string = keys.packages
  if (options.namespace !== undefined) {
    try {
      prefix = keys.namespace(parseSegment(options.namespace, 'namespace'))
    } catch {
      return { packages: [] }
    }
  }
  let format: string | undefined
  if (options.format !== undefined) {
    try {
      format = parseFormat(options.format)
    } catch {
      return { packages: [] }
    }
  }
  const query = options.query?.toLowerCase()
  const packages: PackageSummary[] = []
  let after = options.after === undefined ? undefined : `${keys.packages}${options.after.toLowerCase()}`
  for (;;) {
    const page = await ctx.store.list(after === undefined ? { prefix, limit } : { prefix, after, limit })
    for (const entry of page) {
      const name = entry.key.slice(keys.packages.length)
      if (query !== undefined && !name.includes(query)) continue
      const summary = format === undefined ? fullSummary(ctx, entry) : summarize(recordOf(ctx, entry), format)
      if (summary) packages.push(summary)
      if (packages.length === limit) return { packages, next: name }
    }
    if (page.length < limit) return { packages }
    after = page[page.length - 1]!.key
  }
}

/** The package record of a listed entry, decoded once per version (shared: never changed). */
function recordOf(ctx: RegistryContext, entry: KvEntry): PackageRecord {
  let record = ctx.records.get(entry.key, entry.version, false)
  if (record === undefined) {
    record = decode(PackageRecordType, entry.value, { package: entry.key.slice(keys.packages.length) })
    ctx.records.set(entry.key, entry.version, record)
  }
  return record
}

/**
 * The unfiltered summary, kept per record version (a list page of cached packages then decodes
 * and sorts nothing); the caller gets its own copy, which it may change.
 */
function fullSummary(ctx: RegistryContext, entry: KvEntry): PackageSummary | undefined {
  let summary = ctx.summaries.get(entry.key, entry.version, false)
  if (summary === undefined) {
    summary = summarize(recordOf(ctx, entry), undefined)
    if (summary === undefined) return undefined
    ctx.summaries.set(entry.key, entry.version, summary)
  }
  return { ...summary, releases: [...summary.releases], manifests: [...summary.manifests] }
}

/** The summary of a package as list shows it, or `undefined` when the format filter leaves nothing. */
function summarize(record: PackageRecord, format: string | undefined): PackageSummary | undefined {
  let releases = Object.keys(record.releases)
  if (format !== undefined) releases = releases.filter((r) => Object.hasOwn(record.releases[r]!, format))
  if (releases.length === 0) return undefined
  const sorted = sortReleasesDesc(releases)
  const latest = sorted[0]!
  return {
    name: record.name,
    default: latest,
    releases: sorted,
    manifests: format !== undefined ? [format] : Object.keys(record.releases[latest]!).sort(),
    visibility: 'public',
    created_at: record.created_at,
  }
}

/**
 * The manifests of one format in a namespace (or everywhere), in key order: one range scan over
 * the manifest records, each decoded once per version. What reads every release of many packages
 * (the Helm index) then costs a few pages of a scan, not a read per package.
 */
export async function listManifests(ctx: RegistryContext, options: ManifestListOptions): Promise<ManifestPage> {
  const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000))
  let format: string
  let prefix = 'man/'
  try {
    format = parseFormat(options.format)
    if (options.namespace !== undefined) prefix = `man/${parseSegment(options.namespace, 'namespace')}/`
  } catch {
    return { manifests: [] }
  }
  const suffix = `/${format}`
  const manifests: Manifest[] = []
  let after = options.after === undefined ? undefined : `man/${options.after}`
  for (;;) {
    const page = await ctx.store.list(after === undefined ? { prefix, limit } : { prefix, after, limit })
    for (const entry of page) {
      if (!entry.key.endsWith(suffix)) continue
      let manifest = ctx.manifestRecords.get(entry.key, entry.version, false)
      if (manifest === undefined) {
        manifest = decode(ManifestRecordType, entry.value, { key: entry.key })
        ctx.manifestRecords.set(entry.key, entry.version, manifest)
      }
      manifests.push(manifest)
      if (manifests.length === limit) return { manifests, next: entry.key.slice('man/'.length) }
    }
    if (page.length < limit) return { manifests }
    after = page[page.length - 1]!.key
  }
}

export async function search(ctx: RegistryContext, query: string): Promise<string[]> {
  if (typeof query !== 'string' || query === '') return []
  const needle = query.toLowerCase()
  const out: string[] = []
  for await (const entry of listAll(ctx.store, keys.packages)) {
    const name = entry.key.slice(keys.packages.length)
    if (name.includes(needle)) out.push(name)
  }
  return out
}

/**
 * Namespaces holding packages, in key order: a skip scan, one store read of one key per
 * namespace, so it costs the number of namespaces returned whatever the packages per namespace.
 */
export async function namespaces(ctx: RegistryContext, options: PageOptions = {}): Promise<NamespacePage> {
  const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000))
  const out: string[] = []
  // '0' is the character right after '/', and no segment holds '/': `pkg/<ns>0` sorts after every
  // package of <ns> and before the first key of any namespace that follows it.
  let after = options.after === undefined ? undefined : `${keys.packages}${options.after.toLowerCase()}0`
  while (out.length < limit) {
    const [entry] = await ctx.store.list(after === undefined ? { prefix: keys.packages, limit: 1 } : { prefix: keys.packages, after, limit: 1 })
    if (entry === undefined) return { namespaces: out }
    const namespace = entry.key.slice(keys.packages.length).split('/')[0]!
    out.push(namespace)
    after = `${keys.packages}${namespace}0`
  }
  return { namespaces: out, next: out[out.length - 1]! }
}
