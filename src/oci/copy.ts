/**
 * Copies between an appr registry (through the appr API client) and any OCI registry, both ways,
 * release by release: {@link copyToOci} writes each release as {@link pushRelease} would (one
 * manifest, or one index for several formats), {@link copyFromOci} turns what
 * {@link resolveRelease} finds at a tag into appr releases. Package blobs are streamed from one
 * side to the other, validated and verified on the way (only a Helm chart's `Chart.yaml` is held:
 * its config needs it). A release the destination already holds with the same blobs is skipped
 * without uploading anything; one it holds with other blobs is refused unless `force`.
 *
 * The two sides name a blob differently: appr by the SHA-256 of the gunzipped tar, OCI by the
 * SHA-256 of the gzip bytes, and neither API tells the other's. So deciding that a release is
 * already there reads the source's blobs (when the sizes agree) without writing anything.
 * @module
 */
import { PassThrough, Readable } from 'node:stream'
import { inspectArchive } from '../archive/inspect.js'
import type { ApprClient } from '../client/client.js'
import { digestBlob } from '../digest/index.js'
import { ApprError, isApprError } from '../errors/index.js'
import { type Manifest, parseFormat, parsePackageName, type Signature } from '../model/index.js'
import type { OciClient } from './client.js'
import { OciError } from './errors.js'
import { versionOfHelmTag } from './helm.js'
import { projectRelease, type ReleaseFormatInput } from './projection.js'
import { parseRepositoryName, parseTag } from './reference.js'
import { pullManifestRecord, pushManifestRecord } from './manifest-records.js'
import { pullSignatures, pushSignature } from './referrers.js'
import { type ResolvedFormat, type ResolvedRelease, resolveRelease, writeProjection } from './releases.js'
import { isReferrersTag, projectSignature, type SignatureSubject } from './signatures.js'

/** What happened to one release. */
export interface CopiedRelease {
  readonly release: string
  readonly outcome: 'copied' | 'skipped' | 'failed'
  /** The formats copied (or found equal, when skipped). */
  readonly formats: readonly string[]
  /** copyToOci: the digest the tag names afterwards. */
  readonly digest?: string
  /** The signatures the destination holds for the release's formats afterwards, of those the source has. */
  readonly signatures?: number
  /** Why it failed. */
  readonly message?: string
  /** The typed error's code when it failed with one (e.g. `invalid-parameters` for a refused signature). */
  readonly code?: string
}

/** What happened to one channel. */
export interface CopiedChannel {
  /** The channel (`*` when the source's channels could not be listed). */
  readonly channel: string
  /** The release the channel points at afterwards (its current one). */
  readonly release: string
  readonly outcome: 'copied' | 'skipped' | 'failed'
  readonly message?: string
  readonly code?: string
}

/** The result of a copy: one entry per release, in the order they were copied, then the channels. */
export interface CopyReport {
  readonly ok: boolean
  readonly releases: readonly CopiedRelease[]
  readonly channels: readonly CopiedChannel[]
}

/** Options common to both directions. */
export interface CopyOptions {
  /** Replace what the destination holds when it differs from the source (default false: that release fails). */
  readonly force?: boolean
  /** Called after each release. */
  readonly onRelease?: (release: CopiedRelease) => void
  /**
   * OCI → appr: tags that are not SemVer (nor referrers tags) and name the manifest of a release
   * copied or skipped in this run become channels at that release (default false). appr → OCI
   * always writes channels (as tags), as the live projection does.
   */
  readonly channels?: boolean
}

/** The two ends of a copy: the clients, the appr package and the OCI repository. */
export interface CopyEnds<S, T> {
  readonly source: S
  readonly target: T
  /** The appr package (`namespace/name`). */
  readonly package: string
  /** The OCI repository. */
  readonly repository: string
  readonly options?: CopyOptions
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

async function* capped(body: AsyncIterable<Uint8Array>, size: number, what: string): AsyncIterable<Uint8Array> {
  let seen = 0
  for await (const chunk of body) {
    seen += chunk.byteLength
    if (seen > size) throw new ApprError('invalid-parameters', `${what} is longer than the ${size} bytes its manifest says`, { details: { size } })
    yield chunk
  }
  if (seen !== size) throw new ApprError('invalid-parameters', `${what} has ${seen} bytes, its manifest says ${size}`, { details: { size, received: seen } })
}

/**
 * Feeds one stream to two consumers with backpressure (the slower one sets the pace); when either
 * fails, both fail, so an upload is cancelled when the archive turns out invalid and the other way round.
 */
async function forked<A, B>(source: AsyncIterable<Uint8Array>, first: (s: AsyncIterable<Uint8Array>) => Promise<A>, second: (s: AsyncIterable<Uint8Array>) => Promise<B>): Promise<[A, B]> {
  const from = Readable.from(source, { objectMode: false })
  const a = new PassThrough()
  const b = new PassThrough()
  from.pipe(a)
  from.pipe(b)
  const abort = (error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error))
    from.destroy(e)
    a.destroy(e)
    b.destroy(e)
  }
  from.on('error', abort)
  const run = <T>(consume: Promise<T>) =>
    consume.catch((error: unknown) => {
      abort(error)
      throw error
    })
  const [x, y] = await Promise.allSettled([run(first(a)), run(second(b))])
  if (x.status === 'rejected') throw x.reason
  if (y.status === 'rejected') throw y.reason
  return [x.value, y.value]
}

/** The message and typed code of a failure. */
const failure = (error: unknown): { message: string; code?: string } => ({
  message: messageOf(error),
  ...(isApprError(error) ? { code: error.code } : error instanceof OciError ? { code: error.code } : {}),
})

/** Collects what happened to each release and channel, telling `onRelease` as it goes. */
function reporter(options: CopyOptions): { done(entry: CopiedRelease): void; channel(entry: CopiedChannel): void; report(): CopyReport } {
  const releases: CopiedRelease[] = []
  const channels: CopiedChannel[] = []
  return {
    done(entry) {
      releases.push(entry)
      options.onRelease?.(entry)
    },
    channel: (entry) => channels.push(entry),
    report: () => ({ ok: releases.every((r) => r.outcome !== 'failed') && channels.every((c) => c.outcome !== 'failed'), releases, channels }),
  }
}

/** The manifests of `pkg` by release (every release, or the one asked for). */
async function sourceReleases(source: ApprClient, pkg: string, release: string | undefined): Promise<Map<string, Manifest[]>> {
  const manifests = release === undefined ? await source.releases(pkg) : await source.manifests(pkg, release)
  const byRelease = new Map<string, Manifest[]>()
  for (const m of manifests) byRelease.set(m.release, [...(byRelease.get(m.release) ?? []), m])
  return byRelease
}

/** Each format's package digest (`sha256:…`), sorted by format. */
const layersOf = (formats: readonly { format: string; digest: string }[]) =>
  formats
    .map((f) => `${f.format}=${f.digest}`)
    .sort()
    .join(',')

async function resolvedOrAbsent(client: OciClient, repository: string, reference: string): Promise<ResolvedRelease | undefined> {
  try {
    return await resolveRelease(client, repository, reference)
  } catch (error) {
    // Something that is not an appr package at the tag differs from the release, as absent does not.
    if (isApprError(error, 'package-release-not-found')) return undefined
    if (isApprError(error, 'invalid-parameters')) return { release: undefined, digest: '', formats: [] }
    throw error
  }
}

/**
 * Reads one format's blob from the appr source, validating it and checking its appr digest, and
 * (with `upload`) streams it into `repository` at the same time; answers its OCI identity and,
 * for Helm, its Chart.yaml.
 */
async function readFormat(source: ApprClient, m: Manifest, upload?: { readonly target: OciClient; readonly repository: string }): Promise<ReleaseFormatInput> {
  const format = parseFormat(m.mediaType)
  const what = `the ${format} blob of ${m.package}@${m.release}`
  const download = await source.blob(m.package, m.content.digest)
  const body = capped(download.body as unknown as AsyncIterable<Uint8Array>, m.content.size, what)
  const inspected = upload ? (await forked(body, (s) => upload.target.pushBlobStream(upload.repository, s), inspectArchive))[1] : await inspectArchive(body)
  if (inspected.digest !== m.content.digest) {
    throw new ApprError('invalid-parameters', `${what} has appr digest ${inspected.digest}, its manifest says ${m.content.digest}`, { details: { expected: m.content.digest, actual: inspected.digest } })
  }
  const chartYaml = format === 'helm' ? inspected.manifest?.document : undefined
  return { format, blob: { digest: inspected.ociDigest, size: inspected.size }, ...(chartYaml === undefined ? {} : { chartYaml }) }
}

/** Whether every format of `manifests` has a layer of the same size in `held` (the cheap half of "the same release"). */
function sameSizes(manifests: readonly Manifest[], held: readonly ResolvedFormat[]): boolean {
  return held.length === manifests.length && manifests.every((m) => held.find((f) => f.format === parseFormat(m.mediaType))?.layer.size === m.content.size)
}

/**
 * Copies releases of appr package `package` from an appr registry into `repository` of an OCI
 * registry: every release, or `release` (an exact release). Each release becomes one tag (`+`
 * written `_`), with `created` the appr release's `created_at`, so copying again gives the same
 * digests.
 */
export async function copyToOci(input: CopyEnds<ApprClient, OciClient> & { readonly release?: string }): Promise<CopyReport> {
  const { source, target, options = {} } = input
  const pkg = parsePackageName(input.package).full
  const repository = parseRepositoryName(input.repository)
  const { done, channel, report } = reporter(options)
  const written = new Set<string>()
  for (const [release, manifests] of await sourceReleases(source, pkg, input.release)) {
    const formats = manifests.map((m) => parseFormat(m.mediaType))
    try {
      const tag = release.replaceAll('+', '_')
      const held = await resolvedOrAbsent(target, repository, tag)
      if (held && sameSizes(manifests, held.formats)) {
        const read: ReleaseFormatInput[] = []
        for (const m of manifests) read.push(await readFormat(source, m))
        const heldLayers = layersOf(held.formats.map((f) => ({ format: f.format, digest: f.layer.digest })))
        if (layersOf(read.map((f) => ({ format: f.format, digest: f.blob.digest }))) === heldLayers) {
          const signatures = await referrersToOci(source, target, repository, manifests, new Map(held.formats.map((f) => [f.format, f.manifest])))
          written.add(release)
          done({ release, outcome: 'skipped', formats, digest: held.digest, signatures })
          continue
        }
      }
      if (held && !options.force) throw new ApprError('package-exists', `${repository}:${tag} holds something else (force replaces it)`, { details: { repository, tag } })
      const inputs: ReleaseFormatInput[] = []
      for (const m of manifests) inputs.push(await readFormat(source, m, { target, repository }))
      const created = manifests.map((m) => m.created_at).sort()[0]!
      const projected = projectRelease({ package: pkg, release, created, formats: inputs })
      const pushed = await writeProjection(target, repository, projected)
      written.add(release)
      // Referrers after their subject, so no registry holds a referrer of a manifest it lacks.
      const signatures = await referrersToOci(source, target, repository, manifests, new Map(projected.formats.map((f) => [f.format, f.manifest])))
      done({ release, outcome: 'copied', formats, digest: pushed.digest, signatures })
    } catch (error) {
      done({ release, outcome: 'failed', formats, ...failure(error) })
    }
  }
  let channels: readonly { readonly name: string; readonly current: string }[] = []
  try {
    channels = await source.channels.list(pkg)
  } catch (error) {
    channel({ channel: '*', release: '', outcome: 'failed', ...failure(error) })
  }
  for (const c of channels) {
    // A channel follows its current release: copied with it (a one-release copy takes the channels at that release).
    if (!written.has(c.current)) continue
    try {
      channel({ channel: c.name, release: c.current, outcome: await channelToOci(target, repository, c.name, c.current) })
    } catch (error) {
      channel({ channel: c.name, release: c.current, outcome: 'failed', ...failure(error) })
    }
  }
  return report()
}

/**
 * Pushes, as referrers of each format's manifest, its appr manifest record (manifest-records.ts)
 * and each signature the appr source has for it; answers how many signatures the target holds.
 */
async function referrersToOci(source: ApprClient, target: OciClient, repository: string, manifests: readonly Manifest[], subjects: ReadonlyMap<string, SignatureSubject>): Promise<number> {
  let count = 0
  for (const m of manifests) {
    const format = parseFormat(m.mediaType)
    const subject = subjects.get(format)
    if (!subject) continue
    await pushManifestRecord(target, repository, subject, m)
    for (const signature of await source.signatures.list(m.package, m.release, format)) {
      const { manifest } = projectSignature(subject, signature)
      if (!(await target.headManifest(repository, manifest.digest))) await pushSignature(target, repository, subject, signature)
      count++
    }
  }
  return count
}

/** Points tag `name` at what the release's tag resolves to (the live projection's channel tag). */
async function channelToOci(target: OciClient, repository: string, name: string, release: string): Promise<'copied' | 'skipped'> {
  const tag = parseTag(name)
  const resolved = await target.getManifest(repository, release.replaceAll('+', '_'))
  if (!resolved) throw new ApprError('package-release-not-found', `${repository} has no tag for ${release}`, { details: { repository, release } })
  if ((await target.headManifest(repository, tag))?.digest === resolved.digest) return 'skipped'
  await target.putManifest(repository, tag, resolved.bytes, resolved.mediaType)
  return 'copied'
}

async function layerStream(client: OciClient, repository: string, f: ResolvedFormat, what: string): Promise<AsyncIterable<Uint8Array>> {
  const blob = await client.getBlob(repository, f.layer.digest)
  if (!blob) throw new OciError('BLOB_UNKNOWN', `${repository} names ${f.layer.digest}, which it does not have`, { detail: { digest: f.layer.digest } })
  // The client's full read verifies the digest at its end; the cap bounds it by the layer's size.
  return capped(blob.body, f.layer.size, what)
}

/** The appr digest of a layer (the SHA-256 of its gunzipped tar), read through. */
async function apprDigestOf(client: OciClient, repository: string, f: ResolvedFormat): Promise<string> {
  return (await digestBlob(await layerStream(client, repository, f, `the ${f.format} layer of ${repository}`))).digest
}

/** The tags of `repository`, each with its release when it is one (a tag, `_` read as `+`). */
async function tagsOf(client: OciClient, repository: string): Promise<[string, string | undefined][]> {
  const tags: [string, string | undefined][] = []
  for await (const tag of client.tags(repository)) tags.push([tag, versionOfHelmTag(tag)])
  return tags
}


const sameSignature = (a: Signature, b: Signature) => a.keyid === b.keyid && a.digest === b.digest && a.sig === b.sig

/**
 * Copies appr releases (or Helm charts pushed by `helm push`) from `repository` of an OCI
 * registry into appr package `package`: the one at `reference` (a tag or digest), or every tag
 * that is a SemVer release. Each format is pushed to the appr registry as the blob streams in,
 * verified against its layer digest and size (a blob that fails is not stored).
 */
export async function copyFromOci(input: CopyEnds<OciClient, ApprClient> & { readonly reference?: string }): Promise<CopyReport> {
  const { source, target, options = {} } = input
  const pkg = parsePackageName(input.package).full
  const repository = parseRepositoryName(input.repository)
  const tags = input.reference === undefined || options.channels ? await tagsOf(source, repository) : []
  const references: [string, string | undefined][] = input.reference === undefined ? tags.filter(([, r]) => r !== undefined) : [[input.reference, undefined]]
  const { done, channel, report } = reporter(options)
  /** Releases copied or found equal, by the digest their reference resolved to. */
  const releasesByDigest = new Map<string, string>()
  for (const [reference, tagRelease] of references) {
    let release = tagRelease ?? reference
    let formats: string[] = []
    try {
      const resolved = await resolveRelease(source, repository, reference)
      if (resolved.release === undefined) throw new ApprError('invalid-release', `${repository}@${reference} names no SemVer release (tag or version annotation)`)
      release = resolved.release
      formats = resolved.formats.map((f) => f.format)
      const held = await target.manifests(pkg, release).catch((error: unknown) => {
        if (isApprError(error, 'package-not-found') || isApprError(error, 'package-release-not-found')) return []
        throw error
      })
      const heldByFormat = new Map(held.filter((m) => m.release === release).map((m) => [parseFormat(m.mediaType), m]))
      const todo: ResolvedFormat[] = []
      const same: ResolvedFormat[] = []
      for (const f of resolved.formats) {
        const mine = heldByFormat.get(f.format)
        // Same size: read the layer (nothing is written) and compare appr digests.
        if (mine && mine.content.size === f.layer.size && (await apprDigestOf(source, repository, f)) === mine.content.digest) same.push(f)
        else todo.push(f)
      }
      const conflicting = todo.filter((f) => heldByFormat.has(f.format)).map((f) => f.format)
      if (conflicting.length > 0 && !options.force) {
        throw new ApprError('package-exists', `${pkg}@${release} holds other ${conflicting.join(', ')} blobs (force replaces them)`, { details: { formats: conflicting } })
      }
      let signatures = 0
      let added = false
      for (const f of same) {
        const offered = await pullSignatures(source, repository, f.manifestDigest)
        const mine = offered.length === 0 ? [] : await target.signatures.list(pkg, release, f.format)
        const missing = offered.filter((s) => !mine.some((m) => sameSignature(m, s)))
        // The registry checks them as any signature push: a bad one refuses them all, typed.
        if (missing.length > 0) await target.signatures.add(pkg, release, f.format, missing)
        added ||= missing.length > 0
        signatures += offered.length
      }
      for (const f of todo) {
        // Pushed with the format, so a signature policy sees them and a bad one stores nothing of it.
        const offered = await pullSignatures(source, repository, f.manifestDigest)
        // The metadata of an appr manifest record, when there is one for this release: a claim the
        // appr registry settles, since the signatures must then match the manifest it stores.
        const record = await pullManifestRecord(source, repository, f.manifestDigest)
        const metadata = record?.release === release && parseFormat(record.mediaType) === f.format ? record.metadata : null
        await target.push(pkg, {
          release,
          format: f.format,
          ...(metadata === null || metadata === undefined ? {} : { metadata }),
          blob: await layerStream(source, repository, f, `the ${f.format} layer of ${repository}@${reference}`),
          size: f.layer.size,
          ...(heldByFormat.has(f.format) ? { force: true } : {}),
          ...(offered.length === 0 ? {} : { signatures: offered }),
        })
        signatures += offered.length
      }
      releasesByDigest.set(resolved.digest, release)
      done({ release, outcome: todo.length === 0 && !added ? 'skipped' : 'copied', formats, ...(signatures === 0 ? {} : { signatures }) })
    } catch (error) {
      done({ release, outcome: 'failed', formats, ...failure(error) })
    }
  }
  if (options.channels) await channelsFromOci({ source, repository, target, pkg, tags, releasesByDigest, channel })
  return report()
}

/** Non-SemVer tags naming the manifest of a copied release become channels at it. */
async function channelsFromOci(input: {
  readonly source: OciClient
  readonly repository: string
  readonly target: ApprClient
  readonly pkg: string
  readonly tags: readonly [string, string | undefined][]
  readonly releasesByDigest: ReadonlyMap<string, string>
  readonly channel: (entry: CopiedChannel) => void
}): Promise<void> {
  const { source, repository, target, pkg } = input
  for (const [tag, isRelease] of input.tags) {
    if (isRelease !== undefined || isReferrersTag(tag)) continue
    const digest = (await source.headManifest(repository, tag))?.digest
    const release = digest === undefined ? undefined : input.releasesByDigest.get(digest)
    if (release === undefined) continue
    try {
      const current = await target.channels.show(pkg, tag).then(
        (c) => c.current,
        (error: unknown) => {
          if (isApprError(error, 'channel-not-found') || isApprError(error, 'package-not-found')) return undefined
          throw error
        },
      )
      if (current === release) input.channel({ channel: tag, release, outcome: 'skipped' })
      else {
        await target.channels.add(pkg, tag, release)
        input.channel({ channel: tag, release, outcome: 'copied' })
      }
    } catch (error) {
      input.channel({ channel: tag, release, outcome: 'failed', ...failure(error) })
    }
  }
}
