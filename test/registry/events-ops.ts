/**
 * Random registry operations, appr and OCI, for the change-feed tests (events.test.ts and its
 * worker processes): what each acknowledged one must record, and a replay of the feed on a model.
 */

import type { RegistryEvent } from 'appr-core'
import { digestBlob, isApprError, Registry, sortReleasesDesc } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { inspectArchive } from 'appr-core/archive'
import {
  EMPTY_JSON,
  helmAnnotations,
  helmChartManifest,
  helmChartMetadata,
  helmConfigBytes,
  helmTagOf,
  isOciError,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  type ProjectedRelease,
  ociDigestOf,
  projectRelease,
} from 'appr-core/oci'
import * as assert from 'uvu/assert'
import { tgz } from './helpers.js'

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const blobs = await Promise.all([1, 2, 3].map((n) => tgz({ [`chart-${n}/Chart.yaml`]: `name: chart\nversion: ${n}\n` })))
export const PACKAGES = ['ev/a', 'ev/b', 'ev/c']
const RELEASES = ['1.0.0', '1.1.0', '2.0.0']
const FORMATS = ['helm', 'kpm']
const CHANNELS = ['stable', 'beta']

/** Each blob's appr digest, which its release has however it was pushed. */
const apprDigests = await Promise.all(blobs.map(async (blob) => (await digestBlob(blob)).digest))

/** Each blob's Chart.yaml. */
const chartYamls = await Promise.all(blobs.map(async (blob) => (await inspectArchive(blob)).manifest?.document))

/** Each blob as a Helm chart pushed through /v2/, as `helm push` makes it, at two creation times: its config and manifest bytes. */
const charts = await Promise.all(
  blobs.map(async (blob, n) => {
    const chartYaml = chartYamls[n]
    const config = helmConfigBytes(chartYaml)
    return ['2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z'].map((created) => ({
      config,
      bytes: helmChartManifest({ digest: ociDigestOf(config), size: config.byteLength }, { digest: ociDigestOf(blob), size: blob.byteLength }, helmAnnotations(helmChartMetadata(chartYaml), created)).bytes,
    }))
  }),
)

/** Tags OCI clients push: neither a release's tag nor a channel's, so appr never holds them. */
export const OCI_TAGS = ['v1', 'v2', 'latest']

/** An image manifest of its own: a layer no other image has, so its digest is new. */
export interface Image {
  readonly digest: string
  readonly bytes: Uint8Array
  readonly layer: Uint8Array
}

export type Op =
  | { kind: 'push'; pkg: string; release: string; format: string; blob: number; force: boolean }
  | { kind: 'delete'; pkg: string; release: string; format: string }
  | { kind: 'add' | 'remove'; pkg: string; channel: string; release: string }
  | { kind: 'drop'; pkg: string; channel: string }
  /** An OCI PUT of `image` at `tag` (by its digest when absent); `fresh`: its first push, so it must record an event. */
  | { kind: 'oci-push'; pkg: string; tag?: string; image: Image; fresh: boolean }
  | { kind: 'oci-untag'; pkg: string; tag: string }
  | { kind: 'oci-delete'; pkg: string; digest: string }
  /** A chart PUT through /v2/ at a release's tag: an appr push of its helm format (docs/oci.md, "Conflicts"). */
  | { kind: 'oci-chart'; pkg: string; release: string; blob: number; created: number }
  /** A /v2/ DELETE of a release's tag (deletes the release) or a channel's (deletes the channel). */
  | { kind: 'oci-drop'; pkg: string; tag: string }
  /**
   * A release of both formats copied through /v2/ as `skopeo copy --all` does: each format's
   * manifest by digest, then the index at the release's tag (one commit, a `release.pushed` per
   * format). `projected` has a creation time of its own, so its manifests are new: the replay
   * cannot tell when they went (with their release, which records no `oci.manifest.deleted`),
   * and a push by digest of one again would look like a manifest stored twice.
   */
  | { kind: 'oci-index'; pkg: string; release: string; blobs: Readonly<Record<string, number>>; projected: ProjectedRelease }
  /**
   * `restoreStream` of a backup of one release of one format in `channel`, whose channel record
   * names `current`: the channel is set to exactly those two (one when they are the same), or the
   * restore is refused after storing the release when `current` is not a release here.
   */
  | { kind: 'restore'; pkg: string; release: string; format: string; blob: number; channel: string; current: string }

/**
 * Random operations, appr and OCI, on the repositories of {@link PACKAGES} (each appr package is
 * also the OCI repository of that name). `id` makes the images unique across sources (processes).
 */
export function opSource(rand: () => number, id: string): { wave(size: number): Op[]; readonly images: ReadonlyMap<string, Image[]> } {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!
  const images = new Map<string, Image[]>()
  let made = 0
  // Creation times no other source makes: a seconds range of its own per source.
  const epoch = Date.UTC(2020, 0, 1) + ([...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 1_000_000) * 1_000_000
  let copies = 0
  const newIndex = (pkg: string, release: string): Op => {
    const chosen = Object.fromEntries(FORMATS.map((format) => [format, Math.floor(rand() * 3)]))
    const formats = FORMATS.map((format) => {
      const n = chosen[format]!
      return { format, blob: { digest: ociDigestOf(blobs[n]!), size: blobs[n]!.byteLength }, ...(format === 'helm' && { chartYaml: chartYamls[n] }) }
    })
    const created = new Date(epoch + ++copies * 1000).toISOString().replace('.000Z', 'Z')
    return { kind: 'oci-index', pkg, release, blobs: chosen, projected: projectRelease({ package: pkg, release, created, formats }) }
  }
  const newImage = (pkg: string): Image => {
    const layer = new TextEncoder().encode(`layer ${id}-${++made}`)
    const config = { mediaType: OCI_EMPTY, digest: ociDigestOf(EMPTY_JSON), size: 2 }
    const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: ociDigestOf(layer), size: layer.byteLength }] }
    const bytes = new TextEncoder().encode(JSON.stringify(manifest))
    const image = { digest: ociDigestOf(bytes), bytes, layer }
    images.set(pkg, [...(images.get(pkg) ?? []), image])
    return image
  }
  const next = (earlier: ReadonlyMap<string, readonly Image[]>): Op => {
    const pkg = pick(PACKAGES)
    const r = rand()
    if (r < 0.25) return { kind: 'push', pkg, release: pick(RELEASES), format: pick(FORMATS), blob: Math.floor(rand() * 3), force: rand() < 0.5 }
    if (r < 0.37) return { kind: 'delete', pkg, release: pick(RELEASES), format: pick(FORMATS) }
    if (r < 0.49) return { kind: 'add', pkg, channel: pick(CHANNELS), release: pick(RELEASES) }
    if (r < 0.56) return { kind: 'remove', pkg, channel: pick(CHANNELS), release: pick(RELEASES) }
    if (r < 0.6) return { kind: 'drop', pkg, channel: pick(CHANNELS) }
    if (r < 0.64) {
      const release = pick(RELEASES)
      return { kind: 'restore', pkg, release, format: pick(FORMATS), blob: Math.floor(rand() * 3), channel: pick(CHANNELS), current: rand() < 0.5 ? release : pick(RELEASES) }
    }
    if (r < 0.68) return newIndex(pkg, pick(RELEASES))
    const known = images.get(pkg) ?? []
    const before = earlier.get(pkg) ?? []
    const tag = rand() < 0.85 ? pick(OCI_TAGS) : undefined
    if (r < 0.72) return { kind: 'oci-chart', pkg, release: pick(RELEASES), blob: Math.floor(rand() * 3), created: Math.floor(rand() * 2) }
    if (r < 0.76) return { kind: 'oci-drop', pkg, tag: rand() < 0.7 ? helmTagOf(pick(RELEASES)) : pick(CHANNELS) }
    if (r < 0.86 || before.length === 0) return { kind: 'oci-push', pkg, ...(tag !== undefined && { tag }), image: newImage(pkg), fresh: true }
    if (r < 0.9) return { kind: 'oci-push', pkg, ...(tag !== undefined && { tag }), image: pick(before), fresh: false }
    if (r < 0.96) return { kind: 'oci-untag', pkg, tag: pick(OCI_TAGS) }
    return { kind: 'oci-delete', pkg, digest: pick(known).digest }
  }
  return {
    wave(size) {
      // Images pushed again come from earlier waves: an image's first push then has no racing
      // push of the same bytes, so it must record its event.
      const before = new Map([...images].map(([pkg, list]) => [pkg, [...list]]))
      return Array.from({ length: size }, () => next(before))
    },
    images,
  }
}

/** Uploads `bytes` as a blob of `repo` (one chunk). */
async function upload(registry: Registry, repo: string, bytes: Uint8Array): Promise<void> {
  const { id } = await registry.ociBlobs.startUpload(repo)
  await registry.ociBlobs.finishUpload(repo, id, ociDigestOf(bytes), (async function* () {
    yield bytes
  })())
}

export async function apply(registry: Registry, op: Op): Promise<string | boolean | undefined> {
  switch (op.kind) {
    case 'push':
      return (await registry.push({ package: op.pkg, release: op.release, format: op.format, blob: blobs[op.blob]!, force: op.force })).content.digest
    case 'delete':
      return void (await registry.delete(op.pkg, op.release, op.format))
    case 'add':
      return void (await registry.channels.add(op.pkg, op.channel, op.release))
    case 'remove':
      return void (await registry.channels.remove(op.pkg, op.channel, op.release))
    case 'drop':
      return void (await registry.channels.delete(op.pkg, op.channel))
    case 'oci-push':
      // Its blobs first, as a client does: the PUT names only blobs linked to the repository.
      await upload(registry, op.pkg, EMPTY_JSON)
      await upload(registry, op.pkg, op.image.layer)
      return (await registry.ociManifests.put(op.pkg, op.tag ?? op.image.digest, op.image.bytes, OCI_MANIFEST)).digest
    case 'oci-untag':
      return registry.ociManifests.delete(op.pkg, op.tag)
    case 'oci-delete':
      return registry.ociManifests.delete(op.pkg, op.digest)
    case 'oci-chart': {
      const chart = charts[op.blob]![op.created]!
      await upload(registry, op.pkg, chart.config)
      await upload(registry, op.pkg, blobs[op.blob]!)
      return (await registry.ociManifests.put(op.pkg, helmTagOf(op.release), chart.bytes, OCI_MANIFEST)).digest
    }
    case 'oci-drop':
      return registry.ociManifests.delete(op.pkg, op.tag)
    case 'oci-index':
      for (const f of op.projected.formats) {
        await upload(registry, op.pkg, f.config.bytes)
        await upload(registry, op.pkg, blobs[op.blobs[f.format]!]!)
        await registry.ociManifests.put(op.pkg, f.manifest.digest, f.manifest.bytes, f.manifest.mediaType)
      }
      return (await registry.ociManifests.put(op.pkg, op.projected.tag, op.projected.manifest.bytes, OCI_INDEX)).digest
    case 'restore':
      return void (await registry.restoreStream(await backupOf(op)))
  }
}

/** A streamed backup of `op`'s release alone, in its channel (whose current is `op.current`): made by a registry of its own. */
async function backupOf(op: Extract<Op, { kind: 'restore' }>): Promise<unknown[]> {
  const source = new Registry({ store: memoryStore() })
  await source.push({ package: op.pkg, release: op.release, format: op.format, blob: blobs[op.blob]! })
  await source.channels.add(op.pkg, op.channel, op.release)
  const records: unknown[] = []
  for await (const record of source.backupStream()) records.push(record.kind === 'channel' ? { ...record, current: op.current } : record)
  await source.close()
  return records
}

/**
 * Whether a failed op failed as the rules allow: an appr op with a typed refusal (not a conflict
 * that outlasted its retries, nor a crash), a chart at a release's tag `DENIED` (the release has
 * a helm format of other bytes). The other OCI ops cannot be refused: their blobs are uploaded,
 * their tags are no release's or channel's, and a delete of what is absent is false.
 */
export function refusedAsAllowed(op: Op, error: unknown): boolean {
  if (op.kind === 'oci-chart' || op.kind === 'oci-index') return isOciError(error, 'DENIED')
  if (op.kind.startsWith('oci-')) return false
  return isApprError(error) && error.code !== 'resource-in-use' && error.code !== 'internal-error'
}

/**
 * What an acknowledged op's events must say (the fields the op determines), each prefixed `?`
 * when the op records it only if it changed that (a manifest pushed again: its tag may name it
 * already; a chart the release has already; a release's tag deleted: the formats it had). The
 * optional ones leave a missing event to the final check: the replay must end where the
 * registry is.
 */
export function expected(op: Op, result: string | boolean | undefined): string[] {
  switch (op.kind) {
    case 'push':
      return [`release.pushed ${op.pkg} ${op.release} ${op.format} ${result}`]
    case 'delete':
      return [`release.deleted ${op.pkg} ${op.release} ${op.format}`]
    case 'add':
      return [`channel.added ${op.pkg} ${op.channel} ${op.release}`]
    case 'remove':
      return [`channel.removed ${op.pkg} ${op.channel} ${op.release}`]
    case 'drop':
      return [`channel.deleted ${op.pkg} ${op.channel}`]
    case 'oci-push':
      return [`${op.fresh ? '' : '?'}oci.manifest.pushed ${op.pkg} ${op.image.digest} ${op.tag ?? ''}`]
    case 'oci-untag':
      return result === true ? [`oci.tag.deleted ${op.pkg} ${op.tag}`] : []
    case 'oci-delete':
      return result === true ? [`oci.manifest.deleted ${op.pkg} ${op.digest}`] : []
    case 'oci-chart':
      return [`?release.pushed ${op.pkg} ${op.release} helm ${apprDigests[op.blob]}`]
    case 'oci-drop':
      if (result !== true) return []
      if (CHANNELS.includes(op.tag)) return [`?channel.deleted ${op.pkg} ${op.tag}`]
      return FORMATS.map((format) => `?release.deleted ${op.pkg} ${op.tag} ${format}`)
    case 'oci-index':
      return op.projected.formats.flatMap((f) => [`oci.manifest.pushed ${op.pkg} ${f.manifest.digest} `, `release.pushed ${op.pkg} ${op.release} ${f.format} ${apprDigests[op.blobs[f.format]!]}`])
    case 'restore':
      // A release stored with the same digest and a channel set the same way are skipped.
      return [`?release.pushed ${op.pkg} ${op.release} ${op.format} ${apprDigests[op.blob]} restored`, `?channel.set ${op.pkg} ${op.channel}`]
  }
}

/**
 * What a refused op may have recorded before its refusal: an op of several commits (a copy's
 * manifests before its refused index, a restore's release before its channel) keeps the commits
 * made; the others record nothing.
 */
export function recordedBeforeRefusal(op: Op): string[] {
  if (op.kind === 'oci-index') return op.projected.formats.map((f) => `?oci.manifest.pushed ${op.pkg} ${f.manifest.digest} `)
  if (op.kind === 'restore') return expected(op, undefined).filter((d) => d.includes('release.pushed'))
  return []
}

export function describe(e: RegistryEvent): string {
  switch (e.type) {
    case 'release.pushed':
      return `${e.type} ${e.package} ${e.release} ${e.format} ${e.digest}${e.restored ? ' restored' : ''}`
    case 'release.deleted':
      return `${e.type} ${e.package} ${e.release} ${e.format}`
    case 'channel.added':
    case 'channel.removed':
      return `${e.type} ${e.package} ${e.channel} ${e.release}`
    case 'oci.manifest.pushed':
      return `${e.type} ${e.package} ${e.digest} ${e.tag ?? ''}`
    case 'oci.tag.deleted':
      return `${e.type} ${e.package} ${e.tag}`
    case 'oci.manifest.deleted':
      return `${e.type} ${e.package} ${e.digest}`
    default:
      return `${e.type} ${e.package} ${'channel' in e ? e.channel : ''}`
  }
}

/**
 * Asserts the feed is exactly the acknowledged mutations: each `expected` of an acknowledged op
 * has its event (no missing), and every event is one of theirs (no phantom) — an optional (`?`)
 * one at most once.
 */
export function assertFeedIsAcknowledged(feed: readonly RegistryEvent[], acknowledged: readonly string[], message: string): void {
  const left = new Map<string, number>()
  for (const e of feed) left.set(describe(e), (left.get(describe(e)) ?? 0) + 1)
  const missing: string[] = []
  const take = (d: string): boolean => {
    const n = left.get(d) ?? 0
    if (n === 0) return false
    left.set(d, n - 1)
    return true
  }
  for (const d of acknowledged) if (!d.startsWith('?') && !take(d)) missing.push(d)
  for (const d of acknowledged) if (d.startsWith('?')) take(d.slice(1))
  const phantom = [...left].flatMap(([d, n]) => Array.from({ length: n }, () => d))
  assert.equal({ missing, phantom }, { missing: [], phantom: [] }, message)
}

export interface PackageModel {
  releases: Map<string, Map<string, string>>
  channels: Map<string, { releases: Set<string>; current: string }>
  /** The OCI repository of the same name: what its client tags name, and its manifests with their tags. */
  tags: Map<string, string>
  manifests: Map<string, Set<string>>
}

/**
 * Replays the feed on a model of each package, asserting every event is possible in the state
 * the previous ones left (a push that replaced names what was there, a delete names what exists,
 * a removal leaves the right current …): any reordering within a package breaks one of these.
 */
export function replay(events: readonly RegistryEvent[]): Map<string, PackageModel> {
  const packages = new Map<string, PackageModel>()
  const highest = (releases: Set<string>) => sortReleasesDesc([...releases])[0]!
  for (const e of events) {
    const at = `${e.seq} ${describe(e)}`
    const model = packages.get(e.package) ?? { releases: new Map(), channels: new Map(), tags: new Map(), manifests: new Map() }
    packages.set(e.package, model)
    switch (e.type) {
      case 'release.pushed': {
        const formats = model.releases.get(e.release) ?? new Map<string, string>()
        assert.is(formats.get(e.format), e.replaced, `${at}: replaced`)
        formats.set(e.format, e.digest)
        model.releases.set(e.release, formats)
        break
      }
      case 'release.deleted': {
        const formats = model.releases.get(e.release)
        assert.is(formats?.get(e.format), e.digest, `${at}: deletes what exists`)
        formats!.delete(e.format)
        assert.is(e.releaseGone, formats!.size === 0, `${at}: releaseGone`)
        const lost: string[] = []
        if (e.releaseGone) {
          model.releases.delete(e.release)
          for (const [name, channel] of model.channels) {
            if (!channel.releases.delete(e.release)) continue
            lost.push(name)
            if (channel.releases.size === 0) model.channels.delete(name)
            else channel.current = highest(channel.releases)
          }
        }
        assert.equal([...e.channels], lost.sort(), `${at}: channels`)
        assert.is(e.packageGone, model.releases.size === 0, `${at}: packageGone`)
        if (e.packageGone) assert.is(model.channels.size, 0, `${at}: a package without releases has no channels`)
        break
      }
      case 'channel.added': {
        assert.ok(model.releases.has(e.release), `${at}: adds an existing release`)
        const channel = model.channels.get(e.channel) ?? { releases: new Set<string>(), current: e.release }
        channel.releases.add(e.release)
        channel.current = e.release
        model.channels.set(e.channel, channel)
        break
      }
      case 'channel.removed': {
        assert.ok(model.releases.has(e.release), `${at}: removes an existing release`)
        const channel = model.channels.get(e.channel)
        assert.ok(channel, `${at}: the channel exists`)
        channel.releases.delete(e.release)
        if (channel.releases.size === 0) model.channels.delete(e.channel)
        else channel.current = highest(channel.releases)
        assert.is(e.current, channel.releases.size === 0 ? null : channel.current, `${at}: current`)
        break
      }
      case 'channel.deleted':
        assert.ok(model.channels.delete(e.channel), `${at}: deletes an existing channel`)
        break
      case 'channel.set':
        assert.ok(e.releases.length > 0 && e.releases.every((r) => model.releases.has(r)), `${at}: sets existing releases`)
        assert.ok(e.releases.includes(e.current), `${at}: current is one of them`)
        model.channels.set(e.channel, { releases: new Set(e.releases), current: e.current })
        break
      case 'oci.manifest.pushed': {
        if (e.tag !== undefined) {
          const before = model.tags.get(e.tag)
          assert.is(e.replaced, before, `${at}: replaced`)
          assert.is.not(before, e.digest, `${at}: the tag moved`)
          if (before !== undefined) model.manifests.get(before)!.delete(e.tag)
          model.tags.set(e.tag, e.digest)
        } else assert.not.ok(model.manifests.has(e.digest), `${at}: a push by digest records only a new manifest`)
        const tags = model.manifests.get(e.digest) ?? new Set<string>()
        if (e.tag !== undefined) tags.add(e.tag)
        model.manifests.set(e.digest, tags)
        break
      }
      case 'oci.tag.deleted':
        assert.is(model.tags.get(e.tag), e.digest, `${at}: deletes the tag as it is`)
        model.tags.delete(e.tag)
        model.manifests.get(e.digest)!.delete(e.tag)
        break
      case 'oci.manifest.deleted': {
        const tags = model.manifests.get(e.digest)
        assert.ok(tags, `${at}: deletes an existing manifest`)
        assert.equal([...e.tags].sort(), [...tags].sort(), `${at}: with the tags naming it`)
        for (const tag of tags) model.tags.delete(tag)
        model.manifests.delete(e.digest)
        break
      }
      default:
        assert.unreachable(`${at}: not made by these ops`)
    }
  }
  return packages
}

