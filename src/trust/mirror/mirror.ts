/**
 * The mirror: copies packages from an appr v1 server into a destination, trusting nothing the
 * source sends. See docs/trust.md.
 * @module
 */
import { validateBlob } from '../../archive/validate.js'
import { type ApprClient, createClient } from '../../client/index.js'
import { isApprError } from '../../errors/index.js'
import {
  highestRelease,
  isRelease,
  type Manifest,
  ManifestSchema,
  type PackageName,
  parseFormat,
  parsePackageName,
  type Signature,
  SignatureSchema,
} from '../../model/index.js'
import type { ArchiveLimits } from '../../registry/types.js'
import { type KeyInput, keySet, type PublicKey } from '../keys.js'
import { type DigestedManifest, manifestDigest } from '../manifest-digest.js'
import { verifyManifest } from '../verify.js'
import { type MirrorDestination, type RegistryLike, registryDestination, serverDestination } from './destination.js'
import type { MirrorCounts, MirrorEvent, MirrorFailure, MirrorFailureReason, MirrorReport } from './report.js'
import { BlobTooLarge, fetchBlob, listPackages, packageChannels, packageManifests, type RequestOptions } from './source.js'

/** Options of {@link mirror}. */
export interface MirrorOptions {
  /** The source: an appr v1 server (its root, `…/cnr` or `…/cnr/api/v1`), or a client of one. */
  readonly source: string | ApprClient
  /**
   * The destination: a registry in this process, an appr server (a URL or a client of one; see
   * {@link serverDestination} for what a push over HTTP cannot keep), or any {@link MirrorDestination}.
   */
  readonly destination: RegistryLike | MirrorDestination | string | ApprClient
  /**
   * Which packages: globs over `namespace/name` (`*` and `?` stay within a segment, `**` crosses
   * `/`). Default: every package the source lists.
   */
  readonly packages?: string | readonly string[]
  /** Most requests to the source (and stores into the destination) in flight at once (default 4). */
  readonly concurrency?: number
  /**
   * Replace a destination release that differs from the source's (default false: reported as
   * `destination-differs` and left alone).
   */
  readonly force?: boolean
  /** Limits on each blob (default: the registry defaults, 64 MiB of gzip). */
  readonly limits?: ArchiveLimits
  /** Time limit of each request to the source in milliseconds, its body included (default 60,000); past it, the request fails as `source-error`. */
  readonly timeoutMs?: number
  /** Cancels the run: what is in flight finishes or fails, nothing new starts, the report says `aborted`. */
  readonly signal?: AbortSignal
  /**
   * Public keys to verify with: each release must then carry a signature (in the source's
   * `signatures`, as appr-core serves them) that verifies with one of them, else it is refused as
   * `signature-invalid`; only those signatures are copied. Without keys, every well-formed
   * signature of the release's manifest digest is copied unverified.
   */
  readonly keys?: Iterable<KeyInput>
  /** Called for each step (never awaited; an exception thrown by it is ignored). */
  readonly onProgress?: (event: MirrorEvent) => void
}

const DEFAULT_MAX_BLOB = 64 * 1024 * 1024

/** A counting semaphore: at most `n` bodies run at once, the others wait in order. */
function limiter(n: number): <T>(body: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: (() => void)[] = []
  return async (body) => {
    if (active < n) active++
    else await new Promise<void>((resolve) => waiting.push(resolve))
    try {
      return await body()
    } finally {
      // The slot passes straight to the next waiter, so `active` never overshoots.
      const next = waiting.shift()
      if (next) next()
      else active--
    }
  }
}

/** Globs over `namespace/name` as one test. */
function packageFilter(patterns: string | readonly string[] | undefined): (name: string) => boolean {
  if (patterns === undefined) return () => true
  const list = typeof patterns === 'string' ? [patterns] : patterns
  const regexes = list.map((pattern) => {
    const body = pattern
      .toLowerCase()
      .split(/(\*\*|\*|\?)/)
      .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')
    return new RegExp(`^${body}$`)
  })
  return (name) => regexes.some((r) => r.test(name))
}

function toDestination(value: MirrorOptions['destination']): MirrorDestination {
  if (typeof value === 'string') return serverDestination(createClient({ registry: value }))
  if (typeof (value as ApprClient).api === 'string') return serverDestination(value as ApprClient)
  if (typeof (value as MirrorDestination).store === 'function') return value as MirrorDestination
  return registryDestination(value as RegistryLike)
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** A source manifest after every check that needs no download: what the release must be. */
interface Expected {
  readonly manifest: Manifest
  readonly format: string
  readonly digest: string
  /** The signatures to copy with it. */
  readonly signatures: readonly Signature[]
}

/** What the destination holds at one `(release, format)`. */
interface Held {
  readonly digest: string
  readonly keyids: ReadonlySet<string>
}

class Refused extends Error {
  constructor(
    readonly reason: MirrorFailureReason,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Checks a manifest the source listed for `name`: its shape, that it is about this package, an
 * exact release, one format for both media types, I-JSON metadata. Returns its manifest digest.
 */
function expectManifest(raw: unknown, name: PackageName, keys: ReadonlyMap<string, PublicKey> | undefined): Expected {
  const parsed = ManifestSchema.safeParse(raw)
  if (!parsed.success) throw new Refused('invalid-manifest', `not an appr manifest: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  const manifest = parsed.data as Manifest
  let claimed: string
  try {
    claimed = parsePackageName(manifest.package).full
  } catch {
    claimed = String(manifest.package)
  }
  if (claimed !== name.full) throw new Refused('invalid-manifest', `listed under ${name.full} but names package ${claimed.slice(0, 200)}`)
  if (!isRelease(manifest.release)) throw new Refused('invalid-manifest', `release ${String(manifest.release).slice(0, 100)} is not a semantic version`)
  let format: string
  try {
    format = parseFormat(manifest.mediaType)
    if (parseFormat(manifest.content.mediaType) !== format) throw new Error('differs')
  } catch {
    throw new Refused('invalid-manifest', 'the manifest and content media types do not name one format')
  }
  const { manifest_digest: announced, signatures: offered } = raw as { manifest_digest?: unknown; signatures?: unknown }
  let verdict: ReturnType<typeof verifyManifest>
  try {
    verdict = verifyManifest({ ...manifest, manifest_digest: announced, signatures: offered } as DigestedManifest, keys)
  } catch (error) {
    throw new Refused('invalid-manifest', messageOf(error))
  }
  const { digest } = verdict
  if (!verdict.ok) throw new Refused(verdict.reason, verdict.message)
  if (keys !== undefined) return { manifest, format, digest, signatures: verdict.signatures }
  // Without keys nothing can be verified: every well-formed signature of this digest travels with the release.
  const signatures = (Array.isArray(offered) ? offered : []).flatMap((s) => {
    const parsed = SignatureSchema.safeParse(s)
    return parsed.success && parsed.data.digest === digest ? [parsed.data as Signature] : []
  })
  return { manifest, format, digest, signatures }
}

/**
 * Copies packages, every release and format, and their channels, from an appr v1 server into a
 * destination, trusting nothing the source sends.
 *
 * Each manifest is checked against the route it came from; each blob is downloaded (no more
 * bytes than its manifest states), validated as a safe gzipped tar, and its size and appr digest
 * compared with the manifest; only then is the release stored, exactly as the source described it
 * (its manifest digest is the source's). A mismatch stores nothing for that release and is
 * reported. Releases the destination already holds with the same manifest digest are skipped
 * without downloading anything, so a second run transfers nothing and an interrupted run resumes
 * where it stopped. A package's channels are copied after its releases, and only when every
 * release they name was copied.
 *
 * Never throws for what the source does: every failure is in the report.
 *
 * @example
 * ```ts
 * const report = await mirror({ source: 'https://old.example.com/cnr', destination: registry, packages: 'acme/*' })
 * if (!report.ok) console.error(report.failures)
 * ```
 */
export async function mirror(options: MirrorOptions): Promise<MirrorReport> {
  const started = new Date()
  const client = typeof options.source === 'string' ? createClient({ registry: options.source }) : options.source
  const destination = toDestination(options.destination)
  const run = limiter(Math.max(1, Math.floor(options.concurrency ?? 4)))
  const request: RequestOptions = { signal: options.signal, timeoutMs: options.timeoutMs ?? 60_000 }
  const maxBlob = options.limits?.maxCompressedBytes ?? DEFAULT_MAX_BLOB
  const aborted = () => options.signal?.aborted === true
  const keys = options.keys === undefined ? undefined : keySet(options.keys)

  const failures: MirrorFailure[] = []
  const counts = { releases: { copied: 0, skipped: 0, failed: 0 }, channels: { copied: 0, skipped: 0, failed: 0 } }
  let bytes = 0
  let packagesFailed = 0
  let total = 0
  const emit = (event: MirrorEvent) => {
    try {
      options.onProgress?.(event)
    } catch {
      // A broken progress display must not break the copy.
    }
  }
  const fail = (failure: MirrorFailure) => failures.push(failure)

  const copyRelease = async (name: PackageName, expected: Expected, held: ReadonlyMap<string, Held>): Promise<boolean> => {
    const { manifest, format } = expected
    const where = { package: name.full, release: manifest.release, format }
    const event = (outcome: 'copied' | 'skipped' | 'failed', size = 0) => emit({ type: 'release', ...where, outcome, bytes: size })
    const slot = `${manifest.release}\u0000${format}`
    const mine = held.get(slot)
    const heldDigest = mine?.digest
    try {
      if (heldDigest === expected.digest) {
        const missing = expected.signatures.filter((s) => !mine!.keyids.has(s.keyid))
        if (missing.length > 0) {
          try {
            await destination.addSignatures(manifest, missing)
          } catch (error) {
            throw new Refused('store-failed', messageOf(error))
          }
        }
        counts.releases.skipped++
        event('skipped')
        return true
      }
      if (heldDigest !== undefined && options.force !== true) {
        throw new Refused('destination-differs', `the destination holds another ${name.full} ${manifest.release} (${format}): ${heldDigest}`)
      }
      const { size, digest } = manifest.content
      if (size > maxBlob) throw new Refused('invalid-blob', `the manifest states ${size} bytes, over the limit of ${maxBlob}`)
      let blob: Uint8Array
      try {
        blob = await fetchBlob(client, name, digest, size, request)
      } catch (error) {
        if (error instanceof BlobTooLarge) throw new Refused('blob-size-mismatch', `the source sent more than the ${size} bytes the manifest states`)
        throw new Refused('source-error', messageOf(error))
      }
      if (blob.byteLength !== size) throw new Refused('blob-size-mismatch', `the source sent ${blob.byteLength} bytes, the manifest states ${size}`)
      let facts: Awaited<ReturnType<typeof validateBlob>>
      try {
        facts = await validateBlob(blob, options.limits)
      } catch (error) {
        throw new Refused('invalid-blob', messageOf(error))
      }
      if (facts.digest !== digest) throw new Refused('blob-digest-mismatch', `the blob's appr digest is ${facts.digest}, the manifest states ${digest}`)
      try {
        await destination.store(manifest, blob, expected.signatures)
      } catch (error) {
        throw new Refused('store-failed', messageOf(error))
      }
      counts.releases.copied++
      bytes += size
      event('copied', size)
      return true
    } catch (error) {
      const refused = error instanceof Refused ? error : new Refused('store-failed', messageOf(error))
      counts.releases.failed++
      fail({ ...where, reason: refused.reason, message: refused.message })
      event('failed')
      return false
    }
  }

  const copyChannels = async (name: PackageName, listed: ReadonlySet<string>, copied: ReadonlySet<string>): Promise<void> => {
    let channels: Awaited<ReturnType<typeof packageChannels>>
    let held: ReadonlyMap<string, { releases: readonly string[]; current: string }>
    try {
      channels = await run(() => packageChannels(client, name, request))
      held = new Map((await destination.channels(name.full)).map((c) => [c.name, c]))
    } catch (error) {
      counts.channels.failed++
      fail({ package: name.full, reason: isApprError(error, 'invalid-parameters') ? 'invalid-answer' : 'source-error', message: messageOf(error) })
      return
    }
    for (const channel of channels) {
      if (aborted()) return
      const where = { package: name.full, channel: channel.name }
      // Releases the source itself no longer has (the reference leaves such pointers behind) are dropped.
      const releases = [...new Set([...channel.releases, channel.current])].filter((r) => listed.has(r))
      if (releases.length === 0) continue
      const missing = releases.filter((r) => !copied.has(r))
      if (missing.length > 0) {
        counts.channels.failed++
        fail({ ...where, reason: 'channel-incomplete', message: `names releases that were not copied: ${missing.slice(0, 5).join(', ')}` })
        emit({ type: 'channel', ...where, outcome: 'failed' })
        continue
      }
      const current = listed.has(channel.current) ? channel.current : highestRelease(releases)!
      const mine = held.get(channel.name)
      if (mine && mine.current === current && mine.releases.length === releases.length && releases.every((r) => mine.releases.includes(r))) {
        counts.channels.skipped++
        emit({ type: 'channel', ...where, outcome: 'skipped' })
        continue
      }
      try {
        await run(() => destination.setChannel(name.full, channel.name, releases, current))
        counts.channels.copied++
        emit({ type: 'channel', ...where, outcome: 'copied' })
      } catch (error) {
        counts.channels.failed++
        fail({ ...where, reason: 'store-failed', message: messageOf(error) })
        emit({ type: 'channel', ...where, outcome: 'failed' })
      }
    }
  }

  const copyPackage = async (name: PackageName): Promise<void> => {
    if (aborted()) return
    let listed: unknown[]
    let held: Map<string, Held>
    try {
      ;[listed, held] = await run(async () => {
        const manifests = await packageManifests(client, name, request)
        const mine = new Map<string, Held>()
        for (const m of await destination.manifests(name.full)) {
          const slot = `${m.release}\u0000${parseFormat(m.mediaType)}`
          const keyids = new Set((m.signatures ?? []).map((s) => s.keyid))
          try {
            mine.set(slot, { digest: manifestDigest(m), keyids })
          } catch {
            // A destination manifest without a digest can only differ from a verified one.
            mine.set(slot, { digest: 'unreadable', keyids })
          }
        }
        return [manifests, mine] as const
      })
    } catch (error) {
      if (aborted()) return
      packagesFailed++
      fail({ package: name.full, reason: isApprError(error, 'invalid-parameters') ? 'invalid-answer' : 'source-error', message: messageOf(error) })
      emit({ type: 'package', package: name.full, outcome: 'failed' })
      return
    }
    const releases = new Set<string>()
    const copied = new Set<string>()
    const failed = new Set<string>()
    const tasks: Promise<void>[] = []
    for (const raw of listed) {
      const release = (raw as { release?: unknown } | null)?.release
      if (typeof release === 'string') releases.add(release)
      let expected: Expected
      try {
        expected = expectManifest(raw, name, keys)
      } catch (error) {
        const refused = error as Refused
        counts.releases.failed++
        if (typeof release === 'string') failed.add(release)
        fail({ package: name.full, ...(typeof release === 'string' && { release: release.slice(0, 256) }), reason: refused.reason, message: refused.message })
        continue
      }
      tasks.push(
        run(async () => {
          if (aborted()) return
          if (await copyRelease(name, expected, held)) copied.add(expected.manifest.release)
          else failed.add(expected.manifest.release)
        }),
      )
    }
    await Promise.all(tasks)
    if (aborted()) return
    // A release counts as copied for channels only when every one of its formats was.
    for (const release of failed) copied.delete(release)
    await copyChannels(name, releases, copied)
    emit({ type: 'package', package: name.full, outcome: 'done' })
  }

  const selected: PackageName[] = []
  try {
    const wanted = packageFilter(options.packages)
    const seen = new Set<string>()
    for (const listedName of await run(() => listPackages(client, request))) {
      let name: PackageName
      try {
        name = parsePackageName(listedName)
      } catch (error) {
        packagesFailed++
        fail({ package: listedName.slice(0, 600), reason: 'invalid-answer', message: messageOf(error) })
        continue
      }
      if (wanted(name.full) && !seen.has(name.full)) {
        seen.add(name.full)
        selected.push(name)
      }
    }
    total = selected.length
    emit({ type: 'packages', total })
  } catch (error) {
    if (!aborted()) {
      packagesFailed++
      const reason = isApprError(error, 'invalid-parameters') ? 'invalid-answer' : 'source-error'
      fail({ package: '*', reason, message: messageOf(error) })
    }
  }

  // Packages start in order, a bounded number at a time, so the manifests waiting in memory stay bounded too.
  const packageSlots = limiter(Math.max(1, Math.floor(options.concurrency ?? 4)) * 2)
  await Promise.all(selected.map((name) => packageSlots(() => copyPackage(name))))

  const finished = new Date()
  const releases: MirrorCounts = counts.releases
  const channels: MirrorCounts = counts.channels
  return {
    source: client.api,
    ok: failures.length === 0 && !aborted(),
    aborted: aborted(),
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    seconds: (finished.getTime() - started.getTime()) / 1000,
    packages: { total, failed: packagesFailed },
    releases,
    channels,
    bytes,
    failures,
  }
}

