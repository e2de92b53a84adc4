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
import { type Manifest, parseFormat, parsePackageName } from '../model/index.js'
import type { OciClient } from './client.js'
import { OciError } from './errors.js'
import { versionOfHelmTag } from './helm.js'
import { projectRelease, type ReleaseFormatInput } from './projection.js'
import { parseRepositoryName } from './reference.js'
import { type ResolvedFormat, type ResolvedRelease, resolveRelease, writeProjection } from './releases.js'

/** What happened to one release. */
export interface CopiedRelease {
  readonly release: string
  readonly outcome: 'copied' | 'skipped' | 'failed'
  /** The formats copied (or found equal, when skipped). */
  readonly formats: readonly string[]
  /** copyToOci: the digest the tag names afterwards. */
  readonly digest?: string
  /** Why it failed. */
  readonly message?: string
}

/** The result of a copy: one entry per release, in the order they were copied. */
export interface CopyReport {
  readonly ok: boolean
  readonly releases: readonly CopiedRelease[]
}

/** Options common to both directions. */
export interface CopyOptions {
  /** Replace what the destination holds when it differs from the source (default false: that release fails). */
  readonly force?: boolean
  /** Called after each release. */
  readonly onRelease?: (release: CopiedRelease) => void
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

/** Collects what happened to each release, telling `onRelease` as it goes. */
function reporter(options: CopyOptions): { done(entry: CopiedRelease): void; report(): CopyReport } {
  const releases: CopiedRelease[] = []
  return {
    done(entry) {
      releases.push(entry)
      options.onRelease?.(entry)
    },
    report: () => ({ ok: releases.every((r) => r.outcome !== 'failed'), releases }),
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
  const { done, report } = reporter(options)
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
          done({ release, outcome: 'skipped', formats, digest: held.digest })
          continue
        }
      }
      if (held && !options.force) throw new ApprError('package-exists', `${repository}:${tag} holds something else (force replaces it)`, { details: { repository, tag } })
      const inputs: ReleaseFormatInput[] = []
      for (const m of manifests) inputs.push(await readFormat(source, m, { target, repository }))
      const created = manifests.map((m) => m.created_at).sort()[0]!
      const pushed = await writeProjection(target, repository, projectRelease({ package: pkg, release, created, formats: inputs }))
      done({ release, outcome: 'copied', formats, digest: pushed.digest })
    } catch (error) {
      done({ release, outcome: 'failed', formats, message: messageOf(error) })
    }
  }
  return report()
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

/** The tags of `repository` that are releases (a tag, `_` read as `+`), with their release. */
async function releaseTags(client: OciClient, repository: string): Promise<[string, string][]> {
  const tags: [string, string][] = []
  for await (const tag of client.tags(repository)) {
    const release = versionOfHelmTag(tag)
    if (release !== undefined) tags.push([tag, release])
  }
  return tags
}

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
  const references: [string, string | undefined][] = input.reference === undefined ? await releaseTags(source, repository) : [[input.reference, undefined]]
  const { done, report } = reporter(options)
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
      for (const f of resolved.formats) {
        const mine = heldByFormat.get(f.format)
        // Same size: read the layer (nothing is written) and compare appr digests.
        if (mine && mine.content.size === f.layer.size && (await apprDigestOf(source, repository, f)) === mine.content.digest) continue
        todo.push(f)
      }
      if (todo.length === 0) {
        done({ release, outcome: 'skipped', formats })
        continue
      }
      const conflicting = todo.filter((f) => heldByFormat.has(f.format)).map((f) => f.format)
      if (conflicting.length > 0 && !options.force) {
        throw new ApprError('package-exists', `${pkg}@${release} holds other ${conflicting.join(', ')} blobs (force replaces them)`, { details: { formats: conflicting } })
      }
      for (const f of todo) {
        await target.push(pkg, {
          release,
          format: f.format,
          blob: await layerStream(source, repository, f, `the ${f.format} layer of ${repository}@${reference}`),
          size: f.layer.size,
          ...(heldByFormat.has(f.format) ? { force: true } : {}),
        })
      }
      done({ release, outcome: 'copied', formats })
    } catch (error) {
      done({ release, outcome: 'failed', formats, message: messageOf(error) })
    }
  }
  return report()
}
