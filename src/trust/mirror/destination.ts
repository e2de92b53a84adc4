/**
 * Where the mirror writes: the few operations it needs, and their implementation on a
 * {@link Registry}.
 * @module
 */
import { isApprError } from '../../errors/index.js'
import type { Channel, Manifest } from '../../model/index.js'
import type { Registry } from '../../registry/registry.js'

/** What the mirror needs from a destination. */
export interface MirrorDestination {
  /** Every manifest the destination holds for a package (`[]` when it has none). */
  manifests(pkg: string): Promise<readonly Manifest[]>
  /**
   * Stores a verified release as given (timestamp and media types verbatim), replacing what the
   * destination holds for `(package, release, format)`. `blob` is the gzip bytes, already checked
   * against `manifest.content`.
   */
  store(manifest: Manifest, blob: Uint8Array): Promise<void>
  /** The channels of a package (`[]` when it has none or does not exist). */
  channels(pkg: string): Promise<readonly Channel[]>
  /** Makes a channel hold exactly `releases` (all stored already) with `current` current. */
  setChannel(pkg: string, channel: string, releases: readonly string[], current: string): Promise<void>
}

/** The part of a {@link Registry} a destination uses. */
export type RegistryLike = Pick<Registry, 'releases' | 'restore' | 'channels'>

async function orEmpty<T>(read: Promise<readonly T[]>): Promise<readonly T[]> {
  try {
    return await read
  } catch (error) {
    if (isApprError(error, 'package-not-found')) return []
    throw error
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
    async store(manifest, blob) {
      const entry = { ...manifest, blob: Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('base64'), channels: [] }
      await registry.restore({ packages: [entry], channels: [] })
    },
    channels: (pkg) => orEmpty(registry.channels.list(pkg)),
    async setChannel(pkg, channel, releases, current) {
      const held = (await orEmpty(registry.channels.list(pkg))).find((c) => c.name === channel)
      const wanted = new Set(releases)
      for (const release of held?.releases ?? []) if (!wanted.has(release)) await registry.channels.remove(pkg, channel, release)
      const present = new Set(held?.releases ?? [])
      for (const release of releases) if (release !== current && !present.has(release)) await registry.channels.add(pkg, channel, release)
      // Adding a release makes it current, so the current one goes last.
      await registry.channels.add(pkg, channel, current)
    },
  }
}
