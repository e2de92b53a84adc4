// The change feed: every acknowledged mutation has exactly one event, a failed one none, and the
// feed replays per package in commit order — whatever several Registry instances (and clients of
// one Redis / etcd) do concurrently, while a watcher reads along.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, manifestMediaType, Registry, sortReleasesDesc } from 'appr-core'
import type { KvStore, RegistryEvent } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { levelStore } from 'appr-core/adapters/level'
import { redisStore } from 'appr-core/adapters/redis'
import { etcdStore } from 'appr-core/adapters/etcd'
import { startEtcd, startRedis } from '../helpers/servers.js'
import { tgz } from './helpers.js'

interface Backend {
  name: string
  /** `clients` stores on one data set (one shared store where the backend allows no more). */
  open(clients: number): Promise<{ stores: KvStore[]; cleanup(): Promise<void> }>
}

let unique = 0
const backends: Backend[] = [
  {
    name: 'memory',
    async open(clients) {
      const store = memoryStore()
      return { stores: Array.from({ length: clients }, () => store), cleanup: () => store.close() }
    },
  },
  {
    name: 'level',
    async open(clients) {
      const dir = mkdtempSync(join(tmpdir(), 'appr-events-'))
      const store = levelStore({ path: join(dir, 'db') })
      return {
        stores: Array.from({ length: clients }, () => store),
        cleanup: async () => {
          await store.close()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  },
]
const redis = await startRedis({ suite: 'events on redis' })
if (redis) {
  backends.push({
    name: 'redis',
    async open(clients) {
      const prefix = `ev${process.pid}-${++unique}`
      const stores = Array.from({ length: clients }, () => redisStore({ url: redis.url, prefix }))
      return { stores, cleanup: async () => void (await Promise.all(stores.map((s) => s.close()))) }
    },
  })
}
const etcd = await startEtcd({ suite: 'events on etcd' })
if (etcd) {
  backends.push({
    name: 'etcd',
    async open(clients) {
      const prefix = `ev${process.pid}-${++unique}/`
      const stores = Array.from({ length: clients }, () => etcdStore({ hosts: etcd.endpoints, prefix }))
      return { stores, cleanup: async () => void (await Promise.all(stores.map((s) => s.close()))) }
    },
  })
}

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const blobs = await Promise.all([1, 2, 3].map((n) => tgz({ [`chart-${n}/Chart.yaml`]: `name: chart\nversion: ${n}\n` })))
const PACKAGES = ['ev/a', 'ev/b', 'ev/c']
const RELEASES = ['1.0.0', '1.1.0', '2.0.0']
const FORMATS = ['helm', 'kpm']
const CHANNELS = ['stable', 'beta']

type Op =
  | { kind: 'push'; pkg: string; release: string; format: string; blob: number; force: boolean }
  | { kind: 'delete'; pkg: string; release: string; format: string }
  | { kind: 'add' | 'remove'; pkg: string; channel: string; release: string }
  | { kind: 'drop'; pkg: string; channel: string }

function randomOp(rand: () => number): Op {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!
  const pkg = pick(PACKAGES)
  const r = rand()
  if (r < 0.4) return { kind: 'push', pkg, release: pick(RELEASES), format: pick(FORMATS), blob: Math.floor(rand() * 3), force: rand() < 0.5 }
  if (r < 0.6) return { kind: 'delete', pkg, release: pick(RELEASES), format: pick(FORMATS) }
  if (r < 0.8) return { kind: 'add', pkg, channel: pick(CHANNELS), release: pick(RELEASES) }
  if (r < 0.92) return { kind: 'remove', pkg, channel: pick(CHANNELS), release: pick(RELEASES) }
  return { kind: 'drop', pkg, channel: pick(CHANNELS) }
}

async function apply(registry: Registry, op: Op): Promise<string | undefined> {
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
function expected(op: Op, digest: string | undefined): string {
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

function describe(e: RegistryEvent): string {
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

interface PackageModel {
  releases: Map<string, Map<string, string>>
  channels: Map<string, { releases: Set<string>; current: string }>
}

/**
 * Replays the feed on a model of each package, asserting every event is possible in the state
 * the previous ones left (a push that replaced names what was there, a delete names what exists,
 * a removal leaves the right current …): any reordering within a package breaks one of these.
 */
function replay(events: readonly RegistryEvent[]): Map<string, PackageModel> {
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

async function readAll(registry: Registry): Promise<RegistryEvent[]> {
  const all: RegistryEvent[] = []
  let after: string | undefined
  for (;;) {
    const page = await registry.events.read({ ...(after !== undefined && { after }), limit: 7 })
    all.push(...page.events)
    if (page.events.length === 0) return all
    after = page.cursor
  }
}

for (const backend of backends) {
  const test = suite(`events on ${backend.name}`)

  test('the feed is exactly the acknowledged mutations, per package in commit order', async () => {
    const runs = backend.name === 'memory' ? 6 : 2
    for (let run = 0; run < runs; run++) {
      const seed = 1000 * run + 17
      const rand = prng(seed)
      const { stores, cleanup } = await backend.open(4)
      const registries = stores.map((store) => new Registry({ store, ownsStore: false, events: true }))
      // A watcher reads along from the start, through another instance.
      const controller = new AbortController()
      const watched: RegistryEvent[] = []
      const watching = (async () => {
        for await (const e of registries[3]!.events.watch({ after: '0', signal: controller.signal, pollMs: 5 })) watched.push(e)
      })()
      try {
        const acknowledged: string[] = []
        let failed = 0
        for (let wave = 0; wave < 6; wave++) {
          const ops = Array.from({ length: 8 }, () => randomOp(rand))
          const results = await Promise.allSettled(ops.map((op, i) => apply(registries[i % 3]!, op)))
          results.forEach((result, i) => {
            if (result.status === 'fulfilled') acknowledged.push(expected(ops[i]!, result.value))
            else {
              assert.ok(isApprError(result.reason) && result.reason.code !== 'resource-in-use' && result.reason.code !== 'internal-error', `seed ${seed}: ${String(result.reason)}`)
              failed++
            }
          })
        }
        assert.ok(failed > 0 && acknowledged.length > 0, `seed ${seed}: the ops both succeed and fail`)

        const feed = await readAll(registries[0]!)
        assert.equal(
          feed.map((e) => e.seq),
          feed.map((_, i) => i + 1),
          `seed ${seed}: seq is dense from 1`,
        )
        assert.equal(feed.map(describe).sort(), acknowledged.sort(), `seed ${seed}: feed = acknowledged mutations`)
        const models = replay(feed)
        // The replay ends where the registry is.
        for (const pkg of PACKAGES) {
          const model = models.get(pkg)
          const manifests = await registries[1]!.releases(pkg).catch((e: unknown) => (isApprError(e, 'package-not-found') ? [] : Promise.reject(e)))
          const stored = manifests.map((m) => `${m.release} ${m.mediaType} ${m.content.digest}`).sort()
          const replayed = [...(model?.releases ?? [])].flatMap(([release, formats]) =>
            [...formats].map(([format, digest]) => `${release} ${manifestMediaType(format)} ${digest}`),
          )
          assert.equal(replayed.sort(), stored, `seed ${seed}: ${pkg} releases`)
          const channels = manifests.length === 0 ? [] : await registries[1]!.channels.list(pkg)
          assert.equal(
            [...(model?.channels ?? [])].map(([name, c]) => `${name} ${c.current} ${sortReleasesDesc([...c.releases]).join(',')}`).sort(),
            channels.map((c) => `${c.name} ${c.current} ${c.releases.join(',')}`).sort(),
            `seed ${seed}: ${pkg} channels`,
          )
        }
        // The watcher saw the same feed, in the same order.
        const deadline = Date.now() + 10_000
        while (watched.length < feed.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
        controller.abort()
        await watching
        assert.equal(watched, feed, `seed ${seed}: the watcher saw the feed`)
      } finally {
        controller.abort()
        await watching.catch(() => undefined)
        await cleanup()
      }
    }
  })

  test('a failed mutation records nothing; a registry without events records nothing', async () => {
    const { stores, cleanup } = await backend.open(2)
    try {
      const on = new Registry({ store: stores[0]!, ownsStore: false, events: true })
      const off = new Registry({ store: stores[1]!, ownsStore: false })
      await on.push({ package: 'ev/x', release: '1.0.0', blob: blobs[0]! })
      const refused = await on.push({ package: 'ev/x', release: '1.0.0', blob: blobs[1]! }).catch((e: unknown) => e)
      assert.ok(isApprError(refused, 'package-exists'))
      assert.ok(isApprError(await on.channels.add('ev/x', 'stable', '9.9.9').catch((e: unknown) => e), 'package-release-not-found'))
      await off.push({ package: 'ev/x', release: '2.0.0', blob: blobs[1]! })
      const page = await off.events.read()
      assert.equal(page.events.map(describe), [describe({ ...page.events[0]!, type: 'release.pushed' } as RegistryEvent)])
      assert.is(page.events[0]!.type, 'release.pushed')
      assert.is(page.cursor, '1')
      assert.equal((await off.events.read({ after: page.cursor })).events, [])
      assert.is(await on.events.latest(), '1')
    } finally {
      await cleanup()
    }
  })

  test.run()
}

const retention = suite('events retention')

retention('events beyond the count bound are trimmed; an older cursor gets cursor-expired', async () => {
  const store = memoryStore()
  const registry = new Registry({ store, events: { retention: { maxEvents: 5 } } })
  for (let i = 0; i < 12; i++) await registry.push({ package: 'ev/r', release: `1.0.${i}`, blob: blobs[i % 3]! })
  const page = await registry.events.read()
  assert.equal(
    page.events.map((e) => e.seq),
    [8, 9, 10, 11, 12],
  )
  const error = await registry.events.read({ after: '3' }).catch((e: unknown) => e)
  assert.ok(isApprError(error, 'cursor-expired'), String(error))
  assert.is(error.status, 410)
  assert.equal(error.details, { cursor: '3', oldest: '8' })
  // The oldest kept event's predecessor is still a valid cursor.
  assert.is((await registry.events.read({ after: '7', limit: 1 })).events[0]!.seq, 8)
  assert.ok(isApprError(await registry.events.read({ after: 'x1' }).catch((e: unknown) => e), 'invalid-parameters'))
})

retention('events older than the age bound are trimmed', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const registry = new Registry({ store: memoryStore(), clock: () => new Date(now), events: { retention: { maxAgeMs: 60_000 } } })
  await registry.push({ package: 'ev/t', release: '1.0.0', blob: blobs[0]! })
  await registry.push({ package: 'ev/t', release: '1.0.1', blob: blobs[1]! })
  assert.is((await registry.events.read()).events.length, 2)
  now += 120_000
  await registry.push({ package: 'ev/t', release: '1.0.2', blob: blobs[2]! })
  const page = await registry.events.read()
  assert.equal(
    page.events.map((e) => [e.seq, e.time]),
    [[3, '2026-01-01T00:02:00.000Z']],
  )
})

retention('restore records its pushes and channels; delete names the channels it emptied', async () => {
  const source = new Registry({ store: memoryStore() })
  await source.push({ package: 'ev/s', release: '1.0.0', blob: blobs[0]! })
  await source.push({ package: 'ev/s', release: '2.0.0', blob: blobs[1]! })
  await source.channels.add('ev/s', 'stable', '1.0.0')
  const registry = new Registry({ store: memoryStore(), events: true })
  await registry.restore(await source.backup())
  await registry.delete('ev/s', '1.0.0', 'kpm')
  const events = (await registry.events.read()).events
  assert.equal(
    events.map((e) => e.type),
    ['release.pushed', 'release.pushed', 'channel.set', 'release.deleted'],
  )
  assert.is((events[0] as { restored?: boolean }).restored, true)
  assert.equal(events[3], { ...events[3]!, releaseGone: true, packageGone: false, channels: ['stable'] })
})

retention('a store whose list is not a snapshot still gives each package its commit order', async () => {
  const base = memoryStore()
  const rand = prng(7)
  // Lists of the outbox lose entries at random, as a paged, non-snapshot listing may.
  const lossy: KvStore = { ...base, name: base.name, capabilities: base.capabilities, async list(options) {
    const page = await base.list(options)
    return options.prefix === 'evq/' ? page.filter(() => rand() < 0.6) : page
  } }
  const writers = [0, 1, 2].map(() => new Registry({ store: lossy, ownsStore: false, events: true }))
  await Promise.all(
    ['ev/p', 'ev/q', 'ev/r'].map(async (pkg, i) => {
      for (let n = 0; n < 15; n++) await writers[(i + n) % 3]!.push({ package: pkg, release: `1.0.${n}`, blob: blobs[n % 3]! })
    }),
  )
  const events: RegistryEvent[] = []
  for (let tries = 0; events.length < 45 && tries < 200; tries++) {
    const page = await writers[0]!.events.read({ after: events.at(-1)?.cursor ?? '0' })
    events.push(...page.events)
  }
  assert.is(events.length, 45)
  for (const pkg of ['ev/p', 'ev/q', 'ev/r']) {
    assert.equal(
      events.filter((e) => e.package === pkg).map((e) => (e.type === 'release.pushed' ? e.release : e.type)),
      Array.from({ length: 15 }, (_, n) => `1.0.${n}`),
      pkg,
    )
  }
})

retention.run()
