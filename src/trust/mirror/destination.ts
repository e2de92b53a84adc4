/**
 * Where the mirror writes: the few operations it needs, and their implementation on a
 * {@link Registry}.
 * @module
 */
import { z } from 'zod'
import type { ApprClient } from '../../client/index.js'
import { ApprError, isApprError } from '../../errors/index.js'
import { type Channel, ChannelSchema, type Manifest, ManifestSchema, parseFormat, parsePackageName, type Signature, SignatureSchema } from '../../model/index.js'
import type { Registry } from '../../registry/registry.js'

/** What the mirror needs from a destination. */
export interface MirrorDestination {
  /** Every manifest the destination holds for a package, with its signatures (`[]` when it has none). */
  manifests(pkg: string): Promise<readonly HeldManifest[]>
  /**
   * Stores a verified release as given (timestamp and media types verbatim), replacing what the
   * destination holds for `(package, release, format)`, with its signatures. `blob` is the gzip
   * bytes, already checked against `manifest.content`.
   */
  store(manifest: Manifest, blob: Uint8Array, signatures: readonly Signature[]): Promise<void>
  /** Adds signatures to a release the destination holds already. */
  addSignatures(manifest: Manifest, signatures: readonly Signature[]): Promise<void>
  /** The channels of a package (`[]` when it has none or does not exist). */
  channels(pkg: string): Promise<readonly Channel[]>
  /** Makes a channel hold exactly `releases` (all stored already) with `current` current. */
  setChannel(pkg: string, channel: string, releases: readonly string[], current: string): Promise<void>
}

/** A manifest a destination holds, with its signatures when it has some. */
export type HeldManifest = Manifest & { readonly signatures?: readonly Signature[] | undefined }

/** The part of a {@link Registry} a destination uses. */
export type RegistryLike = Pick<Registry, 'releases' | 'restore' | 'channels' | 'signatures'>

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

async function orEmpty<T>(read: Promise<readonly T[]>): Promise<readonly T[]> {
  try {
    return await read
  } catch (error) {
    if (isApprError(error, 'package-not-found')) return []
    throw error
  }
}

/**
 * The channel operations that turn `held` into `releases` with `current` current: removals first,
 * then additions with `current` last (adding a release makes it current; it is added even when
 * present, so it ends up current whatever the removals did).
 */
function channelSteps(held: Channel | undefined, releases: readonly string[], current: string): { remove: string[]; add: string[] } {
  const wanted = new Set(releases)
  const present = new Set(held?.releases ?? [])
  return {
    remove: [...present].filter((r) => !wanted.has(r)),
    add: [...releases.filter((r) => r !== current && !present.has(r)), current],
  }
}

/**
 * A destination on a registry in this process. A release is stored through `restore` (one
 * commit, timestamp and media types kept, the blob validated again against the manifest); a
 * channel is adjusted with the channel operations, one commit each.
 */
export function registryDestination(registry: RegistryLike): MirrorDestination {
  return {
    manifests: (pkg) => orEmpty(registry.releases(pkg)),
    async store(manifest, blob, signatures) {
      const entry = { ...manifest, blob: base64(blob), channels: [], ...(signatures.length > 0 && { signatures }) }
      await registry.restore({ packages: [entry], channels: [] })
    },
    async addSignatures(manifest, signatures) {
      await registry.signatures.add(manifest.package, manifest.release, parseFormat(manifest.mediaType), signatures)
    },
    channels: (pkg) => orEmpty(registry.channels.list(pkg)),
    async setChannel(pkg, channel, releases, current) {
      const held = (await orEmpty(registry.channels.list(pkg))).find((c) => c.name === channel)
      const { remove, add } = channelSteps(held, releases, current)
      for (const release of remove) await registry.channels.remove(pkg, channel, release)
      for (const release of add) await registry.channels.add(pkg, channel, release)
    },
  }
}

const ManifestsAnswer = z.array(ManifestSchema.extend({ signatures: z.array(SignatureSchema).optional() }))
const ChannelsAnswer = z.array(ChannelSchema)

async function parsedAnswer<T>(answer: Promise<unknown>, schema: z.ZodType<T>): Promise<T> {
  const parsed = schema.safeParse(await answer)
  if (!parsed.success) throw new ApprError('internal-error', `the destination answered something that is not appr's: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  return parsed.data
}

/**
 * A destination on an appr server, through its push and channel routes (with `appr-core/client`).
 * A push cannot carry a timestamp, so `created_at` is the destination's; an appr-core server also
 * writes media types in their `v0` form, which changes the manifest digest of a release whose
 * source said `v1`.
 */
export function serverDestination(client: ApprClient): MirrorDestination {
  const channels = (pkg: string) => orEmpty(parsedAnswer(client.channels.list(parsePackageName(pkg).full), ChannelsAnswer))
  return {
    manifests: (pkg) => orEmpty(parsedAnswer(client.releases(parsePackageName(pkg).full), ManifestsAnswer) as Promise<HeldManifest[]>),
    async store(manifest, blob, signatures) {
      // The mirror decided to write (absent, or different and forced): a forced push says so.
      // The client sends every member before the blob, so an appr-core server streams it.
      await client.push(parsePackageName(manifest.package).full, {
        release: manifest.release,
        format: parseFormat(manifest.mediaType),
        metadata: manifest.metadata,
        ...(signatures.length > 0 && { signatures }),
        blob,
        force: true,
      })
    },
    async addSignatures(manifest, signatures) {
      await client.signatures.add(parsePackageName(manifest.package).full, manifest.release, parseFormat(manifest.mediaType), signatures)
    },
    channels,
    async setChannel(pkg, channel, releases, current) {
      const name = parsePackageName(pkg).full
      const held = (await channels(name)).find((c) => c.name === channel)
      const { remove, add } = channelSteps(held, releases, current)
      for (const release of remove) await client.channels.remove(name, channel, release)
      for (const release of add) await client.channels.add(name, channel, release)
    },
  }
}
