// The change feed: every acknowledged mutation has exactly one event, a failed one none, and the
// feed replays per package in commit order — whatever several Registry instances (and clients of
// one Redis / etcd) do concurrently, while a watcher reads along.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { KvStore, RegistryEvent } from 'appr-core'
import { isApprError, manifestMediaType, Registry, sortReleasesDesc } from 'appr-core'
import { etcdStore } from 'appr-core/adapters/etcd'
import { levelStore } from 'appr-core/adapters/level'
import { memoryStore } from 'appr-core/adapters/memory'
import { EMPTY_JSON, isOciError, OCI_EMPTY, OCI_MANIFEST, ociDigestOf } from 'appr-core/oci'
import { generateSigningKey, manifestDigest, signDigest } from 'appr-core/trust'
import { redisStore } from 'appr-core/adapters/redis'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { runScript } from '../helpers/multiprocess.js'
import { startEtcd, startRedis } from '../helpers/servers.js'
import { apply, assertFeedIsAcknowledged, blobs, describe, expected, OCI_TAGS, opSource, PACKAGES, prng, recordedBeforeRefusal, refusedAsAllowed, replay } from './events-ops.js'

interface Backend {
  name: string
  /** `clients` stores on one data set (one shared store where the backend allows no more). */
  open(clients: number): Promise<{ stores: KvStore[]; cleanup(): Promise<void> }>
  /** Fresh data for worker processes (Redis and etcd only): their configuration, and a store of this process on it. */
  workers?: () => { config: Record<string, unknown>; store: KvStore }
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
    workers() {
      const prefix = `evp${process.pid}-${++unique}`
      return { config: { adapter: 'redis', url: redis.url, prefix }, store: redisStore({ url: redis.url, prefix }) }
    },
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
    workers() {
      const prefix = `evp${process.pid}-${++unique}/`
      return { config: { adapter: 'etcd', hosts: etcd.endpoints, prefix }, store: etcdStore({ hosts: etcd.endpoints, prefix }) }
    },
    async open(clients) {
      const prefix = `ev${process.pid}-${++unique}/`
      const stores = Array.from({ length: clients }, () => etcdStore({ hosts: etcd.endpoints, prefix }))
      return { stores, cleanup: async () => void (await Promise.all(stores.map((s) => s.close()))) }
    },
  })
}

/** Runs events-worker.ts with `config` and returns its report. */
function runWorker(config: Record<string, unknown>): Promise<{ acknowledged: string[]; failed: number }> {
  return runScript(fileURLToPath(new URL('./events-worker.ts', import.meta.url)), config)
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

/**
 * One run of the property with `seed`: waves of random appr and OCI mutations at once through
 * three registries on one data set, a fourth watching; then the feed is exactly the acknowledged
 * mutations, its replay is possible in feed order and ends where the registry is, and the watcher
 * saw the same feed.
 */
async function assertFeedProperty(backend: Backend, seed: number, outcomes: Map<string, number>): Promise<{ events: number; failed: number }> {
  const source = opSource(prng(seed), `s${seed}`)
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
    for (let n = 0; n < 6; n++) {
      const ops = source.wave(8)
      const results = await Promise.allSettled(ops.map((op, i) => apply(registries[i % 3]!, op)))
      results.forEach((result, i) => {
        const outcome = `${ops[i]!.kind} ${result.status === 'fulfilled' ? 'ok' : 'refused'}`
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
        if (result.status === 'fulfilled') {
          acknowledged.push(...expected(ops[i]!, result.value))
        } else {
          assert.ok(refusedAsAllowed(ops[i]!, result.reason), `seed ${seed}: ${ops[i]!.kind} ${String(result.reason)}`)
          acknowledged.push(...recordedBeforeRefusal(ops[i]!))
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
    assertFeedIsAcknowledged(feed, acknowledged, `seed ${seed}: feed = acknowledged mutations`)
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
      // The repository of the same name: its client tags, and which of the images made are stored.
      // Not the manifests an index copy pushed by digest: the release takes them and they go with
      // it, and no event says so (only its release.deleted), so a replay cannot follow them.
      const tags = await registries[1]!.ociManifests.tags(pkg).then(
        (page) => page.items,
        (e: unknown) => (isOciError(e, 'NAME_UNKNOWN') ? [] : Promise.reject(e)),
      )
      const clientTags = await Promise.all(tags.filter((t) => OCI_TAGS.includes(t)).map(async (t) => `${t} ${(await registries[1]!.ociManifests.head(pkg, t))?.digest}`))
      assert.equal([...(model?.tags ?? [])].map(([t, digest]) => `${t} ${digest}`).sort(), clientTags.sort(), `seed ${seed}: ${pkg} tags`)
      for (const image of source.images.get(pkg) ?? []) {
        const head = await registries[1]!.ociManifests.head(pkg, image.digest)
        assert.is(head !== undefined, model?.manifests.has(image.digest) ?? false, `seed ${seed}: ${pkg}@${image.digest} stored as replayed`)
      }
    }
    // The watcher saw the same feed, in the same order.
    const deadline = Date.now() + 10_000
    while (watched.length < feed.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    controller.abort()
    await watching
    assert.equal(watched, feed, `seed ${seed}: the watcher saw the feed`)
    return { events: feed.length, failed }
  } finally {
    controller.abort()
    await watching.catch(() => undefined)
    await cleanup()
  }
}

/** Three writer processes (seeds `base` + 77, 154, 231) on one Redis / etcd data set, and a watcher here. */
async function assertProcessesFeed({ config, store }: { config: Record<string, unknown>; store: KvStore }, base: number): Promise<void> {
  const reader = new Registry({ store, events: true })
  const controller = new AbortController()
  const watched: RegistryEvent[] = []
  const watching = (async () => {
    for await (const e of reader.events.watch({ after: '0', signal: controller.signal, pollMs: 20 })) watched.push(e)
  })()
  try {
    const startAt = Date.now() + 3000
    const reports = await Promise.all([1, 2, 3].map((id) => runWorker({ ...config, seed: base + 77 * id, waves: 5, startAt })))
    const acknowledged = reports.flatMap((r) => r.acknowledged)
    assert.ok(acknowledged.length > 0 && reports.some((r) => r.failed > 0), `base ${base}: the ops both succeed and fail`)
    const feed = await readAll(reader)
    assert.equal(
      feed.map((e) => e.seq),
      feed.map((_, i) => i + 1),
      `base ${base}: seq is dense from 1`,
    )
    assertFeedIsAcknowledged(feed, acknowledged, `base ${base}: the feed = what the processes acknowledged`)
    replay(feed)
    const deadline = Date.now() + 10_000
    while (watched.length < feed.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.equal(watched, feed, `base ${base}: the watcher saw the feed`)
  } finally {
    controller.abort()
    await watching.catch(() => undefined)
    await reader.close()
  }
}

for (const backend of backends) {
  const test = suite(`events on ${backend.name}`)

  test('the feed is exactly the acknowledged mutations, appr and OCI, per package and repository in commit order', async () => {
    const runs = Number(process.env.EVENTS_RUNS ?? 1) * (backend.name === 'memory' ? 6 : 2)
    const first = Number(process.env.EVENTS_SEED ?? 17)
    const totals = { events: 0, failed: 0 }
    const outcomes = new Map<string, number>()
    for (let run = 0; run < runs; run++) {
      const { events, failed } = await assertFeedProperty(backend, first + 1000 * run, outcomes)
      totals.events += events
      totals.failed += failed
    }
    // A bug hunt reports what it covered.
    if (process.env.EVENTS_RUNS) console.log(`events on ${backend.name}: ${runs} runs, seeds ${first} to ${first + 1000 * (runs - 1)} by 1000, ${totals.events} events, ${totals.failed} refused ops; by op: ${[...outcomes].sort().map(([o, n]) => `${o} ${n}`).join(', ')}`)
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

  test("a watch on another registry wakes on the store's change hint, not at its next poll", async () => {
    const { stores, cleanup } = await backend.open(2)
    const [watching, writing] = stores as [KvStore, KvStore]
    if (!watching.capabilities.changeHints) return cleanup()
    const watcher = new Registry({ store: watching, ownsStore: false, events: true })
    const writer = new Registry({ store: writing, ownsStore: false, events: true })
    const controller = new AbortController()
    // Ten minutes between polls: within the bound below only a hint can bring an event the watch has not read yet.
    const iterator = watcher.events.watch({ after: '0', signal: controller.signal, pollMs: 600_000 })[Symbol.asyncIterator]()
    const within = async <T>(promise: Promise<T>): Promise<T> => {
      let timer: NodeJS.Timeout | undefined
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no change hint within 30 s')), 30_000)
      })
      try {
        return await Promise.race([promise, bound])
      } finally {
        clearTimeout(timer)
      }
    }
    try {
      const first = iterator.next()
      await writer.push({ package: 'ev/hint', release: '1.0.0', blob: blobs[0]! })
      assert.is((await within(first)).value?.seq, 1)
      // The watch has read event 1 and pauses; event 2 is committed after that read.
      const second = iterator.next()
      await writer.push({ package: 'ev/hint', release: '1.0.1', blob: blobs[1]! })
      const event = (await within(second)).value
      assert.equal([event?.seq, event?.type === 'release.pushed' && event.release], [2, '1.0.1'])
    } finally {
      controller.abort()
      await iterator.return?.()
      await cleanup()
    }
  })

  const workers = backend.workers
  if (workers) {
    test('processes: the feed is exactly what three writer processes had acknowledged, per package and repository in commit order', async () => {
      const runs = Number(process.env.EVENTS_RUNS ?? 1)
      const base = Number(process.env.EVENTS_SEED ?? 0)
      for (let run = 0; run < runs; run++) await assertProcessesFeed(workers(), base + 1000 * run)
      if (process.env.EVENTS_RUNS) console.log(`events on ${backend.name}, processes: ${runs} runs, worker seeds base + 77, 154, 231 for base ${base} to ${base + 1000 * (runs - 1)} by 1000`)
    })
  }

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

retention('an event whose predecessor never comes waits 30 s, then is placed anyway', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const store = memoryStore()
  const registry = new Registry({ store, clock: () => new Date(now), events: true })
  await registry.push({ package: 'ev/h', release: '1.0.0', blob: blobs[0]! })
  assert.is((await registry.events.read()).events.length, 1)
  // The package's last stamp rewritten behind the registry's back: the next event names a predecessor that was never placed.
  const record = JSON.parse(new TextDecoder().decode((await store.get('pkg/ev/h'))!.value))
  await store.commit({ puts: [{ key: 'pkg/ev/h', value: new TextEncoder().encode(JSON.stringify({ ...record, ev: '000000000001000000' })) }] })
  await registry.push({ package: 'ev/h', release: '1.0.1', blob: blobs[1]! })
  await registry.push({ package: 'ev/other', release: '1.0.0', blob: blobs[1]! })
  // Other packages go on; this one waits.
  assert.equal(
    (await registry.events.read({ after: '1' })).events.map((e) => e.package),
    ['ev/other'],
  )
  now += 31_000
  assert.equal(
    (await registry.events.read({ after: '2' })).events.map((e) => (e.type === 'release.pushed' ? `${e.package} ${e.release}` : e.type)),
    ['ev/h 1.0.1'],
  )
})

retention('signature changes record events', async () => {
  const registry = new Registry({ store: memoryStore(), events: true })
  const manifest = await registry.push({ package: 'ev/sig', release: '1.0.0', format: 'helm', blob: blobs[0]! })
  const key = generateSigningKey('ed25519')
  const signature = signDigest(manifestDigest(await registry.show('ev/sig', { release: '1.0.0', format: 'helm' })), key.privateKey)
  await registry.signatures.add('ev/sig', '1.0.0', 'helm', [signature])
  assert.ok(await registry.signatures.remove('ev/sig', '1.0.0', 'helm', signature.keyid))
  // Removing what is not there changes nothing and records nothing.
  assert.not.ok(await registry.signatures.remove('ev/sig', '1.0.0', 'helm', signature.keyid))
  const events = (await registry.events.read()).events
  const common = { package: 'ev/sig', release: '1.0.0', format: 'helm', digest: manifest.content.digest }
  assert.equal(
    events.slice(1).map((e) => ({ ...e, cursor: undefined, seq: undefined, time: undefined })),
    [
      { ...common, type: 'signature.added', keyids: [signature.keyid], cursor: undefined, seq: undefined, time: undefined },
      { ...common, type: 'signature.removed', keyid: signature.keyid, cursor: undefined, seq: undefined, time: undefined },
    ],
  )
})

retention('registry.as(actor): the view records its actor, shares the feed, and closing it closes nothing', async () => {
  const store = memoryStore()
  const registry = new Registry({ store, events: true })
  const ci = registry.as('ci-bot')
  await ci.push({ package: 'ev/who', release: '1.0.0', blob: blobs[0]! })
  await registry.push({ package: 'ev/who', release: '1.0.1', blob: blobs[1]! })
  await ci.channels.add('ev/who', 'stable', '1.0.1')
  await ci.close()
  const events = (await registry.events.read()).events
  assert.equal(
    events.map((e) => [e.type, e.actor]),
    [
      ['release.pushed', 'ci-bot'],
      ['release.pushed', undefined],
      ['channel.added', 'ci-bot'],
    ],
  )
  assert.equal(await ci.events.read(), await registry.events.read())
  for (const bad of ['', 'x'.repeat(257), '\ud800']) {
    assert.throws(
      () => registry.as(bad),
      (e: unknown) => isApprError(e, 'invalid-parameters'),
    )
  }
})

retention('OCI manifest pushes and deletes record events, chained per repository apart from a package of the same name', async () => {
  const registry = new Registry({ store: memoryStore(), events: true }).as('oci-user')
  const repo = 'ev/oci'
  const upload = async (bytes: Uint8Array) => {
    const { id } = await registry.ociBlobs.startUpload(repo)
    return registry.ociBlobs.finishUpload(repo, id, ociDigestOf(bytes), (async function* () {
      yield bytes
    })())
  }
  await upload(EMPTY_JSON)
  const manifest = async (text: string) => {
    const layer = await upload(new TextEncoder().encode(text))
    const config = { mediaType: OCI_EMPTY, digest: ociDigestOf(EMPTY_JSON), size: 2 }
    return new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [{ mediaType: 'application/octet-stream', ...layer }] }))
  }
  const [one, two] = [await manifest('one'), await manifest('two')]
  await registry.ociManifests.put(repo, 'v1', one)
  // The appr package of the same name has its own chain: neither waits for the other.
  await registry.push({ package: repo, release: '1.0.0', blob: blobs[0]! })
  await registry.ociManifests.put(repo, 'v1', one) // nothing changes: no event
  await registry.ociManifests.put(repo, ociDigestOf(two), two)
  await registry.ociManifests.put(repo, 'v1', two) // the tag moves
  await registry.ociManifests.put(repo, 'v0', one)
  assert.ok(await registry.ociManifests.delete(repo, 'v0'))
  assert.ok(await registry.ociManifests.delete(repo, ociDigestOf(two)))
  const events = (await registry.events.read()).events
  const [d1, d2] = [ociDigestOf(one), ociDigestOf(two)]
  assert.equal(
    events.map(({ seq, cursor, time, ...e }) => e),
    [
      { type: 'oci.manifest.pushed', digest: d1, mediaType: OCI_MANIFEST, tag: 'v1', package: repo, actor: 'oci-user' },
      { type: 'release.pushed', release: '1.0.0', format: 'kpm', digest: (events[1] as { digest: string }).digest, package: repo, actor: 'oci-user' },
      { type: 'oci.manifest.pushed', digest: d2, mediaType: OCI_MANIFEST, package: repo, actor: 'oci-user' },
      { type: 'oci.manifest.pushed', digest: d2, mediaType: OCI_MANIFEST, tag: 'v1', replaced: d1, package: repo, actor: 'oci-user' },
      { type: 'oci.manifest.pushed', digest: d1, mediaType: OCI_MANIFEST, tag: 'v0', package: repo, actor: 'oci-user' },
      { type: 'oci.tag.deleted', tag: 'v0', digest: d1, package: repo, actor: 'oci-user' },
      { type: 'oci.manifest.deleted', digest: d2, tags: ['v1'], package: repo, actor: 'oci-user' },
    ],
  )
})

retention.after(async () => {
  await redis?.stop()
  await etcd?.stop()
})
retention.run()
