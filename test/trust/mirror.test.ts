import { setTimeout as delay } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { type MirrorEvent, type MirrorReport, generateSigningKey, manifestDigest, mirror, signDigest } from 'appr-core/trust'
import { chart, start } from '../http/helpers.js'
import { type TamperingProxy, backupWithoutTimestamps, flip, sortedBackup, sourceRegistry, tamperingProxy } from './helpers.js'

const source = await sourceRegistry()
const proxy = await tamperingProxy(source.url)
test.after(async () => {
  await proxy.close()
  await source.close()
})

const fresh = () => new Registry({ store: memoryStore() })
const blobPaths = (p: TamperingProxy) => p.requests.filter((r) => r.includes('/blobs/sha256/'))

async function digestOf(registry: Registry, pkg: string, release: string, format: string): Promise<string> {
  return manifestDigest(await registry.show(pkg, { release, format }))
}

/** The one release the source holds at (pkg, release, format). */
async function sourceManifest(pkg: string, release: string, format: string) {
  return source.registry.show(pkg, { release, format })
}

test('a full copy: every release and format, metadata, timestamps and channels; the destination backs up equal to the source', async () => {
  proxy.tamper = undefined
  const destination = fresh()
  const events: MirrorEvent[] = []
  const report = await mirror({ source: proxy.url, destination, onProgress: (e) => events.push(e) })
  assert.ok(report.ok, JSON.stringify(report.failures))
  assert.equal(report.packages, { total: 3, failed: 0 })
  assert.equal(report.releases, { copied: 6, skipped: 0, failed: 0 })
  assert.equal(report.channels, { copied: 4, skipped: 0, failed: 0 })
  assert.is(report.source, `${proxy.url}/cnr/api/v1`)
  const sourceBytes = (await source.registry.backup()).packages.reduce((n, p) => n + p.content.size, 0)
  assert.is(report.bytes, sourceBytes)
  assert.equal(await sortedBackup(destination), await sortedBackup(source.registry))
  assert.is(await digestOf(destination, 'acme/alpha', '1.1.0', 'kpm'), await digestOf(source.registry, 'acme/alpha', '1.1.0', 'kpm'))
  assert.equal(await destination.channels.show('acme/alpha', 'stable'), await source.registry.channels.show('acme/alpha', 'stable'))
  // Progress: a packages event first, one event per release and channel, each package done after its channels.
  assert.equal(events[0], { type: 'packages', total: 3 })
  assert.is(events.filter((e) => e.type === 'release' && e.outcome === 'copied').length, 6)
  const alphaDone = events.findIndex((e) => e.type === 'package' && e.package === 'acme/alpha')
  const alphaChannels = events.map((e, i) => (e.type === 'channel' && e.package === 'acme/alpha' ? i : -1)).filter((i) => i >= 0)
  const alphaReleases = events.map((e, i) => (e.type === 'release' && e.package === 'acme/alpha' ? i : -1)).filter((i) => i >= 0)
  assert.ok(Math.max(...alphaReleases) < Math.min(...alphaChannels), 'channels after their releases')
  assert.ok(Math.max(...alphaChannels) < alphaDone)
  assert.equal(JSON.parse(JSON.stringify(report)), report, 'the report is JSON')
})

test('a second run transfers nothing: every release and channel skipped, no blob requested', async () => {
  proxy.tamper = undefined
  const destination = fresh()
  await mirror({ source: proxy.url, destination })
  const before = blobPaths(proxy).length
  const report = await mirror({ source: proxy.url, destination })
  assert.ok(report.ok)
  assert.equal(report.releases, { copied: 0, skipped: 6, failed: 0 })
  assert.equal(report.channels, { copied: 0, skipped: 4, failed: 0 })
  assert.is(report.bytes, 0)
  assert.is(blobPaths(proxy).length, before)
})

test('globs select packages: acme/* copies acme only; ** crosses the slash; ? is one character', async () => {
  proxy.tamper = undefined
  const destination = fresh()
  const report = await mirror({ source: proxy.url, destination, packages: 'ACME/*' })
  assert.is(report.packages.total, 2)
  assert.equal((await destination.list()).packages.map((p) => p.name).sort(), ['acme/alpha', 'acme/beta'])
  assert.is((await mirror({ source: proxy.url, destination: fresh(), packages: ['**a'] })).packages.total, 3)
  assert.is((await mirror({ source: proxy.url, destination: fresh(), packages: ['other/gamm?', 'acme/alph'] })).packages.total, 1)
})

/** Sets the announced manifest digest to the one of the (edited) manifest, or drops it when there is none. */
function rehashed(m: object): void {
  const wire = m as { manifest_digest?: string }
  try {
    wire.manifest_digest = manifestDigest(m as never)
  } catch {
    delete wire.manifest_digest
  }
}

/** Runs a mirror through the proxy with `tamper`, and returns the report and destination. */
async function tampered(tamper: TamperingProxy['tamper']): Promise<{ report: MirrorReport; destination: Registry }> {
  proxy.tamper = tamper
  try {
    const destination = fresh()
    const report = await mirror({ source: proxy.url, destination })
    return { report, destination }
  } finally {
    proxy.tamper = undefined
  }
}

async function holds(registry: Registry, pkg: string, release: string, format: string): Promise<boolean> {
  return (await registry.manifests(pkg, release).catch(() => [])).some((m) => m.mediaType.includes(`.${format}.`))
}

test('tampering: a flipped byte in a blob is detected; nothing of that release is stored; the rest is copied', async () => {
  const target = await sourceManifest('acme/beta', '2.0.0-rc.1', 'helm')
  for (const index of [20, -3, -1]) {
    const { report, destination } = await tampered(({ path, body }) => (path.endsWith(`/blobs/sha256/${target.content.digest}`) ? flip(body, index) : undefined))
    assert.not.ok(report.ok)
    assert.is(report.failures.length, 2, JSON.stringify(report.failures))
    const [release, channel] = report.failures
    assert.is(release!.package, 'acme/beta')
    assert.is(release!.release, '2.0.0-rc.1')
    assert.ok(['invalid-blob', 'blob-digest-mismatch'].includes(release!.reason), release!.reason)
    // Its channel cannot be copied without it.
    assert.equal({ ...channel, message: undefined }, { package: 'acme/beta', channel: 'next', reason: 'channel-incomplete', message: undefined })
    assert.not.ok(await holds(destination, 'acme/beta', '2.0.0-rc.1', 'helm'))
    assert.ok(await holds(destination, 'acme/beta', '1.9.0', 'helm'))
    assert.equal(report.releases, { copied: 5, skipped: 0, failed: 1 })
  }
})

test('tampering: a manifest whose size, digest, package, release or format was altered is refused', async () => {
  const target = await sourceManifest('acme/alpha', '1.1.0', 'kpm')
  interface Wire {
    package: string
    release: string
    mediaType: string
    metadata: unknown
    content: { mediaType: string; size: number; digest: string } | string
    manifest_digest?: string
  }
  const content = (m: Wire) => m.content as { mediaType: string; size: number; digest: string }
  // A careful attacker also rewrites the digest the source announces; a careless one does not.
  const edit = (change: (m: Wire) => void, rehash = true) => ({ path, body }: { path: string; body: Buffer }) => {
    if (!/\/packages\/acme\/alpha$/.test(path)) return undefined
    const list = JSON.parse(body.toString()) as Wire[]
    for (const m of list) {
      if (m.release !== '1.1.0' || !m.mediaType.includes('.kpm.')) continue
      change(m)
      if (rehash) rehashed(m)
    }
    return Buffer.from(JSON.stringify(list))
  }
  const otherHex = (digest: string) => `${digest.slice(0, 10)}${digest[10] === 'a' ? 'b' : 'a'}${digest.slice(11)}`
  const cases: [string, (m: Wire) => void, string, boolean?][] = [
    ['size', (m) => { content(m).size += 1 }, 'blob-size-mismatch'],
    ['size (smaller)', (m) => { content(m).size -= 1 }, 'blob-size-mismatch'],
    ['digest (a byte flipped)', (m) => { content(m).digest = otherHex(content(m).digest) }, 'source-error'],
    ['package', (m) => { m.package = 'acme/beta' }, 'invalid-manifest'],
    ['release', (m) => { m.release = 'v1.1.0' }, 'invalid-manifest'],
    ['format', (m) => { content(m).mediaType = 'application/vnd.appr.package.helm.v0.tar+gzip' }, 'invalid-manifest'],
    ['metadata (not I-JSON)', (m) => { m.metadata = { s: '\ud800' } }, 'invalid-manifest'],
    ['shape', (m) => { m.content = 'x' }, 'invalid-manifest'],
    ['metadata, announced digest left as it was', (m) => { m.metadata = { note: 'changed' } }, 'manifest-digest-mismatch', false],
    ['size, announced digest left as it was', (m) => { content(m).size += 1 }, 'manifest-digest-mismatch', false],
  ]
  for (const [what, change, reason, rehash] of cases) {
    const { report, destination } = await tampered(edit(change, rehash))
    const failure = report.failures.find((f) => f.package === 'acme/alpha' && f.channel === undefined)
    assert.ok(failure, `${what}: detected`)
    assert.is(failure.reason, reason, what)
    assert.not.ok(await holds(destination, 'acme/alpha', '1.1.0', 'kpm'), `${what}: nothing stored`)
    assert.is(report.releases.failed, 1, what)
    // The other format of the same release is fine, but the channels naming 1.1.0 wait for all of it
    // (unless the release was rewritten beyond recognition: then that manifest is not one of 1.1.0).
    assert.ok(await holds(destination, 'acme/alpha', '1.1.0', 'helm'), what)
    const blocked = report.failures.filter((f) => f.channel !== undefined).map((f) => f.channel).sort()
    assert.equal(blocked, what === 'release' ? [] : ['beta', 'stable'], what)
  }
  assert.ok(target.content.size > 0)
})

test("tampering: a release served under another's digest (its blob swapped for another valid one) is detected", async () => {
  const victim = await sourceManifest('acme/alpha', '1.0.0', 'helm')
  const other = await sourceManifest('acme/alpha', '1.1.0', 'helm')
  const otherBytes = Buffer.from(await (await fetch(`${source.url}/cnr/api/v1/packages/acme/alpha/blobs/sha256/${other.content.digest}`)).arrayBuffer())
  // Same size or not, the digest tells them apart; make the swap the same length to pass the size check.
  const { report, destination } = await tampered(({ path }) => (path.endsWith(`/blobs/sha256/${victim.content.digest}`) ? otherBytes : undefined))
  const failure = report.failures.find((f) => f.release === '1.0.0')
  assert.ok(failure)
  assert.ok(['blob-digest-mismatch', 'blob-size-mismatch'].includes(failure.reason), failure.reason)
  assert.not.ok(await holds(destination, 'acme/alpha', '1.0.0', 'helm'))

  // And the same swap with the manifest's size rewritten to match: only the digest can tell.
  proxy.tamper = ({ path, body }) => {
    if (path.endsWith(`/blobs/sha256/${victim.content.digest}`)) return otherBytes
    if (!/\/packages\/acme\/alpha$/.test(path)) return undefined
    const list = JSON.parse(body.toString()) as { release: string; mediaType: string; content: { size: number } }[]
    for (const m of list) {
      if (m.release !== '1.0.0') continue
      m.content.size = otherBytes.length
      rehashed(m)
    }
    return Buffer.from(JSON.stringify(list))
  }
  try {
    const destination2 = fresh()
    const report2 = await mirror({ source: proxy.url, destination: destination2 })
    assert.is(report2.failures.find((f) => f.release === '1.0.0')?.reason, 'blob-digest-mismatch')
    assert.not.ok(await holds(destination2, 'acme/alpha', '1.0.0', 'helm'))
  } finally {
    proxy.tamper = undefined
  }
})

test('a source answering garbage for a list fails that package (or the run) with a report, never a throw', async () => {
  const bad = await tampered(({ path }) => (/\/packages\/other\/gamma$/.test(path) ? Buffer.from('{"not":"a list"}') : undefined))
  assert.equal(bad.report.failures.map((f) => [f.package, f.reason]), [['other/gamma', 'invalid-answer']])
  assert.is(bad.report.packages.failed, 1)
  const none = await tampered(({ path }) => (/\/packages$/.test(path) ? Buffer.from('<html>') : undefined))
  assert.not.ok(none.report.ok)
  assert.equal(none.report.failures.map((f) => f.reason), ['source-error'])
  const unreachable = await mirror({ source: 'http://127.0.0.1:9', destination: fresh(), timeoutMs: 2000 })
  assert.equal(unreachable.failures.map((f) => f.reason), ['source-error'])
})

test('a source that stalls mid-body ends that release with a timeout, even with a caller signal and the garbage collector running', async () => {
  const target = await sourceManifest('acme/beta', '1.9.0', 'helm')
  // Node 20 holds the sources of AbortSignal.any weakly: a deadline nothing else holds can be
  // collected before it fires. Collecting all the time makes that happen, if it can.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const collecting = setInterval(gc, 20)
  proxy.stall = ({ path }) => (path.endsWith(`/blobs/sha256/${target.content.digest}`) ? 100 : undefined)
  try {
    const caller = new AbortController()
    const run = mirror({ source: proxy.url, destination: fresh(), timeoutMs: 1500, signal: caller.signal })
    // A bound, not a timing: the deadline is 1.5 s; only a deadline that never fires reaches this.
    const bound = new AbortController()
    const report = await Promise.race([run, delay(60_000, undefined, { signal: bound.signal }).catch(() => undefined)])
    bound.abort()
    assert.ok(report, 'the mirror ended')
    const stalled = report!.failures.find((f) => f.release === '1.9.0')
    assert.is(stalled?.reason, 'source-error')
    assert.match(stalled?.message ?? '', `did not finish sending the blob ${target.content.digest} of acme/beta within 1500 ms`)
    assert.is(report!.releases.copied, 5, 'the rest is copied')
  } finally {
    clearInterval(collecting)
    proxy.stall = undefined
  }
})

test('a destination holding another release under the same name is left alone and reported, unless force', async () => {
  const destination = fresh()
  await destination.push({ package: 'acme/beta', release: '1.9.0', format: 'helm', blob: await chart('imposter', '1.9.0') })
  const mine = await digestOf(destination, 'acme/beta', '1.9.0', 'helm')
  const report = await mirror({ source: proxy.url, destination })
  assert.equal(report.failures.map((f) => [f.release, f.reason]), [['1.9.0', 'destination-differs']])
  assert.is(await digestOf(destination, 'acme/beta', '1.9.0', 'helm'), mine)
  const forced = await mirror({ source: proxy.url, destination, force: true })
  assert.ok(forced.ok)
  assert.equal(forced.releases, { copied: 1, skipped: 5, failed: 0 })
  assert.is(await digestOf(destination, 'acme/beta', '1.9.0', 'helm'), await digestOf(source.registry, 'acme/beta', '1.9.0', 'helm'))
})

test('channels are made equal to the source: extra releases removed, current set, dangling source entries ignored', async () => {
  const destination = fresh()
  await mirror({ source: proxy.url, destination })
  // Drift in the destination: stable loses 1.0.0 (current moves), beta gains 1.0.0.
  await destination.channels.remove('acme/alpha', 'stable', '1.0.0')
  await destination.channels.add('acme/alpha', 'beta', '1.0.0')
  // And the source answers a channel naming a release it does not have (as the Python reference can).
  proxy.tamper = ({ path, body }) => {
    if (!/\/packages\/acme\/alpha\/channels\/$/.test(path)) return undefined
    const list = JSON.parse(body.toString()) as { name: string; releases: string[] }[]
    for (const c of list) if (c.name === 'beta') c.releases.push('9.9.9')
    return Buffer.from(JSON.stringify(list))
  }
  try {
    const report = await mirror({ source: proxy.url, destination })
    assert.ok(report.ok, JSON.stringify(report.failures))
    assert.equal(report.channels, { copied: 2, skipped: 2, failed: 0 })
  } finally {
    proxy.tamper = undefined
  }
  assert.equal(await sortedBackup(destination), await sortedBackup(source.registry))
})

test('bounded concurrency: never more requests in flight than asked, and more than one when allowed', async () => {
  const many = new Registry({ store: memoryStore() })
  for (let i = 0; i < 24; i++) await many.push({ package: `ns/p${i}`, release: '1.0.0', format: 'helm', blob: await chart(`p${i}`, '1.0.0') })
  const server = await start(many)
  try {
    for (const concurrency of [1, 3]) {
      const probe = await tamperingProxy(server.url)
      // Slow answers make overlap visible.
      probe.tamper = async () => {
        await delay(5)
        return undefined
      }
      const report = await mirror({ source: probe.url, destination: fresh(), concurrency })
      assert.ok(report.ok)
      assert.is(report.releases.copied, 24)
      assert.ok(probe.maxInFlight() <= concurrency, `${probe.maxInFlight()} in flight with concurrency ${concurrency}`)
      if (concurrency > 1) assert.is(probe.maxInFlight(), concurrency, 'runs transfers at once')
      await probe.close()
    }
  } finally {
    await server.close()
    await many.close()
  }
})

test('an interrupted run stops early, stores only whole releases, and the next run resumes and completes', async () => {
  proxy.tamper = undefined
  const destination = fresh()
  const controller = new AbortController()
  let copied = 0
  const first = await mirror({
    source: proxy.url,
    destination,
    concurrency: 1,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === 'release' && e.outcome === 'copied' && ++copied === 2) controller.abort()
    },
  })
  assert.ok(first.aborted)
  assert.not.ok(first.ok)
  assert.ok(first.releases.copied >= 2 && first.releases.copied < 6, JSON.stringify(first.releases))
  // Whatever is there is whole: every stored release's digest is the source's.
  for (const m of (await destination.backup()).packages) {
    assert.is(manifestDigest(m), manifestDigest(await sourceManifest(m.package, m.release, m.mediaType)))
  }
  const second = await mirror({ source: proxy.url, destination })
  assert.ok(second.ok)
  assert.is(second.releases.copied + second.releases.skipped, 6)
  assert.is(second.releases.skipped, first.releases.copied)
  assert.equal(await sortedBackup(destination), await sortedBackup(source.registry))
})

test('into another server over HTTP: the same releases, digests and channels (timestamps are the destination\'s); a re-run skips all', async () => {
  proxy.tamper = undefined
  const target = fresh()
  const server = await start(target)
  try {
    const report = await mirror({ source: proxy.url, destination: server.url })
    assert.ok(report.ok, JSON.stringify(report.failures))
    assert.equal(report.releases, { copied: 6, skipped: 0, failed: 0 })
    assert.equal(report.channels, { copied: 4, skipped: 0, failed: 0 })
    assert.equal(await backupWithoutTimestamps(target), await backupWithoutTimestamps(source.registry))
    for (const m of (await source.registry.backup()).packages) {
      assert.is(await digestOf(target, m.package, m.release, m.mediaType), manifestDigest(m))
    }
    const again = await mirror({ source: proxy.url, destination: server.url })
    assert.equal([again.releases, again.channels], [{ copied: 0, skipped: 6, failed: 0 }, { copied: 0, skipped: 4, failed: 0 }])
    // Tampering is caught the same way whatever the destination.
    const victim = await sourceManifest('other/gamma', '0.1.0', 'kpm')
    const other = fresh()
    const otherServer = await start(other)
    proxy.tamper = ({ path, body }) => (path.endsWith(victim.content.digest) ? flip(body, 30) : undefined)
    try {
      const bad = await mirror({ source: proxy.url, destination: otherServer.url })
      assert.equal(bad.failures.map((f) => [f.package, f.release ?? f.channel]), [['other/gamma', '0.1.0'], ['other/gamma', 'dev']])
      assert.equal((await other.list()).packages.map((p) => p.name).sort(), ['acme/alpha', 'acme/beta'])
    } finally {
      proxy.tamper = undefined
      await otherServer.close()
    }
  } finally {
    await server.close()
  }
})

test('signatures: copied with their releases; with keys, an unsigned, wrongly-signed or consistently rewritten release is refused', async () => {
  const alice = generateSigningKey('ed25519')
  const other = generateSigningKey('ecdsa-p256')
  const signed = new Registry({ store: memoryStore() })
  await signed.push({ package: 'acme/app', release: '1.0.0', format: 'helm', blob: await chart('app', '1.0.0'), metadata: { x: 1 } })
  await signed.push({ package: 'acme/app', release: '2.0.0', format: 'helm', blob: await chart('app', '2.0.0') })
  const sign = async (release: string, key: string) =>
    signed.signatures.add('acme/app', release, 'helm', [signDigest(manifestDigest(await signed.show('acme/app', { release, format: 'helm' })), key)])
  await sign('1.0.0', alice.privateKey)
  const server = await start(signed)
  const spy = await tamperingProxy(server.url)
  try {
    // Keys given: 1.0.0 verifies and is copied with its signature; 2.0.0 is unsigned.
    let destination = fresh()
    let report = await mirror({ source: spy.url, destination, keys: [alice.publicKey] })
    assert.equal(report.failures.map((f) => [f.release, f.reason]), [['2.0.0', 'signature-invalid']])
    assert.equal(await destination.signatures.list('acme/app', '1.0.0', 'helm'), await signed.signatures.list('acme/app', '1.0.0', 'helm'))
    assert.not.ok(await holds(destination, 'acme/app', '2.0.0', 'helm'))
    // Signed by a key not given: refused too.
    await sign('2.0.0', other.privateKey)
    report = await mirror({ source: spy.url, destination, keys: [alice.publicKey] })
    assert.equal(report.failures.map((f) => [f.release, f.reason]), [['2.0.0', 'signature-invalid']])
    assert.match(report.failures[0]!.message, /unknown-key/)

    // A byte flipped in the signature, or the manifest rewritten with a matching announced digest: refused, nothing stored.
    const flipSig: TamperingProxy['tamper'] = ({ path, body }) => {
      if (!/\/packages\/acme\/app$/.test(path)) return undefined
      const list = JSON.parse(body.toString()) as { release: string; signatures?: { sig: string }[] }[]
      for (const m of list) for (const s of m.signatures ?? []) s.sig = flip(Buffer.from(s.sig, 'base64'), 5).toString('base64')
      return Buffer.from(JSON.stringify(list))
    }
    const rewrite: TamperingProxy['tamper'] = ({ path, body }) => {
      if (!/\/packages\/acme\/app$/.test(path)) return undefined
      const list = JSON.parse(body.toString()) as { release: string; metadata: unknown }[]
      for (const m of list) {
        m.metadata = { x: 2 }
        rehashed(m)
      }
      return Buffer.from(JSON.stringify(list))
    }
    for (const [what, tamper, reason] of [
      ['signature byte', flipSig, 'bad-signature'],
      ['consistent rewrite', rewrite, 'other-digest'],
    ] as const) {
      spy.tamper = tamper
      destination = fresh()
      report = await mirror({ source: spy.url, destination, keys: [alice.publicKey, other.publicKey] })
      assert.equal(report.failures.map((f) => f.reason), ['signature-invalid', 'signature-invalid'], what)
      assert.match(report.failures[0]!.message, new RegExp(reason), what)
      assert.is((await destination.list()).packages.length, 0, `${what}: nothing stored`)
    }
    // Without keys the consistent rewrite cannot be told from the real thing: that is what keys are for.
    spy.tamper = rewrite
    assert.ok((await mirror({ source: spy.url, destination: fresh() })).ok)
    spy.tamper = undefined

    // Without keys, signatures are copied as they are; a later run adds signatures made since.
    destination = fresh()
    await signed.signatures.remove('acme/app', '2.0.0', 'helm', other.keyid)
    assert.ok((await mirror({ source: spy.url, destination })).ok)
    assert.equal(await destination.signatures.list('acme/app', '2.0.0', 'helm'), [])
    await sign('2.0.0', alice.privateKey)
    report = await mirror({ source: spy.url, destination, keys: [alice.publicKey] })
    assert.ok(report.ok, JSON.stringify(report.failures))
    assert.equal(report.releases, { copied: 0, skipped: 2, failed: 0 })
    assert.equal(await destination.signatures.list('acme/app', '2.0.0', 'helm'), await signed.signatures.list('acme/app', '2.0.0', 'helm'))
  } finally {
    spy.tamper = undefined
    await spy.close()
    await server.close()
    await signed.close()
  }
})

test.run()
