/**
 * A destination of the trust mirror (`mirror()` of `appr-core/trust`) in any OCI registry: each
 * package `<ns>/<name>` is the repository `<prefix>/<ns>/<name>`, each release is written as
 * {@link projectRelease} does (one manifest, or an index of its formats at its tag), each
 * signature as a referrer of its format's manifest ({@link pushSignature}), each channel as a tag
 * at its current release.
 *
 * The mirror decides what to copy by appr manifest digest, which covers the appr content digest
 * (of the gunzipped tar) and `metadata`; neither is in the OCI projection. So each stored format
 * also gets an appr manifest record (manifest-records.ts) of the manifest as the mirror verified it.
 * {@link ociDestination}'s `manifests` reads those back, so a second run skips what is there.
 * @module
 */
import { inspectArchive } from '../archive/inspect.js'
import { ApprError, isApprError } from '../errors/index.js'
import { type Channel, type Manifest, parseFormat, parsePackageName, type Signature } from '../model/index.js'
import type { HeldManifest, MirrorDestination } from '../trust/mirror/destination.js'
import type { OciClient } from './client-types.js'
import { ociDigestOf } from './digest.js'
import { isOciError } from './errors.js'
import { versionOfHelmTag } from './helm.js'
import { pullManifestRecord, pushManifestRecord } from './manifest-records.js'
import { projectIndex, projectRelease } from './projection.js'
import { pullSignatures, pushSignature } from './referrers.js'
import { type ResolvedFormat, type ResolvedRelease, repositoryOf, resolveRelease } from './releases.js'
import { isReferrersTag } from './signatures.js'

const notThere = (repository: string, release: string): ApprError =>
  new ApprError('package-release-not-found', `${repository} has no tag for ${release}`, { details: { repository, release } })

/**
 * A {@link MirrorDestination} in an OCI registry, under a repository `prefix` (`''` for none).
 * Writes of one repository are serialised (a release's formats share its index); the registry is
 * trusted as the mirror trusts any destination.
 */
export function ociDestination(client: OciClient, options: { readonly prefix?: string } = {}): MirrorDestination {
  const prefix = options.prefix ?? ''
  const queues = new Map<string, Promise<unknown>>()
  /** Runs `work` after the writes already queued for `repository`. */
  const serial = <T>(repository: string, work: () => Promise<T>): Promise<T> => {
    const next = (queues.get(repository) ?? Promise.resolve()).then(work, work)
    const settled = next.catch(() => undefined)
    queues.set(repository, settled)
    void settled.then(() => queues.get(repository) === settled && queues.delete(repository))
    return next
  }

  const tagsOf = async (repository: string): Promise<string[]> => {
    const tags: string[] = []
    try {
      for await (const tag of client.tags(repository)) tags.push(tag)
    } catch (error) {
      // An absent repository answers NAME_UNKNOWN: it holds nothing yet.
      if (isOciError(error, 'NAME_UNKNOWN') || isApprError(error, 'package-not-found')) return []
      throw error
    }
    return tags
  }
  const resolved = async (repository: string, tag: string): Promise<ResolvedRelease | undefined> => {
    try {
      return await resolveRelease(client, repository, tag)
    } catch (error) {
      // Absent, or not an appr package: nothing of the release is there. Anything else (an
      // unreachable registry) must not pass for that, or a store would drop the other formats.
      if (isApprError(error, 'package-release-not-found') || isApprError(error, 'invalid-parameters')) return undefined
      throw error
    }
  }
  const formatOf = async (manifest: Manifest): Promise<{ repository: string; format: ResolvedFormat } | undefined> => {
    const repository = repositoryOf(prefix, manifest.package)
    const release = await resolved(repository, manifest.release.replaceAll('+', '_'))
    const format = release?.formats.find((f) => f.format === parseFormat(manifest.mediaType))
    return format && { repository, format }
  }

  return {
    async manifests(pkg) {
      const repository = repositoryOf(prefix, pkg)
      const held: HeldManifest[] = []
      for (const tag of await tagsOf(repository)) {
        if (versionOfHelmTag(tag) === undefined) continue
        for (const f of (await resolved(repository, tag))?.formats ?? []) {
          const record = await pullManifestRecord(client, repository, f.manifestDigest)
          // A format without a readable record is not reported: the mirror then writes it again.
          if (!record) continue
          held.push({ ...record, signatures: await pullSignatures(client, repository, f.manifestDigest) })
        }
      }
      return held
    },

    async store(manifest, blob, signatures) {
      const repository = repositoryOf(prefix, manifest.package)
      const format = parseFormat(manifest.mediaType)
      const chartYaml = format === 'helm' ? (await inspectArchive(blob)).manifest?.document : undefined
      const projected = projectRelease({
        package: parsePackageName(manifest.package).full,
        release: manifest.release,
        created: manifest.created_at,
        formats: [{ format, blob: { digest: ociDigestOf(blob), size: blob.byteLength }, ...(chartYaml === undefined ? {} : { chartYaml }) }],
      })
      const [mine] = projected.formats
      await serial(repository, async () => {
        await client.ensureBlob(repository, blob)
        await client.ensureBlob(repository, mine!.config.bytes, { digest: mine!.config.digest })
        const others = ((await resolved(repository, projected.tag))?.formats ?? []).filter((f) => f.format !== format)
        if (others.length === 0) {
          await client.putManifest(repository, projected.tag, mine!.manifest.bytes, mine!.manifest.mediaType)
        } else {
          await client.putManifest(repository, mine!.manifest.digest, mine!.manifest.bytes, mine!.manifest.mediaType)
          const index = projectIndex([{ format, ...mine!.manifest }, ...others.map((f) => ({ format: f.format, ...f.manifest }))])
          await client.putManifest(repository, projected.tag, index.bytes, index.mediaType)
        }
        await pushManifestRecord(client, repository, mine!.manifest, manifest)
        for (const s of signatures) await pushSignature(client, repository, mine!.manifest, s)
      })
    },

    async addSignatures(manifest, signatures: readonly Signature[]) {
      const found = await formatOf(manifest)
      if (!found) throw notThere(repositoryOf(prefix, manifest.package), manifest.release)
      await serial(found.repository, async () => {
        for (const s of signatures) await pushSignature(client, found.repository, found.format.manifest, s)
      })
    },

    async channels(pkg) {
      const repository = repositoryOf(prefix, pkg)
      const tags = await tagsOf(repository)
      const releaseByDigest = new Map<string, string>()
      for (const tag of tags) {
        const release = versionOfHelmTag(tag)
        const digest = release === undefined ? undefined : (await client.headManifest(repository, tag))?.digest
        if (release !== undefined && digest !== undefined) releaseByDigest.set(digest, release)
      }
      const channels: Channel[] = []
      for (const tag of tags) {
        if (versionOfHelmTag(tag) !== undefined || isReferrersTag(tag)) continue
        const digest = (await client.headManifest(repository, tag))?.digest
        const current = digest === undefined ? undefined : releaseByDigest.get(digest)
        // A tag keeps only the current release: the channel's other releases are not in an OCI registry.
        if (current !== undefined) channels.push({ name: tag, current, releases: [current] })
      }
      return channels
    },

    async setChannel(pkg, channel, _releases, current) {
      const repository = repositoryOf(prefix, pkg)
      await serial(repository, async () => {
        const target = await client.getManifest(repository, current.replaceAll('+', '_'))
        if (!target) throw notThere(repository, current)
        if ((await client.headManifest(repository, channel))?.digest === target.digest) return
        await client.putManifest(repository, channel, target.bytes, target.mediaType)
      })
    },
  }
}
