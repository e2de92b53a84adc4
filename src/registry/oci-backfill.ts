/**
 * Backfill of the OCI view: releases stored before the view existed (by an appr-core that did
 * not write it) have no manifests, tags or blob links at `/v2/`. {@link ociBackfill} writes, for
 * each such release, exactly what a push would have written (oci-projection.ts `showFormat`, with
 * the format's own `created_at`), one commit per release whose checks include the package
 * record: a push, delete or channel change racing it makes it run again on what they left. A
 * format the view already shows is left as it is (a chart a `/v2/` client pushed keeps its
 * bytes), so a second run writes nothing, and a run cut short is resumed by running it again
 * (or from `after`). The package list is read page by page, in constant memory.
 * @module
 */
import { ApprError } from '../errors/index.js'
import { type PackageName, parsePackageName } from '../model/package-name.js'
import type { RegistryContext } from './context.js'
import { ociGraph } from './oci-graph.js'
import { chartYamlOf, ociRepositoryOf, projectFormat, showFormat, viewKeys } from './oci-projection.js'
import { OciReleaseRecordType, ociKeys } from './oci-records.js'
import { decodePackage } from './packages.js'
import { deleteObjects } from './push.js'
import { BlobRecordType, decode, keys, ManifestRecordType, own, type PackageRecord } from './records.js'
import { isCommitTooLarge, transact } from './transaction.js'
import type { OciBackfillOptions, OciBackfillResult } from './types.js'

/** Package records read per page, and release records per round trip. */
const PAGE = 200

export async function ociBackfill(ctx: RegistryContext, options: OciBackfillOptions = {}): Promise<OciBackfillResult> {
  const result = { packages: 0, releases: 0, formats: 0, shown: 0, notOci: 0 }
  const prefix = keys.packages
  let after = options.after === undefined ? undefined : prefix + options.after
  for (;;) {
    const page = await ctx.store.list({ prefix, ...(after === undefined ? {} : { after }), limit: PAGE })
    for (const entry of page) {
      const pkg = entry.key.slice(prefix.length)
      const name = parsePackageName(pkg)
      result.packages++
      const repo = ociRepositoryOf(name)
      if (repo === undefined) result.notOci++
      else await backfillPackage(ctx, name, repo, decodePackage(entry, name), result)
      options.onProgress?.({ ...result, last: pkg })
    }
    if (page.length < PAGE) return result
    after = page.at(-1)!.key
  }
}

/** Backfills the releases of one package (as its record was listed) that the view lacks, counting into `result`. */
async function backfillPackage(ctx: RegistryContext, name: PackageName, repo: string, record: PackageRecord, result: { releases: number; formats: number; shown: number }): Promise<void> {
  const releases = Object.keys(record.releases).sort()
  for (let i = 0; i < releases.length; i += PAGE) {
    const slice = releases.slice(i, i + PAGE)
    const shown = await ctx.store.getMany(slice.map((r) => ociKeys.release(repo, r)))
    for (const [j, release] of slice.entries()) {
      const formats = shown[j] && decode(OciReleaseRecordType, shown[j]!.value, { name: repo, release }).formats
      const written = Object.keys(record.releases[release]!).every((f) => own(formats, f) !== undefined) ? 0 : await backfillRelease(ctx, name, repo, release, Object.keys(record.releases[release]!))
      if (written === 0) result.shown++
      else {
        result.releases++
        result.formats += written
      }
    }
  }
}

/**
 * Shows the formats of one release the OCI view lacks, in one commit; returns how many. A store
 * whose commits cannot hold them all (etcd, past about six formats) gets one format a commit,
 * `formats` being those the release had when listed.
 */
async function backfillRelease(ctx: RegistryContext, name: PackageName, repo: string, release: string, formats: readonly string[]): Promise<number> {
  try {
    return await backfillFormats(ctx, name, repo, release)
  } catch (error) {
    if (!isCommitTooLarge(error) || formats.length < 2) throw error
    let written = 0
    for (const format of formats) written += await backfillFormats(ctx, name, repo, release, format)
    return written
  }
}

/** {@link backfillRelease}'s commit: every format the view lacks, or only `only`. */
async function backfillFormats(ctx: RegistryContext, name: PackageName, repo: string, release: string, only?: string): Promise<number> {
  // Helm's config is made of the chart's Chart.yaml: read from the blob, outside the commit
  // (a digest's bytes never change), once per digest across attempts.
  const charts = new Map<string, unknown>()
  const details = { package: name.full, release }
  const outcome = await transact(ctx, details, async (tx) => {
    const pkgEntry = await tx.get(keys.pkg(name))
    const pkg: PackageRecord | undefined = pkgEntry && decodePackage(pkgEntry, name)
    const formats = own(pkg?.releases, release)
    if (!pkg || !formats) return { written: 0, doomed: [] } // deleted meanwhile
    const shownEntry = await tx.get(ociKeys.release(repo, release))
    const shown = shownEntry && decode(OciReleaseRecordType, shownEntry.value, { name: repo, release }).formats
    const missing = Object.keys(formats)
      .filter((f) => own(shown, f) === undefined && (only === undefined || f === only))
      .sort()
    const records = await tx.getMany(missing.flatMap((f) => [keys.man(name, release, f), keys.blob(formats[f]!)]))
    const doomed: string[] = []
    for (const [i, format] of missing.entries()) {
      const [manEntry, blobEntry] = [records[2 * i], records[2 * i + 1]]
      if (!manEntry || !blobEntry) throw new ApprError('internal-error', 'a release names a manifest or blob that has no record', { details: { ...details, media_type: format } })
      const manifest = decode(ManifestRecordType, manEntry.value, { ...details, media_type: format })
      const blob = decode(BlobRecordType, blobEntry.value, { ...details, digest: formats[format]! })
      if (format === 'helm' && !charts.has(blob.digest)) charts.set(blob.digest, await chartYamlOf(await ctx.blobs.read(blob.object)))
      const view = projectFormat(repo, name, release, format, manifest.created_at, blob, charts.get(blob.digest))
      await tx.getMany(viewKeys(view, release))
      // A graph per format, as a push of each would: it reads what the formats before wrote.
      const graph = ociGraph(ctx, tx)
      await showFormat(graph, view, release, pkg, { digest: blob.digest, object: blob.object })
      doomed.push(...graph.doomed)
    }
    return { written: missing.length, doomed }
  })
  await deleteObjects(ctx, outcome.doomed)
  return outcome.written
}
