// Model-based property: random sequences of pushes, deletes and channel operations give the same
// observable state and errors as a plain in-memory model, and the store's bookkeeping (reference
// counts, object markers, blob bytes) stays exact after every sequence.
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, kvBlobStore, listAll, Registry, sortReleasesDesc } from 'appr-core'
import type { KvStore } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { applyRegistryOp, type RegistryOp } from 'appr-core/conformance'
import { tgz } from './helpers.js'

const PACKAGES = ['a/x', 'b/x']
const RELEASES = ['1.0.0', '1.1.0', '2.0.0-rc.1', '2.0.0']
const FORMATS = ['helm', 'kpm']
const CHANNELS = ['stable', 'beta']
const BLOBS = await Promise.all([0, 1, 2].map((i) => tgz({ [`chart/file${i}.yaml`]: `content ${i}` })))

/** The conformance suite's operations; `pick` retargets one at an existing release (see target). */
type Op = RegistryOp & { pick?: number | undefined }

/** With `pick`, the op targets an existing `(package, release, format)` chosen by index (random ops mostly miss). */
function target(model: Map<string, ModelPackage>, o: Op): Op {
  if (!('pick' in o) || o.pick === undefined) return o
  const existing = [...model].flatMap(([pkg, p]) => [...p.releases].flatMap(([release, formats]) => [...formats.keys()].map((format) => ({ pkg, release, format }))))
  if (existing.length === 0) return o
  const chosen = existing[o.pick % existing.length]!
  if (o.op === 'delete') return { ...o, ...chosen }
  if (o.op === 'channel-add' || o.op === 'channel-remove') return { ...o, pkg: chosen.pkg, release: chosen.release }
  return o
}

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('push' as const), pkg: fc.constantFrom(...PACKAGES), release: fc.constantFrom(...RELEASES), format: fc.constantFrom(...FORMATS), blob: fc.nat(2), force: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), pkg: fc.constantFrom(...PACKAGES), release: fc.constantFrom(...RELEASES), format: fc.constantFrom(...FORMATS), pick: fc.option(fc.nat(50), { nil: undefined }) }, { requiredKeys: ['op', 'pkg', 'release', 'format'] }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('channel-add' as const, 'channel-remove' as const), pkg: fc.constantFrom(...PACKAGES), channel: fc.constantFrom(...CHANNELS), release: fc.constantFrom(...RELEASES), pick: fc.option(fc.nat(50), { nil: undefined }) }, { requiredKeys: ['op', 'pkg', 'channel', 'release'] }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('channel-delete' as const), pkg: fc.constantFrom(...PACKAGES), channel: fc.constantFrom(...CHANNELS) }) },
)

interface ModelPackage {
  releases: Map<string, Map<string, number>>
  channels: Map<string, Set<string>>
  currents: Map<string, string>
}

/** Applies `o` to the model; returns the error code the registry must answer, or undefined. */
function apply(model: Map<string, ModelPackage>, o: Op): string | undefined {
  const pkg = model.get(o.pkg)
  const dropRelease = (p: ModelPackage, release: string) => {
    for (const [name, members] of p.channels) {
      if (!members.delete(release)) continue
      if (members.size === 0) {
        p.channels.delete(name)
        p.currents.delete(name)
      } else p.currents.set(name, sortReleasesDesc(members)[0]!)
    }
  }
  switch (o.op) {
    case 'push': {
      if (pkg?.releases.get(o.release)?.has(o.format) && !o.force) return 'package-exists'
      const p = pkg ?? { releases: new Map(), channels: new Map(), currents: new Map() }
      model.set(o.pkg, p)
      const formats = p.releases.get(o.release) ?? new Map()
      p.releases.set(o.release, formats)
      formats.set(o.format, o.blob)
      return undefined
    }
    case 'delete': {
      if (!pkg?.releases.get(o.release)?.has(o.format)) return 'package-not-found'
      const formats = pkg.releases.get(o.release)!
      formats.delete(o.format)
      if (formats.size === 0) {
        pkg.releases.delete(o.release)
        dropRelease(pkg, o.release)
      }
      if (pkg.releases.size === 0) model.delete(o.pkg)
      return undefined
    }
    case 'channel-add': {
      if (!pkg) return 'package-not-found'
      if (!pkg.releases.has(o.release)) return 'package-release-not-found'
      const members = pkg.channels.get(o.channel) ?? new Set()
      pkg.channels.set(o.channel, members.add(o.release))
      pkg.currents.set(o.channel, o.release)
      return undefined
    }
    case 'channel-remove': {
      if (!pkg) return 'package-not-found'
      const members = pkg.channels.get(o.channel)
      if (!members) return 'channel-not-found'
      if (!pkg.releases.has(o.release)) return 'package-not-found'
      members.delete(o.release)
      if (members.size === 0) {
        pkg.channels.delete(o.channel)
        pkg.currents.delete(o.channel)
      } else pkg.currents.set(o.channel, sortReleasesDesc(members)[0]!)
      return undefined
    }
    case 'channel-delete': {
      if (!pkg) return 'package-not-found'
      if (!pkg.channels.has(o.channel)) return 'channel-not-found'
      pkg.channels.delete(o.channel)
      pkg.currents.delete(o.channel)
      return undefined
    }
  }
}

async function run(registry: Registry, o: Op): Promise<string | undefined> {
  try {
    await applyRegistryOp(registry, o, (i) => BLOBS[i]!)
    return undefined
  } catch (e) {
    if (isApprError(e)) return e.code
    throw e
  }
}

const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes))

async function checkState(registry: Registry, store: KvStore, model: Map<string, ModelPackage>, digests: string[]) {
  const listed = (await registry.list()).packages
  assert.equal(listed.map((p) => p.name), [...model.keys()].sort())
  for (const [name, p] of model) {
    const manifests = await registry.releases(name)
    const expected = [...p.releases].flatMap(([release, formats]) => [...formats].map(([format, blob]) => `${release} ${format} ${digests[blob]}`))
    assert.equal(manifests.map((m) => `${m.release} ${m.mediaType.split('.')[3]} ${m.content.digest}`).sort(), expected.sort())
    const channels = await registry.channels.list(name)
    assert.equal(
      channels,
      [...p.channels.keys()].sort().map((c) => ({ name: c, current: p.currents.get(c)!, releases: sortReleasesDesc(p.channels.get(c)!) })),
    )
  }
  // Bookkeeping: refs equal the manifests naming each digest, per package and overall; one live
  // marker per blob record; the blob store holds exactly the recorded objects.
  const refs = new Map<string, number>()
  const packageRefs = new Map<string, number>()
  for await (const e of listAll(store, 'man/')) {
    const m = decode(e.value)
    refs.set(m.content.digest, (refs.get(m.content.digest) ?? 0) + 1)
    const k = `${m.package}/${m.content.digest}`
    packageRefs.set(k, (packageRefs.get(k) ?? 0) + 1)
  }
  const objects = new Set<string>()
  for await (const e of listAll(store, 'blob/')) {
    const b = decode(e.value)
    assert.is(b.refs, refs.get(b.digest), `refs of ${b.digest}`)
    objects.add(b.object)
  }
  assert.is(objects.size, refs.size)
  for await (const e of listAll(store, 'pblob/')) assert.is(decode(e.value).refs, packageRefs.get(e.key.slice('pblob/'.length)), e.key)
  assert.is((await store.list({ prefix: 'pblob/' })).length, packageRefs.size)
  for await (const e of listAll(store, 'obj/')) {
    const marker = decode(e.value)
    assert.is(marker.state, 'live', e.key)
    assert.ok(objects.has(e.key.slice('obj/'.length)), e.key)
  }
  const ids: string[] = []
  for await (const id of kvBlobStore(store).ids()) ids.push(id)
  assert.equal(ids.sort(), [...objects].sort())
}

test('random operation sequences match the model and keep bookkeeping exact', async () => {
  const digests: string[] = []
  {
    const r = new Registry({ store: memoryStore() })
    for (const [i, blob] of BLOBS.entries()) digests.push((await r.push({ package: 'd/d', release: `${i}.0.0`, blob })).content.digest)
  }
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60, size: 'max' }), async (ops) => {
      const store = memoryStore()
      const registry = new Registry({ store })
      const model = new Map<string, ModelPackage>()
      for (const generated of ops) {
        const o = target(model, generated)
        const expected = apply(model, o)
        assert.is(await run(registry, o), expected, JSON.stringify(o))
      }
      await checkState(registry, store, model, digests)
    }),
    { numRuns: Number(process.env.FC_RUNS ?? 60) },
  )
})

test.run()
