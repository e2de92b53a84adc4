/**
 * Random registry operations for the change-feed tests (events.test.ts and its worker
 * processes): what each acknowledged one must record, and a replay of the feed on a model.
 */

import type { Registry, RegistryEvent } from 'appr-core'
import { sortReleasesDesc } from 'appr-core'
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

export type Op =
  | { kind: 'push'; pkg: string; release: string; format: string; blob: number; force: boolean }
  | { kind: 'delete'; pkg: string; release: string; format: string }
  | { kind: 'add' | 'remove'; pkg: string; channel: string; release: string }
  | { kind: 'drop'; pkg: string; channel: string }

export function randomOp(rand: () => number): Op {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!
  const pkg = pick(PACKAGES)
  const r = rand()
  if (r < 0.4) return { kind: 'push', pkg, release: pick(RELEASES), format: pick(FORMATS), blob: Math.floor(rand() * 3), force: rand() < 0.5 }
  if (r < 0.6) return { kind: 'delete', pkg, release: pick(RELEASES), format: pick(FORMATS) }
  if (r < 0.8) return { kind: 'add', pkg, channel: pick(CHANNELS), release: pick(RELEASES) }
  if (r < 0.92) return { kind: 'remove', pkg, channel: pick(CHANNELS), release: pick(RELEASES) }
  return { kind: 'drop', pkg, channel: pick(CHANNELS) }
}

export async function apply(registry: Registry, op: Op): Promise<string | undefined> {
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
  }
}

/** What an acknowledged op's event must say (the fields the op determines). */
export function expected(op: Op, digest: string | undefined): string {
  switch (op.kind) {
    case 'push':
      return `release.pushed ${op.pkg} ${op.release} ${op.format} ${digest}`
    case 'delete':
      return `release.deleted ${op.pkg} ${op.release} ${op.format}`
    case 'add':
      return `channel.added ${op.pkg} ${op.channel} ${op.release}`
    case 'remove':
      return `channel.removed ${op.pkg} ${op.channel} ${op.release}`
    case 'drop':
      return `channel.deleted ${op.pkg} ${op.channel}`
  }
}

export function describe(e: RegistryEvent): string {
  switch (e.type) {
    case 'release.pushed':
      return `${e.type} ${e.package} ${e.release} ${e.format} ${e.digest}`
    case 'release.deleted':
      return `${e.type} ${e.package} ${e.release} ${e.format}`
    case 'channel.added':
    case 'channel.removed':
      return `${e.type} ${e.package} ${e.channel} ${e.release}`
    default:
      return `${e.type} ${e.package} ${'channel' in e ? e.channel : ''}`
  }
}

export interface PackageModel {
  releases: Map<string, Map<string, string>>
  channels: Map<string, { releases: Set<string>; current: string }>
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
    const model = packages.get(e.package) ?? { releases: new Map(), channels: new Map() }
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
        assert.unreachable('no restore in this test')
    }
  }
  return packages
}

