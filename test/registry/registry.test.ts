import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type ApprError, isApprError, Registry } from 'appr-core'
import type { ErrorCode, KvStore, RegistryOptions } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { levelStore } from 'appr-core/adapters/level'
import { redisStore } from 'appr-core/adapters/redis'
import { etcdStore } from 'appr-core/adapters/etcd'
import { startEtcd, startRedis } from '../helpers/servers.js'
import { backup1, collect, counting, kubeUi, rocketchat, snapshot, tgz } from './helpers.js'

interface Backend {
  name: string
  /** A fresh store; `reopen` opens the same data again (persistent backends only). */
  open(): Promise<{ store: KvStore; reopen?: () => Promise<KvStore>; cleanup(): Promise<void> }>
}

const backends: Backend[] = [
  { name: 'memory', open: async () => ({ store: memoryStore(), cleanup: async () => undefined }) },
]
backends.push({
  name: 'level',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'appr-registry-'))
    const path = join(dir, 'db')
    return { store: levelStore({ path }), reopen: async () => levelStore({ path }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
  },
})

// Redis and etcd: throwaway servers (skipped with a SKIPPED SUITE line when the binary is missing).
let unique = 0
const redis = await startRedis({ suite: 'registry on redis' })
if (redis) {
  backends.push({
    name: 'redis',
    async open() {
      const prefix = `reg${process.pid}-${++unique}`
      return { store: redisStore({ url: redis.url, prefix }), reopen: async () => redisStore({ url: redis.url, prefix }), cleanup: async () => undefined }
    },
  })
}
const etcd = await startEtcd({ suite: 'registry on etcd' })
if (etcd) {
  backends.push({
    name: 'etcd',
    async open() {
      const prefix = `reg${process.pid}-${++unique}/`
      return { store: etcdStore({ hosts: etcd.endpoints, prefix }), reopen: async () => etcdStore({ hosts: etcd.endpoints, prefix }), cleanup: async () => undefined }
    },
  })
}

const ROCKET = '8dc8a2c479f770fd710e0dddaa7af0e6b495bc6375cdf2b4a649f4c2b03e27d5'
const D3B = 'd3b54b7912fe770a61b59ab612a442eac52a8a5d8d05dbe92bf8f212d68aaa80'

async function rejects(promise: Promise<unknown>, code: ErrorCode): Promise<ApprError> {
  try {
    await promise
  } catch (e) {
    assert.ok(isApprError(e, code), `expected ${code}, got ${isApprError(e) ? e.code : String(e)}`)
    return e as ApprError
  }
  assert.unreachable(`expected ${code}`)
  throw new Error('unreachable')
}

const sortBy = <T>(items: T[], key: (t: T) => string) => [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))

for (const backend of backends) {
  interface Ctx {
    store: KvStore
    registry: Registry
    reopen?: () => Promise<KvStore>
    cleanup(): Promise<void>
    make(options?: Partial<RegistryOptions>): Registry
  }
  const test = suite<Ctx>(`registry on ${backend.name}`)
  test.before.each(async (ctx) => {
    const opened = await backend.open()
    ctx.store = opened.store
    if (opened.reopen) ctx.reopen = opened.reopen
    ctx.cleanup = opened.cleanup
    ctx.make = (options = {}) => new Registry({ store: opened.store, ownsStore: false, ...options })
    ctx.registry = ctx.make()
  })
  test.after.each(async (ctx) => {
    await ctx.store.close()
    await ctx.cleanup()
  })

  test('package fields of titi/toot; names fold to lower case', async ({ registry }) => {
    const m = await registry.push({ package: 'titi/toot', release: '1.2.0', format: 'helm', blob: rocketchat })
    assert.is(m.package, 'titi/toot')
    assert.is(m.release, '1.2.0')
    assert.is(m.mediaType, 'application/vnd.appr.package-manifest.helm.v0.json')
    assert.is(m.content.mediaType, 'application/vnd.appr.package.helm.v0.tar+gzip')
    assert.equal(m.content.urls, [])
    assert.is(m.metadata, null)
    const shown = await registry.show('Titi/Toot', { release: '1.2.0', format: 'helm' })
    assert.is(shown.package, 'titi/toot')
  })

  test('rocketchat digest; save then get gives the same digest, size and bytes', async ({ registry }) => {
    await registry.push({ package: 'titi/rocketchat', release: '2.3.4', format: 'kpm', blob: rocketchat })
    const m = await registry.show('titi/rocketchat', { release: '2.3.4', format: 'kpm' })
    assert.is(m.content.digest, ROCKET)
    assert.is(m.content.size, 848)
    const blob = await registry.blob('titi/rocketchat', m.content.digest)
    assert.is(blob.size, m.content.size)
    assert.is(blob.digest, ROCKET)
    assert.ok(blob.ociDigest.startsWith('sha256:'))
    assert.equal(await collect(blob.stream), rocketchat)
    const pulled = await registry.pull('titi/rocketchat', { release: '2.3.4', format: 'kpm' })
    assert.is(pulled.filename, 'titi_rocketchat_2.3.4.tar.gz')
    assert.equal(await collect(pulled.stream), rocketchat)
  })

  test('blob inputs: bytes, async iterable, web stream', async ({ registry }) => {
    async function* pieces() {
      for (let i = 0; i < kubeUi.length; i += 100) yield kubeUi.subarray(i, i + 100)
    }
    const a = await registry.push({ package: 'a/iter', release: '1.0.0', blob: pieces() })
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(kubeUi.subarray(0, 10))
        c.enqueue(kubeUi.subarray(10))
        c.close()
      },
    })
    const b = await registry.push({ package: 'a/web', release: '1.0.0', blob: stream })
    assert.is(a.content.digest, 'd14ec5d33581b51a389db8f3f4e26421eaba09460c8ea4817225abd4a5a1b44a')
    assert.is(b.content.digest, a.content.digest)
    assert.is(a.content.size, 765)
    assert.is(a.mediaType, 'application/vnd.appr.package-manifest.kpm.v0.json')
  })

  test('package-exists, force, invalid release, created_at from the clock', async ({ make }) => {
    let now = new Date('2020-01-02T03:04:05Z')
    const registry = make({ clock: () => now })
    const first = await registry.push({ package: 'titi/rocketchat', release: '2.3.4', blob: rocketchat })
    assert.is(first.created_at, '2020-01-02T03:04:05.000Z')
    await rejects(registry.push({ package: 'titi/rocketchat', release: '2.3.4', blob: rocketchat }), 'package-exists')
    now = new Date('2021-01-01T00:00:00Z')
    const forced = await registry.push({ package: 'titi/rocketchat', release: '2.3.4', blob: kubeUi, force: true, metadata: { a: 1 } })
    assert.is(forced.created_at, '2021-01-01T00:00:00.000Z')
    assert.is(forced.content.size, 765)
    assert.equal((await registry.show('titi/rocketchat')).metadata, { a: 1 })
    // The overwritten content is no longer referenced anywhere.
    await rejects(registry.blob('titi/rocketchat', ROCKET), 'package-not-found')
    await rejects(registry.push({ package: 'titi/rocketchat', release: 'abc', blob: rocketchat }), 'invalid-release')
    await rejects(registry.push({ package: 'titi/rocketchat', release: 'v1.0.0', blob: rocketchat }), 'invalid-release')
    await rejects(registry.push({ package: 'titi', release: '1.0.0', blob: rocketchat }), 'invalid-parameters')
    await rejects(registry.push({ package: 'titi/rocketchat', release: '1.0.0', format: 'a b', blob: rocketchat }), 'invalid-parameters')
    assert.is((await registry.list()).packages[0]!.created_at, '2020-01-02T03:04:05.000Z')
  })

  test('release queries and format resolution on backup1 data', async ({ registry }) => {
    await registry.restore(backup1())
    assert.is((await registry.show('titi/rocketchat', { format: 'kpm' })).release, '2.0.1')
    assert.is((await registry.show('titi/rocketchat', { release: 'default', format: 'kpm' })).release, '2.0.1')
    const q = await registry.show('titi/rocketchat', { release: '>1.2', format: 'kpm' })
    assert.is(q.release, '2.0.1')
    assert.is(q.content.digest, D3B)
    assert.is((await registry.show('titi/rocketchat', { release: '2.0.1', format: '-' })).mediaType, 'application/vnd.appr.package-manifest.kpm.v1.json')
    assert.is((await registry.show('titi/rocketchat', { release: '2.0.1' })).release, '2.0.1')
    await rejects(registry.show('titi/rocketchat', { release: '0.0.1', format: '-' }), 'invalid-usage')
    await rejects(registry.show('titi/rocketchat', { release: '>1.2', format: 'bad' }), 'package-not-found')
    await rejects(registry.show('titi/rocketchat', { release: '2.0.2', format: 'kpm' }), 'package-release-not-found')
    await rejects(registry.pull('titi/rocketchat', { release: '4.3.0', format: 'kpm' }), 'package-release-not-found')
    await rejects(registry.show('titi/rocketchat', { release: 'abc', format: 'kpm' }), 'invalid-release')
    await rejects(registry.show('titi/absent', { format: 'kpm' }), 'package-not-found')
    // appr resolves the release before the format; formatAware considers only releases with it.
    await rejects(registry.show('titi/rocketchat', { format: 'helm' }), 'package-not-found')
    assert.is((await registry.show('titi/rocketchat', { format: 'helm', formatAware: true })).release, '0.0.1')
    const helm = await registry.show('titi/rocketchat', { release: '0.0.1', format: 'application/vnd.appr.package-manifest.helm.v1.json' })
    assert.is(helm.content.digest, '72ed15c9a65961ecd034cca098ec18eb99002cd402824aae8a674a8ae41bd0ef')
    const blob = await registry.blob('titi/rocketchat', D3B)
    assert.is(blob.size, 778)
    assert.equal(
      (await registry.releases('titi/rocketchat')).map((m) => m.release),
      ['2.0.1', '1.0.1', '0.0.1', '0.0.1'],
    )
    assert.equal((await registry.releases('titi/rocketchat', { format: 'helm' })).map((m) => m.release), ['0.0.1'])
    assert.equal((await registry.manifests('titi/rocketchat', '0.0.1')).map((m) => m.mediaType.split('.')[3]), ['helm', 'kpm'])
    await rejects(registry.manifests('titi/rocketchat', 'default'), 'package-not-found')
  })

  test('channels of a release: current only, or membership', async ({ registry }) => {
    await registry.restore(backup1())
    assert.equal((await registry.show('titi/rocketchat', { release: '2.0.1', format: 'kpm' })).channels, ['stable'])
    assert.equal((await registry.show('titi/rocketchat', { release: '1.0.1', format: 'kpm' })).channels, ['dev'])
    assert.equal(await registry.channels.ofRelease('titi/rocketchat', '1.0.1', { membership: true }), ['dev', 'stable'])
    assert.equal((await registry.show('titi/rocketchat', { release: '0.0.1', format: 'kpm' })).channels, [])
  })

  test('channel rules', async ({ registry }) => {
    await registry.restore(backup1())
    const c = registry.channels
    assert.equal((await c.list('titi/rocketchat')).map((x) => x.name), ['dev', 'stable'])
    assert.equal(await c.show('titi/rocketchat', 'stable'), { name: 'stable', current: '2.0.1', releases: ['2.0.1', '1.0.1'] })
    await rejects(c.show('titi/rocketchat', 'stableh'), 'channel-not-found')
    await rejects(c.show('titi/rocketchat', 'bad name'), 'channel-not-found')
    assert.equal(await c.add('titi/rocketchat', 'newone', '1.0.1'), { name: 'newone', current: '1.0.1', releases: ['1.0.1'] })
    assert.ok((await registry.show('titi/rocketchat', { release: '1.0.1', format: 'kpm' })).channels.includes('newone'))
    // Adding makes the release current, also an older one.
    assert.equal(await c.add('titi/rocketchat', 'newone', '2.0.1'), { name: 'newone', current: '2.0.1', releases: ['2.0.1', '1.0.1'] })
    assert.equal(await c.add('titi/rocketchat', 'newone', '1.0.1'), { name: 'newone', current: '1.0.1', releases: ['2.0.1', '1.0.1'] })
    await rejects(c.add('titi/rocketchat', 'stable', '1.a.1'), 'invalid-release')
    await rejects(c.add('titi/rocketchat', 'stable', '1.4.1'), 'package-release-not-found')
    await rejects(c.add('titi/rocketchat', 'bad name', '1.0.1'), 'invalid-parameters')
    // Removing: the highest remaining becomes current; the last one deletes the channel.
    assert.equal(await c.remove('titi/rocketchat', 'stable', '2.0.1'), { name: 'stable', current: '1.0.1', releases: ['1.0.1'] })
    assert.not.ok((await registry.show('titi/rocketchat', { release: '2.0.1', format: 'kpm' })).channels.includes('stable'))
    assert.is(await c.remove('titi/rocketchat', 'dev', '1.0.1'), undefined)
    await rejects(c.show('titi/rocketchat', 'dev'), 'channel-not-found')
    await rejects(c.remove('titi/rocketchat', 'new', '1.0.1'), 'channel-not-found')
    await rejects(c.remove('titi/rocketchat', 'stable', '9.9.9'), 'package-not-found')
    // A release not in the channel: 200, current recomputed.
    assert.equal(await c.remove('titi/rocketchat', 'newone', '0.0.1'), { name: 'newone', current: '2.0.1', releases: ['2.0.1', '1.0.1'] })
    await c.delete('titi/rocketchat', 'newone')
    await rejects(c.delete('titi/rocketchat', 'newone'), 'channel-not-found')
    assert.equal((await c.list('titi/rocketchat')).map((x) => x.name), ['stable'])
    // A channel on an absent package.
    await rejects(c.add('titi/doest', 'newone', '1.0.0'), 'package-not-found')
    await rejects(c.list('titi/doesntexists'), 'package-not-found')
    await rejects(c.show('titi/doesntexists', 'x'), 'package-not-found')
    await rejects(c.delete('titi/doesntexists', 'x'), 'package-not-found')
  })

  test('list keeps summaries per record version: changes by another registry on the store show at once; a caller changing a summary changes only its copy', async ({ registry, make }) => {
    const other = make()
    await registry.push({ package: 'ns/a', release: '1.0.0', format: 'helm', blob: kubeUi })
    const first = (await registry.list()).packages[0]!
    assert.equal(first.releases, ['1.0.0'])
    // The types say readonly; a JavaScript caller may still change what it got.
    ;(first.releases as string[]).push('9.9.9')
    ;(first.manifests as string[]).length = 0
    ;(first as { name: string }).name = 'changed'
    assert.equal((await registry.list()).packages.map((p) => [p.name, p.releases, p.manifests]), [['ns/a', ['1.0.0'], ['helm']]])
    await other.push({ package: 'ns/a', release: '1.1.0', format: 'kpm', blob: kubeUi })
    assert.equal((await registry.list()).packages.map((p) => [p.default, p.releases, p.manifests]), [['1.1.0', ['1.1.0', '1.0.0'], ['kpm']]])
    assert.equal((await registry.list({ format: 'helm' })).packages.map((p) => [p.default, p.manifests]), [['1.0.0', ['helm']]])
    await other.delete('ns/a', '1.1.0', 'kpm')
    assert.equal((await registry.list()).packages.map((p) => p.releases), [['1.0.0']])
    await other.delete('ns/a', '1.0.0', 'helm')
    assert.equal((await registry.list()).packages, [])
  })

  test('list: only packages with a release, filters, cursor pagination; search is a plain substring', async ({ registry }) => {
    await registry.restore(backup1())
    const [only] = (await registry.list()).packages
    assert.equal(only, {
      name: 'titi/rocketchat',
      default: '2.0.1',
      releases: ['2.0.1', '1.0.1', '0.0.1'],
      manifests: ['kpm'],
      visibility: 'public',
      created_at: only!.created_at,
    })
    assert.equal((await registry.list({ format: 'helm' })).packages.map((p) => [p.default, p.manifests]), [['0.0.1', ['helm']]])
    await registry.push({ package: 'gone/pkg', release: '1.0.0', blob: kubeUi })
    await registry.delete('gone/pkg', '1.0.0', 'kpm')
    for (const n of ['b', 'c', 'a', 'd.x']) await registry.push({ package: `ns/${n}`, release: '1.0.0', format: 'helm', blob: kubeUi })
    assert.equal((await registry.list()).packages.map((p) => p.name), ['ns/a', 'ns/b', 'ns/c', 'ns/d.x', 'titi/rocketchat'])
    assert.equal((await registry.list({ namespace: 'ns', query: 'd.' })).packages.map((p) => p.name), ['ns/d.x'])
    assert.equal((await registry.list({ namespace: 'nope' })).packages, [])
    const names: string[] = []
    let page = await registry.list({ limit: 2 })
    for (;;) {
      names.push(...page.packages.map((p) => p.name))
      if (page.next === undefined) break
      page = await registry.list({ limit: 2, after: page.next })
    }
    assert.equal(names, ['ns/a', 'ns/b', 'ns/c', 'ns/d.x', 'titi/rocketchat'])
    // Namespaces that sort around `ns/` in key order ('-' before '/', '0' right after it).
    for (const ns of ['n-s', 'ns0', 'n']) await registry.push({ package: `${ns}/p`, release: '1.0.0', format: 'helm', blob: kubeUi })
    assert.equal((await registry.namespaces()).namespaces, ['n-s', 'n', 'ns', 'ns0', 'titi'])
    const spaces: string[] = []
    let nsPage = await registry.namespaces({ limit: 2 })
    for (;;) {
      spaces.push(...nsPage.namespaces)
      if (nsPage.next === undefined) break
      nsPage = await registry.namespaces({ limit: 2, after: nsPage.next })
    }
    assert.equal(spaces, ['n-s', 'n', 'ns', 'ns0', 'titi'])
    for (const ns of ['n-s', 'ns0', 'n']) await registry.delete(`${ns}/p`, '1.0.0', 'helm')
    assert.equal(await registry.search('rocket'), ['titi/rocketchat'])
    assert.equal(await registry.search('ROCKET'), ['titi/rocketchat'])
    assert.equal(await registry.search('fdsf'), [])
    assert.equal(await registry.search('('), [])
    assert.equal(await registry.search('.'), ['ns/d.x'])
    assert.equal(await registry.search('.*'), [])
  })

  test('restore then backup gives the same packages and channels', async ({ registry }) => {
    const doc = backup1() as { packages: Record<string, unknown>[]; channels: unknown[] }
    await registry.restore(doc)
    const out = await registry.backup()
    const strip = (p: Record<string, unknown>) => {
      const { created_at: _c, metadata: _m, ...rest } = p
      return { ...rest, channels: [...(p.channels as string[])].sort() }
    }
    const key = (p: Record<string, unknown>) => `${p.package} ${p.mediaType} ${p.release}`
    assert.equal(sortBy(out.packages.map((p) => strip({ ...p })), key), sortBy(doc.packages.map(strip), key))
    const ck = (c: { package: string; name: string }) => `${c.package} ${c.name}`
    assert.equal(sortBy(out.channels, ck), sortBy(doc.channels as { package: string; name: string; current: string }[], ck))
  })

  test('restore validates everything before writing', async ({ registry, store }) => {
    const before = await snapshot(store)
    const doc = backup1() as { packages: { blob: string; content: { digest: string } }[] }
    doc.packages[2]!.blob = Buffer.from('not a gzip').toString('base64')
    await rejects(registry.restore(doc), 'invalid-usage')
    const doc2 = backup1() as { packages: { content: { digest: string } }[] }
    doc2.packages[1]!.content.digest = 'a'.repeat(64)
    await rejects(registry.restore(doc2), 'invalid-parameters')
    await rejects(registry.restore({ packages: 'x' }), 'invalid-parameters')
    await rejects(registry.restore(null), 'invalid-parameters')
    assert.equal(await snapshot(store), before)
  })

  test('delete: format → release → package; channels follow; unreferenced blobs go', async ({ registry, store }) => {
    await registry.restore(backup1())
    await registry.delete('titi/rocketchat', '2.0.1', 'kpm')
    assert.equal(await registry.channels.show('titi/rocketchat', 'stable'), { name: 'stable', current: '1.0.1', releases: ['1.0.1'] })
    await rejects(registry.delete('titi/rocketchat', '2.0.1', 'kpm'), 'package-not-found')
    await rejects(registry.delete('titi/rocketchat', 'default', 'kpm'), 'package-not-found')
    await rejects(registry.delete('titi/rocketchat', '1.0.1', '-'), 'package-not-found')
    await registry.delete('titi/rocketchat', '1.0.1', 'kpm')
    assert.equal(await registry.channels.list('titi/rocketchat'), [])
    await registry.delete('titi/rocketchat', '0.0.1', 'helm')
    // The helm blob was referenced only by 0.0.1/helm.
    await rejects(registry.blob('titi/rocketchat', '72ed15c9a65961ecd034cca098ec18eb99002cd402824aae8a674a8ae41bd0ef'), 'package-not-found')
    assert.is((await registry.blob('titi/rocketchat', D3B)).size, 778)
    await registry.delete('titi/rocketchat', '0.0.1', 'kpm')
    await rejects(registry.releases('titi/rocketchat'), 'package-not-found')
    await rejects(registry.channels.list('titi/rocketchat'), 'package-not-found')
    assert.equal((await registry.list()).packages, [])
    // Nothing at all is left: records, reference counts, blob bytes.
    assert.equal(await snapshot(store), [])
  })

  test('blobs are deduplicated and served only under packages that reference them', async ({ registry, store }) => {
    await registry.push({ package: 'a/one', release: '1.0.0', blob: rocketchat })
    await registry.push({ package: 'a/two', release: '1.0.0', blob: rocketchat })
    await registry.push({ package: 'a/three', release: '1.0.0', blob: kubeUi })
    const blobRecords = (await store.list({ prefix: 'blob/' })).length
    assert.is(blobRecords, 2)
    await rejects(registry.blob('a/three', ROCKET), 'package-not-found')
    await rejects(registry.blob('a/absent', ROCKET), 'package-not-found')
    await rejects(registry.blob('a/one', 'nothex'), 'package-not-found')
    await registry.delete('a/one', '1.0.0', 'kpm')
    await rejects(registry.blob('a/one', ROCKET), 'package-not-found')
    assert.equal(await collect((await registry.blob('a/two', ROCKET)).stream), rocketchat)
    assert.equal(await collect((await registry.blob('a/two', `sha256:${ROCKET.toUpperCase()}`)).stream), rocketchat)
  })

  test('a hostile or malformed blob is a typed error and changes no key', async ({ registry, store }) => {
    await registry.restore(backup1())
    const before = await snapshot(store)
    const cases: [string, Uint8Array][] = [
      ['random bytes', new Uint8Array(Array.from({ length: 300 }, (_, i) => (i * 7919) & 0xff))],
      ['truncated gzip', rocketchat.subarray(0, 400)],
      ['gzip of text', new Uint8Array(await import('node:zlib').then((z) => z.gzipSync('hello, not a tar archive at all'.repeat(30))))],
      ['dot-dot entry', await tgz({ 'chart/../../evil.yaml': 'x' })],
      ['absolute entry', await tgz({ '/etc/passwd': 'x' })],
      ['empty', new Uint8Array()],
    ]
    for (const [what, blob] of cases) {
      const e = await rejects(registry.push({ package: 'titi/rocketchat', release: '9.0.0', blob }), 'invalid-usage')
      assert.ok(e.message.length > 0, what)
      assert.equal(await snapshot(store), before, what)
    }
    async function* failing() {
      yield rocketchat.subarray(0, 100)
      throw new Error('client went away')
    }
    try {
      await registry.push({ package: 'titi/rocketchat', release: '9.0.0', blob: failing() })
      assert.unreachable()
    } catch (e) {
      assert.is((e as Error).message, 'client went away')
    }
    await rejects(registry.push({ package: 'titi/rocketchat', release: '2.0.1', blob: kubeUi }), 'package-exists')
    assert.equal(await snapshot(store), before)
  })

  test('a corrupt record is an internal-error naming the package, not a crash', async ({ registry, store }) => {
    await registry.push({ package: 'a/b', release: '1.0.0', blob: kubeUi })
    await store.commit({ puts: [{ key: 'pkg/a/b', value: new TextEncoder().encode('{"name": 1}') }] })
    const e = await rejects(registry.show('a/b'), 'internal-error')
    assert.equal(e.details, { package: 'a/b' })
    await rejects(registry.list(), 'internal-error')
  })

  test('gc deletes crash leftovers and keeps live blobs', async ({ make, store }) => {
    let now = new Date('2024-01-01T00:00:00Z')
    const registry = make({ clock: () => now })
    await registry.push({ package: 'a/b', release: '1.0.0', blob: kubeUi })
    const live = await snapshot(store)
    const { kvBlobStore } = await import('appr-core')
    const blobs = kvBlobStore(store)
    // An upload whose writer died after its bytes (marker still 'uploading').
    await store.commit({ puts: [{ key: 'obj/dead-upload', value: new TextEncoder().encode('{"state":"uploading","started_at":"2024-01-01T00:00:00.000Z"}') }] })
    await blobs.write('dead-upload', (async function* () { yield rocketchat })())
    // Bytes whose record was deleted but the process died before deleting them.
    await blobs.write('orphan', (async function* () { yield rocketchat })())
    assert.equal(await registry.gc(), { deletedBlobs: 1 }) // the upload is still young
    now = new Date('2024-01-01T02:00:00Z')
    assert.equal(await registry.gc(), { deletedBlobs: 1 })
    assert.equal(await snapshot(store), live)
    assert.equal(await collect((await registry.pull('a/b')).stream), kubeUi)
  })

  test('gc reclaiming a stalled upload makes that push fail cleanly', async ({ make, store }) => {
    let now = new Date('2024-01-01T00:00:00Z')
    const registry = make({ clock: () => now, uploadTimeoutMs: 60_000 })
    await registry.push({ package: 'a/b', release: '1.0.0', blob: kubeUi })
    const before = await snapshot(store)
    let resume!: () => void
    const stalled = new Promise<void>((resolve) => {
      resume = resolve
    })
    let started!: () => void
    const streaming = new Promise<void>((resolve) => {
      started = resolve
    })
    async function* slow() {
      yield rocketchat.subarray(0, 100)
      started()
      await stalled
      yield rocketchat.subarray(100)
    }
    const push = registry.push({ package: 'a/b', release: '2.0.0', blob: slow() })
    await streaming
    now = new Date('2024-01-01T01:00:00Z')
    const { deletedBlobs } = await registry.gc()
    assert.is(deletedBlobs, 1)
    resume()
    const e = await rejects(push, 'unavailable')
    assert.ok(e.transient)
    assert.equal(await snapshot(store), before)
    assert.equal((await registry.list()).packages[0]!.releases, ['1.0.0'])
  })

  test('restore accepts extra fields and v1 media types', async ({ registry }) => {
    const doc = backup1() as { packages: Record<string, unknown>[]; extra?: unknown }
    doc.extra = { generator: 'someone else' }
    for (const p of doc.packages) p.downloads = 12
    await registry.restore(doc)
    assert.is((await registry.show('titi/rocketchat', { release: '1.0.1' })).mediaType, 'application/vnd.appr.package-manifest.kpm.v1.json')
  })

  if (backend.name !== 'memory') {
    test('close and reopen keeps everything', async (ctx) => {
      await ctx.registry.restore(backup1())
      const before = await ctx.registry.backup()
      const keysBefore = await snapshot(ctx.store)
      await ctx.store.close()
      ctx.store = await ctx.reopen!()
      const again = new Registry({ store: ctx.store, ownsStore: false })
      assert.equal(await snapshot(ctx.store), keysBefore)
      assert.equal(await again.backup(), before)
      assert.is((await again.show('titi/rocketchat', { release: '>1.2', format: 'kpm' })).release, '2.0.1')
    })
  }

  test('push and pull cost does not grow with the registry (10 vs 1,000 packages)', async () => {
    const measure = async (n: number) => {
      const opened = await backend.open()
      try {
        const { store, counts, reset } = counting(opened.store)
        const registry = new Registry({ store, ownsStore: false })
        for (let i = 0; i < n; i++) await registry.push({ package: `fill/p${i}`, release: '1.0.0', blob: kubeUi })
        reset()
        await registry.push({ package: 'zz/target', release: '1.0.0', blob: rocketchat })
        const push = { ...counts }
        reset()
        await collect((await registry.pull('zz/target', { release: '>=1.0', format: 'kpm' })).stream)
        return { push, pull: { ...counts } }
      } finally {
        await opened.store.close()
        await opened.cleanup()
      }
    }
    const small = await measure(10)
    const large = await measure(1000)
    console.log(`${backend.name} cost at 10 and 1,000 packages: push ${JSON.stringify(small.push)} pull ${JSON.stringify(small.pull)}`)
    assert.equal(large, small)
    assert.ok(small.pull.calls <= 5, `pull made ${small.pull.calls} calls`)
  })

  test.run()
}

// Concurrency: several Registry instances (on one memory store, or on separate clients of one
// Redis/etcd database, as several processes would be) racing on one package.
const concurrency = suite('registry concurrency')
async function race(label: string, stores: KvStore[]) {
  const counted = stores.map((s) => counting(s))
  const instances = counted.map((c) => new Registry({ store: c.store, ownsStore: false }))
  const at = (i: number) => instances[i % instances.length]!
  await at(0).push({ package: 'race/pkg', release: '1.0.0', blob: kubeUi })
  const ops: Promise<unknown>[] = []
  for (let i = 0; i < 50; i++) {
    ops.push(i % 5 === 4 ? at(i).channels.add('race/pkg', `ch${i}`, '1.0.0') : at(i).push({ package: 'race/pkg', release: `2.0.${i}`, blob: kubeUi }))
  }
  const results = await Promise.allSettled(ops)
  const failed = results.filter((r) => r.status === 'rejected')
  assert.is(failed.length, 0, String((failed[0] as PromiseRejectedResult | undefined)?.reason))
  const r = at(0)
  assert.is((await r.list()).packages[0]!.releases.length, 41)
  assert.is((await r.channels.list('race/pkg')).length, 10)
  assert.is((await r.releases('race/pkg')).length, 41)
  const blob = JSON.parse(new TextDecoder().decode((await stores[0]!.get('blob/d14ec5d33581b51a389db8f3f4e26421eaba09460c8ea4817225abd4a5a1b44a'))!.value))
  assert.is(blob.refs, 41)
  assert.is((await stores[0]!.list({ prefix: 'obj/' })).length, 1)
  const conflicts = counted.reduce((sum, c) => sum + c.counts.conflicts, 0)
  const commits = counted.reduce((sum, c) => sum + c.counts.calls, 0)
  console.log(`${label}: ${conflicts} commit conflicts retried for 50 operations (${commits} store calls)`)
  // Concurrent delete of a release and a channel add of it: never a channel naming a deleted release.
  for (let i = 0; i < 20; i++) {
    const release = `2.0.${i % 5 === 4 ? 0 : i}`
    await Promise.allSettled([r.delete('race/pkg', release, 'kpm'), at(1).channels.add('race/pkg', 'edge', release)])
    const names = new Set((await r.list()).packages[0]!.releases)
    for (const c of await r.channels.list('race/pkg')) for (const rel of c.releases) assert.ok(names.has(rel), `${c.name} names deleted ${rel}`)
  }
}
concurrency('memory: 50 concurrent pushes and channel ops through 5 instances lose nothing', async () => {
  const store = memoryStore()
  await race('memory', [store, store, store, store, store])
})
for (const backend of backends.filter((b) => b.name === 'redis' || b.name === 'etcd')) {
  concurrency(`${backend.name}: 50 concurrent pushes and channel ops through 5 clients lose nothing`, async () => {
    const opened = await backend.open()
    const stores = [opened.store, ...(await Promise.all([1, 2, 3, 4].map(() => opened.reopen!())))]
    try {
      await race(backend.name, stores)
    } finally {
      for (const s of stores) await s.close()
    }
  })
}
concurrency('endless conflicts end in resource-in-use after maxRetries, leaving no key behind', async () => {
  const base = memoryStore()
  const registry0 = new Registry({ store: base, ownsStore: false })
  await registry0.push({ package: 'a/b', release: '1.0.0', blob: kubeUi })
  const before = await snapshot(base)
  let attempts = 0
  // Every commit that writes a manifest conflicts, as if another writer always won.
  const hostile: KvStore = {
    ...base,
    name: base.name,
    capabilities: base.capabilities,
    get: (k) => base.get(k),
    getMany: (k) => base.getMany(k),
    list: (o) => base.list(o),
    close: () => base.close(),
    async commit(c) {
      if (c.puts?.some((p) => p.key.startsWith('man/') || p.key.startsWith('chan/'))) {
        attempts++
        return { ok: false, conflicts: [c.puts[0]!.key] }
      }
      return base.commit(c)
    },
  }
  const registry = new Registry({ store: hostile, ownsStore: false, maxRetries: 3 })
  // Seen once, so push reads before its first commit (no presumed-absent guess, which would be a fifth attempt).
  await registry.show('a/b')
  const e = await rejects(registry.push({ package: 'a/b', release: '2.0.0', blob: rocketchat }), 'resource-in-use')
  assert.ok(e.transient)
  assert.is(attempts, 4)
  // An unseen package: the guess, then 1 + maxRetries real attempts.
  attempts = 0
  await rejects(registry.push({ package: 'a/unseen', release: '1.0.0', blob: rocketchat }), 'resource-in-use')
  assert.is(attempts, 5)
  await rejects(registry.channels.add('a/b', 'stable', '1.0.0'), 'resource-in-use')
  assert.equal(await snapshot(base), before)
})
concurrency.after(async () => {
  await redis?.stop()
  await etcd?.stop()
})
concurrency.run()
