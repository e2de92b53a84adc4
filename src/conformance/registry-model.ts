/**
 * A reference model of appr registry semantics (packages, releases × formats, channels, shared
 * blobs), deliberately naive, for the level-B properties. Exported for reuse.
 * @module
 */
import fc from 'fast-check'
import { isApprError } from '../errors/index.js'
import { sortReleasesDesc } from '../model/release.js'
import type { Registry } from '../registry/registry.js'

/** A registry mutation, as the properties generate it. `blob` indexes the suite's tarballs. */
export type RegistryOp =
  | { readonly op: 'push'; readonly pkg: string; readonly release: string; readonly format: string; readonly blob: number; readonly force: boolean }
  | { readonly op: 'delete'; readonly pkg: string; readonly release: string; readonly format: string }
  | { readonly op: 'channel-add'; readonly pkg: string; readonly channel: string; readonly release: string }
  | { readonly op: 'channel-remove'; readonly pkg: string; readonly channel: string; readonly release: string }
  | { readonly op: 'channel-delete'; readonly pkg: string; readonly channel: string }

/**
 * What an operation did, by class: `ok`, `exists` (package-exists), `not-found` (any 404),
 * `no-effect` (a transient refusal such as resource-in-use: the operation must not have applied),
 * or `unexpected:<code>`.
 */
export type Outcome = 'ok' | 'exists' | 'not-found' | 'no-effect' | `unexpected:${string}`

/**
 * Applies one operation through the Registry's public API (rejections propagate). `blob` gives
 * the tarball bytes for a push's blob index.
 */
export async function applyRegistryOp(registry: Registry, o: RegistryOp, blob: (index: number) => Uint8Array): Promise<void> {
  switch (o.op) {
    case 'push':
      await registry.push({ package: o.pkg, release: o.release, format: o.format, blob: blob(o.blob), force: o.force })
      return
    case 'delete':
      return registry.delete(o.pkg, o.release, o.format)
    case 'channel-add':
      await registry.channels.add(o.pkg, o.channel, o.release)
      return
    case 'channel-remove':
      await registry.channels.remove(o.pkg, o.channel, o.release)
      return
    case 'channel-delete':
      return registry.channels.delete(o.pkg, o.channel)
  }
}

/** Classifies a rejection of a registry call. */
export function outcomeOf(error: unknown): Outcome {
  if (isApprError(error, 'package-exists')) return 'exists'
  if (isApprError(error) && error.status === 404) return 'not-found'
  if (isApprError(error, 'resource-in-use') || (isApprError(error) && error.transient)) return 'no-effect'
  const text = error instanceof Error ? error.message : String(error)
  return `unexpected:${isApprError(error) ? `${error.code} (${text.slice(0, 300)})` : text.slice(0, 300)}`
}

/** Readable form of an operation, for counterexamples. */
export function showOp(o: RegistryOp): string {
  switch (o.op) {
    case 'push':
      return `push(${o.pkg}@${o.release} ${o.format} blob#${o.blob}${o.force ? ' force' : ''})`
    case 'delete':
      return `delete(${o.pkg}@${o.release} ${o.format})`
    case 'channel-add':
      return `channels.add(${o.pkg} ${o.channel} ${o.release})`
    case 'channel-remove':
      return `channels.remove(${o.pkg} ${o.channel} ${o.release})`
    case 'channel-delete':
      return `channels.delete(${o.pkg} ${o.channel})`
  }
}

/** Attaches {@link showOp} so fast-check prints operations readably. */
export function withShow(o: RegistryOp): RegistryOp {
  return Object.assign(Object.create({ [fc.toStringMethod]() { return showOp(this as RegistryOp) } }), o)
}

interface PackageState {
  /** release → format → blob index. */
  readonly releases: Map<string, Map<string, number>>
  /** channel → { current, releases }. */
  readonly channels: Map<string, { current: string; releases: Set<string> }>
}

/** The model: a map of packages; a package exists exactly while it has a release. */
export class RegistryModel {
  readonly packages = new Map<string, PackageState>()

  constructor(
    /** appr digest of each blob index. */
    readonly digests: readonly string[],
  ) {}

  clone(): RegistryModel {
    const copy = new RegistryModel(this.digests)
    for (const [name, p] of this.packages) {
      copy.packages.set(name, {
        releases: new Map([...p.releases].map(([r, f]) => [r, new Map(f)])),
        channels: new Map([...p.channels].map(([c, v]) => [c, { current: v.current, releases: new Set(v.releases) }])),
      })
    }
    return copy
  }

  /** Applies `o` as appr-core defines it; returns the outcome class. */
  apply(o: RegistryOp): Outcome {
    const pkg = this.packages.get(o.pkg)
    switch (o.op) {
      case 'push': {
        const formats = pkg?.releases.get(o.release)
        if (formats?.has(o.format) && !o.force) return 'exists'
        const state = pkg ?? { releases: new Map(), channels: new Map() }
        this.packages.set(o.pkg, state)
        const f = state.releases.get(o.release) ?? new Map<string, number>()
        state.releases.set(o.release, f.set(o.format, o.blob))
        return 'ok'
      }
      case 'delete': {
        const formats = pkg?.releases.get(o.release)
        if (!pkg || !formats?.has(o.format)) return 'not-found'
        formats.delete(o.format)
        if (formats.size === 0) {
          pkg.releases.delete(o.release)
          for (const [name, ch] of pkg.channels) if (ch.releases.has(o.release)) this.#setChannel(pkg, name, [...ch.releases].filter((r) => r !== o.release))
        }
        if (pkg.releases.size === 0) this.packages.delete(o.pkg)
        return 'ok'
      }
      case 'channel-add': {
        if (!pkg?.releases.has(o.release)) return 'not-found'
        const ch = pkg.channels.get(o.channel)
        this.#setChannel(pkg, o.channel, [...(ch?.releases ?? []), o.release], o.release)
        return 'ok'
      }
      case 'channel-remove': {
        const ch = pkg?.channels.get(o.channel)
        if (!pkg || !ch || !pkg.releases.has(o.release)) return 'not-found'
        // As appr: the highest remaining release becomes current, even when `release` was not in the channel.
        this.#setChannel(pkg, o.channel, [...ch.releases].filter((r) => r !== o.release))
        return 'ok'
      }
      case 'channel-delete': {
        if (!pkg?.channels.has(o.channel)) return 'not-found'
        pkg.channels.delete(o.channel)
        return 'ok'
      }
    }
  }

  #setChannel(pkg: PackageState, name: string, releases: string[], current?: string): void {
    if (releases.length === 0) pkg.channels.delete(name)
    else pkg.channels.set(name, { current: current ?? sortReleasesDesc(releases)[0]!, releases: new Set(releases) })
  }

  /** Every `(package, release, format)` with its blob index. */
  manifests(): { pkg: string; release: string; format: string; blob: number }[] {
    return [...this.packages].flatMap(([pkg, p]) => [...p.releases].flatMap(([release, f]) => [...f].map(([format, blob]) => ({ pkg, release, format, blob }))))
  }

  /** The canonical text of the state, comparable with {@link renderState} of a real registry. */
  render(): string {
    return renderState(
      [...this.packages].map(([name, p]) => ({
        name,
        manifests: [...p.releases].flatMap(([release, f]) => [...f].map(([format, blob]) => `${release}/${format}=${this.digests[blob]!.slice(0, 12)}`)),
        channels: [...p.channels].map(([c, v]) => `${c}(${v.current})[${sortReleasesDesc(v.releases).join(',')}]`),
      })),
    )
  }
}

/** Canonical, order-independent text of a registry state. */
export function renderState(packages: { name: string; manifests: string[]; channels: string[] }[]): string {
  return [...packages]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((p) => `${p.name}: ${[...p.manifests].sort().join(' ')} | channels ${[...p.channels].sort().join(' ') || '-'}`)
    .join('\n')
}
