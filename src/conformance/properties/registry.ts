// Level B: appr semantics over the adapter. Random push / delete / channel sequences against
// RegistryModel with the invariants checked after every step, and concurrent operations from
// several Registry instances on one store whose end state must equal some serial order.
import fc from 'fast-check'
import { isApprError } from '../../errors/index.js'
import { parseFormat } from '../../model/media-type.js'
import { sortReleasesDesc } from '../../model/release.js'
import type { Manifest } from '../../model/types.js'
import { Registry } from '../../registry/registry.js'
import type { KvStore } from '../../storage/kv.js'
import { sameBytes } from '../arbitraries.js'
import { type Ctx, type Group, within } from '../harness.js'
import { applyRegistryOp, type Outcome, outcomeOf, RegistryModel, type RegistryOp, renderState, showOp, withShow } from '../registry-model.js'
import { type Tarball, tarball } from '../tarball.js'

const pkgs = ['acme/app', 'zeta/app']
// 1.10.0 > 1.2.0 by SemVer but not as text; the pre-release sorts below 2.0.0 yet above 1.x.
const releases = ['1.2.0', '1.10.0', '2.0.0-rc.1']
const formats = ['helm', 'kpm']
const channels = ['stable', 'beta']
const blobs: Tarball[] = [0, 1, 2].map((i) => tarball(`chart${i}/Chart.yaml`, `name: chart${i}\nversion: 0.${i}.0\n`))
const digests = blobs.map((b) => b.digest)

const opArb: fc.Arbitrary<RegistryOp> = fc
  .oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('push' as const), pkg: fc.constantFrom(...pkgs), release: fc.constantFrom(...releases), format: fc.constantFrom(...formats), blob: fc.nat({ max: blobs.length - 1 }), force: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), pkg: fc.constantFrom(...pkgs), release: fc.constantFrom(...releases), format: fc.constantFrom(...formats) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('channel-add' as const), pkg: fc.constantFrom(...pkgs), channel: fc.constantFrom(...channels), release: fc.constantFrom(...releases) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('channel-remove' as const), pkg: fc.constantFrom(...pkgs), channel: fc.constantFrom(...channels), release: fc.constantFrom(...releases) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('channel-delete' as const), pkg: fc.constantFrom(...pkgs), channel: fc.constantFrom(...channels) }) },
  )
  .map(withShow)

/** A dense starting point: some subset of every (package, release, format), pushed first. */
const initialPushes: fc.Arbitrary<RegistryOp[]> = fc.subarray(
  pkgs.flatMap((pkg) => releases.flatMap((release) => formats.map((format) => ({ pkg, release, format })))),
  { minLength: 2 },
).chain((targets) =>
  fc.tuple(...targets.map((t) => fc.nat({ max: blobs.length - 1 }).map((blob) => withShow({ op: 'push', ...t, blob, force: false })))),
)

const opSequence = fc.tuple(initialPushes, fc.array(opArb, { minLength: 1, maxLength: 30, size: 'max' })).map(([a, b]) => [...a, ...b])

/** Runs one operation through the public API and classifies what happened. */
export async function perform(registry: Registry, o: RegistryOp): Promise<Outcome> {
  try {
    await applyRegistryOp(registry, o, (i) => blobs[i]!.gzip)
    return 'ok'
  } catch (e) {
    return outcomeOf(e)
  }
}

async function bytesOf(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of stream) parts.push(part)
  return new Uint8Array(Buffer.concat(parts))
}

/**
 * Reads the whole registry through its public API, checking the invariants on the way: a
 * package is listed iff it has a release; listings are newest first; each channel's current is
 * one of its releases, all of which exist; each manifest's blob is served, byte-exact.
 */
async function readState(registry: Registry): Promise<string> {
  const listed = (await registry.list({ limit: 1000 })).packages
  const problems: string[] = []
  const out: { name: string; manifests: string[]; channels: string[] }[] = []
  for (const pkg of pkgs) {
    const summary = listed.find((p) => p.name === pkg)
    let manifests: Manifest[]
    try {
      manifests = await registry.releases(pkg)
    } catch (e) {
      if (!isApprError(e, 'package-not-found')) throw e
      if (summary) problems.push(`${pkg} is listed but releases() says package-not-found`)
      continue
    }
    if (manifests.length === 0) problems.push(`${pkg} exists without any release`)
    if (!summary) problems.push(`${pkg} has releases but is not listed`)
    const rels = [...new Set(manifests.map((m) => m.release))]
    if (summary && summary.releases.join(',') !== sortReleasesDesc(rels).join(',')) {
      problems.push(`${pkg} lists releases [${summary.releases.join(',')}], expected newest first [${sortReleasesDesc(rels).join(',')}]`)
    }
    if (summary && summary.default !== sortReleasesDesc(rels)[0]) problems.push(`${pkg} default is ${summary.default}, not the highest release`)
    const chans = await registry.channels.list(pkg)
    for (const c of chans) {
      if (!c.releases.includes(c.current)) problems.push(`${pkg} channel ${c.name}: current ${c.current} is not one of its releases`)
      for (const r of c.releases) if (!rels.includes(r)) problems.push(`${pkg} channel ${c.name} names release ${r}, which does not exist`)
    }
    for (const m of manifests) {
      const index = digests.indexOf(m.content.digest)
      if (index < 0) {
        problems.push(`${pkg}@${m.release} names unknown digest ${m.content.digest}`)
        continue
      }
      try {
        const blob = await registry.blob(pkg, m.content.digest)
        if (!sameBytes(await bytesOf(blob.stream), blobs[index]!.gzip)) problems.push(`${pkg} blob ${m.content.digest.slice(0, 12)} is served with other bytes`)
      } catch (e) {
        problems.push(`${pkg}@${m.release}: its blob ${m.content.digest.slice(0, 12)} is not served (${isApprError(e) ? e.code : String(e)})`)
      }
    }
    out.push({
      name: pkg,
      manifests: manifests.map((m) => `${m.release}/${parseFormat(m.mediaType)}=${m.content.digest.slice(0, 12)}`),
      channels: chans.map((c) => `${c.name}(${c.current})[${sortReleasesDesc(c.releases).join(',')}]`),
    })
  }
  if (problems.length) throw new Error(`invariant broken:\n    ${problems.join('\n    ')}`)
  return renderState(out)
}

async function allKeys(store: KvStore): Promise<string[]> {
  return (await store.list({ prefix: '', limit: 100_000 })).map((e) => e.key)
}

/** Deletes every manifest the model holds, collects garbage, and checks nothing is left behind. */
async function teardown(registry: Registry, store: KvStore, model: RegistryModel, before: readonly string[]): Promise<void> {
  for (const m of model.manifests()) await registry.delete(m.pkg, m.release, m.format)
  await registry.gc()
  const left = (await allKeys(store)).filter((k) => !before.includes(k))
  if (left.length) throw new Error(`after deleting every release, ${left.length} keys remain (orphans or wrong reference counts): ${left.slice(0, 8).join(', ')}`)
}

/** A store whose every call first waits for the scheduler (so calls of different registries interleave in any order). */
function scheduled(store: KvStore, s: fc.Scheduler, who: string): KvStore {
  const gate = (label: string) => s.schedule(Promise.resolve(), `${who} ${label}`)
  return {
    name: store.name,
    capabilities: store.capabilities,
    get: (k) => gate(`get ${k}`).then(() => store.get(k)),
    getMany: (ks) => gate(`getMany ${ks.length}`).then(() => store.getMany(ks)),
    list: (o) => gate(`list ${o.prefix}`).then(() => store.list(o)),
    commit: (c) => gate('commit').then(() => store.commit(c)),
    close: async () => {},
  }
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items]
    return
  }
  for (let i = 0; i < items.length; i++) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i]!, ...rest]
  }
}

/** A Registry over `store` that leaves closing the store to the suite. */
export function registryOn(store: KvStore): Registry {
  return new Registry({ store, ownsStore: false })
}

/**
 * Applies `setup` serially, then runs `racing` at once, each operation on its own Registry (and
 * its own store instance when the adapter allows several) with every store call released by the
 * scheduler. The outcomes and the final state must be those of some serial order.
 */
async function race(ctx: Ctx, store: KvStore, setup: readonly RegistryOp[], racing: readonly RegistryOp[], s: fc.Scheduler): Promise<void> {
  const model = new RegistryModel(digests)
  const base = registryOn(store)
  for (const o of setup) if ((await perform(base, o)) !== model.apply(o)) throw new Error(`setup ${showOp(o)} disagrees with the model`)
  const multi = ctx.capabilities.multiProcess
  const instances = await Promise.all(racing.map(async (_, i) => scheduled(multi ? await ctx.attach(store) : store, s, `#${i}`)))
  const outcomes = await s.waitFor(Promise.all(racing.map(async (o, i) => perform(registryOn(instances[i]!), o))))
  const bad = outcomes.find((o) => o.startsWith('unexpected'))
  if (bad) throw new Error(`an operation failed with ${bad}: ${racing.map((o, i) => `${showOp(o)} → ${outcomes[i]}`).join('; ')}`)
  const state = await readState(base)
  const candidates = racing.map((o, i) => ({ o, got: outcomes[i]! })).filter((x) => x.got !== 'no-effect')
  for (const order of permutations(candidates)) {
    const m = model.clone()
    if (order.every(({ o, got }) => m.apply(o) === got) && m.render() === state) return
  }
  throw new Error(
    `no serial order explains the outcome:\n    ${racing.map((o, i) => `${showOp(o)} → ${outcomes[i]}`).join('\n    ')}\n  final state\n${state}\n  schedule: ${s
      .report()
      .map((t) => t.label)
      .join(', ')}`,
  )
}

const push = (pkg: string, release: string, format: string, blob: number): RegistryOp => withShow({ op: 'push', pkg, release, format, blob, force: false })
const del = (pkg: string, release: string, format: string): RegistryOp => withShow({ op: 'delete', pkg, release, format })
const chanAdd = (pkg: string, channel: string, release: string): RegistryOp => withShow({ op: 'channel-add', pkg, channel, release })
const chanRemove = (pkg: string, channel: string, release: string): RegistryOp => withShow({ op: 'channel-remove', pkg, channel, release })

/** `[setup, racing]` scenarios seeded from appr's bugs and from races our own suite has found. */
const races: [RegistryOp[], RegistryOp[]][] = [
  // The same manifest deleted twice at once, its blob's last reference going. Found by
  // registry/interleavings (deep profile): one delete answered internal-error "a manifest names a
  // blob that has no record", because transact() rethrew an error raised on reads that another
  // commit had already made stale instead of retrying.
  [[push('zeta/app', '2.0.0-rc.1', 'kpm', 1), push('zeta/app', '2.0.0-rc.1', 'helm', 0)], [del('zeta/app', '2.0.0-rc.1', 'kpm'), del('zeta/app', '2.0.0-rc.1', 'kpm')]],
  // appr reads the release list before locking: channel add ∥ delete of that release.
  [[push('acme/app', '1.2.0', 'helm', 0), push('acme/app', '1.10.0', 'helm', 1)], [chanAdd('acme/app', 'stable', '1.2.0'), del('acme/app', '1.2.0', 'helm')]],
  // appr's releases.json read-modify-write: two pushes of different releases of one package.
  [[], [push('acme/app', '1.2.0', 'helm', 0), push('acme/app', '1.10.0', 'helm', 1), push('acme/app', '1.2.0', 'kpm', 2)]],
  // Deleting the last release ∥ pushing a new one: no resurrection, no orphan.
  [[push('acme/app', '1.2.0', 'helm', 0), chanAdd('acme/app', 'stable', '1.2.0')], [del('acme/app', '1.2.0', 'helm'), push('acme/app', '1.10.0', 'helm', 0)]],
  // First pushes into an empty registry (appr's packages.json initialisation race).
  [[], [push('acme/app', '1.2.0', 'helm', 0), push('zeta/app', '1.2.0', 'helm', 0)]],
  // A blob shared by two packages: deleting one reference ∥ pushing another (GC safety).
  [[push('acme/app', '1.2.0', 'helm', 2)], [del('acme/app', '1.2.0', 'helm'), push('zeta/app', '1.2.0', 'helm', 2), push('acme/app', '1.10.0', 'kpm', 2)]],
  // Channel removal ∥ the release's deletion ∥ a channel add.
  [[push('acme/app', '1.2.0', 'helm', 0), push('acme/app', '1.10.0', 'helm', 1), chanAdd('acme/app', 'beta', '1.2.0'), chanAdd('acme/app', 'beta', '1.10.0')], [chanRemove('acme/app', 'beta', '1.10.0'), del('acme/app', '1.10.0', 'helm'), chanAdd('acme/app', 'beta', '1.2.0')]],
]

export const registry: Group = {
  name: 'registry',
  properties: [
    {
      id: 'registry/commands',
      title: 'push / delete / channel sequences (and reopens) match the appr model, invariants hold after every step, and deleting everything leaves no key behind',
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(opSequence, fc.uniqueArray(fc.nat({ max: 40 }), { maxLength: ctx.capabilities.persistent ? 3 : 0 }), (ops, reopenAfter) =>
            ctx.withStore(async (first) => {
              let store = first
              let reg = registryOn(store)
              const before = await allKeys(store)
              const model = new RegistryModel(digests)
              for (const [i, o] of ops.entries()) {
                const want = model.apply(o)
                const got = await perform(reg, o)
                if (got !== want) throw new Error(`step ${i + 1} ${showOp(o)}: outcome ${got}, the model says ${want}`)
                if (reopenAfter.includes(i)) {
                  // Persistent stores: the registry's state must survive closing and reopening the store.
                  store = await ctx.reopen(store)
                  reg = registryOn(store)
                }
                const state = await readState(reg).catch((e: Error) => {
                  throw new Error(`after step ${i + 1} ${showOp(o)}: ${e.message}`)
                })
                if (state !== model.render()) throw new Error(`after step ${i + 1} ${showOp(o)} the registry holds\n${state}\n  the model holds\n${model.render()}`)
              }
              await teardown(reg, store, model, before)
            }),
          ),
          40,
        )
      },
    },
    {
      id: 'registry/sigkill',
      title: 'a child process running registry operations is SIGKILLed: after reopening, the invariants hold and the state is that of a prefix including every acknowledged operation',
      needs: ['persistent', 'worker', 'newLocation'],
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(opSequence, fc.nat(), async (ops, k) => {
            const location = await ctx.freshLocation()
            const worker = ctx.spawn(location, 'registry-ops', { ops: ops.map((o) => ({ ...o })) })
            await within(worker.next('opened'), 30_000, 'worker opening the store')
            const target = k % ops.length
            let last = -1
            const outcomes: Outcome[] = []
            while (last < target) {
              const ack = await within(worker.next<{ i: number; outcome: Outcome }>('ack'), 30_000, 'worker acknowledgement')
              last = ack.i
              outcomes.push(ack.outcome)
            }
            worker.kill('SIGKILL')
            await within(worker.exited, 30_000, 'killed worker exit')
            const store = await ctx.openAt(location)
            const state = await readState(registryOn(store)).catch((e: Error) => {
              throw new Error(`after SIGKILL following step ${last + 1} ${showOp(ops[last]!)}: ${e.message}`)
            })
            const model = new RegistryModel(digests)
            for (const [i, o] of ops.slice(0, last + 1).entries()) {
              if (model.apply(o) !== outcomes[i]) throw new Error(`step ${i + 1} ${showOp(o)} answered ${outcomes[i]} in the child, the model says otherwise`)
            }
            // The child may have finished more operations between the acknowledgement and the kill.
            for (let j = last + 1; j <= ops.length; j++) {
              if (model.render() === state) return
              if (j < ops.length) model.apply(ops[j]!)
            }
            throw new Error(`after SIGKILL following step ${last + 1} ${showOp(ops[last]!)}, the state matches no prefix of the operations:\n${state}`)
          }),
          3,
        )
      },
    },
    {
      id: 'registry/races',
      title: "appr's known races (delete ∥ delete, channel add ∥ release delete, last delete ∥ push, shared blob ∥ delete …) under scheduled interleavings end in some serial order",
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(fc.constantFrom(...races), fc.scheduler(), ([setup, racing], s) => ctx.withStore((store) => race(ctx, store, setup, racing, s))),
          60,
        )
      },
    },
    {
      id: 'registry/interleavings',
      title: 'concurrent operations from several Registry instances on one store end in the state of some serial order of them',
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(opSequence, fc.array(opArb, { minLength: 2, maxLength: 4 }), fc.scheduler(), (setup, racing, s) =>
            ctx.withStore((store) => race(ctx, store, setup, racing, s)),
          ),
          40,
        )
      },
    },
  ],
}
