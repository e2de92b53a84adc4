/**
 * Streamed backups: `backupStream` → NDJSON → `restoreStream` gives back the same registry as the
 * document backup; a restore cut short and run again skips what is there and finishes; bad
 * streams are refused naming the record or line.
 */
import { fromNdjson, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { backup1, backupText, sortedBackup, textChunks, tgz } from './helpers.js'

async function source(): Promise<Registry> {
  const registry = new Registry({ store: memoryStore() })
  await registry.restore(backup1())
  await registry.push({ package: 'acme/web', release: '2.0.0', format: 'helm', blob: await tgz({ 'web/Chart.yaml': 'name: web\nversion: 2.0.0\n' }), metadata: { team: 'a' } })
  await registry.push({ package: 'acme/web', release: '2.0.0', format: 'kpm', blob: await tgz({ 'manifest.yaml': 'x: 1\n' }) })
  await registry.channels.add('acme/web', 'stable', '2.0.0')
  return registry
}

async function rejects(promise: Promise<unknown>, code: string, message: string): Promise<void> {
  try {
    await promise
  } catch (e) {
    assert.is((e as { code?: string }).code, code, String(e))
    assert.match((e as Error).message, message)
    return
  }
  assert.unreachable(`expected ${code}`)
}

test('NDJSON round trip: header, releases then channels per package, end; the restored registry backs up the same', async () => {
  const from = await source()
  const text = await backupText(from)
  const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string; package?: string })
  assert.is(lines[0]!.kind, 'header')
  const { repositories, manifests, tags, blobs, ...appr } = lines.at(-1) as unknown as Record<string, number>
  assert.equal(appr, { kind: 'end', packages: new Set(lines.flatMap((l) => (l.package ? [l.package] : []))).size, releases: lines.filter((l) => l.kind === 'release').length, channels: lines.filter((l) => l.kind === 'channel').length })
  // The appr view of the packages (their OCI repositories) is not carried: restoring the releases makes it again.
  assert.ok(repositories! > 0)
  assert.equal([manifests, tags, blobs], [0, 0, 0])
  assert.not.ok(lines.some((l) => l.kind.startsWith('oci-')))
  // A package's channels come after its releases, before the next package.
  const web = lines.flatMap((l, i) => (l.package === 'acme/web' ? [`${l.kind}${i}`] : []))
  assert.equal(web.map((k) => k.replace(/\d+/, '')), ['release', 'release', 'channel'])

  const to = new Registry({ store: memoryStore() })
  const progress = await to.restoreStream(fromNdjson(textChunks(text, 777)))
  assert.is(progress.releases, lines.filter((l) => l.kind === 'release').length)
  assert.is(progress.skipped, 0)
  assert.is(progress.channels, lines.filter((l) => l.kind === 'channel').length)
  assert.equal(sortedBackup(await to.backup()), sortedBackup(await from.backup()))
  assert.equal((await to.show('acme/web', { release: '2.0.0', format: 'helm' })).metadata, { team: 'a' })
  assert.equal(await to.stats(), await from.stats())
  const stats = await to.stats()
  assert.is(stats.packages, (lines.at(-1) as unknown as { packages: number }).packages)
  assert.is(stats.manifests, progress.releases)
  assert.ok(stats.blobs > 0 && stats.blobBytes > 0)
})

test('a restore cut short stores what it read; run again it skips that and finishes; a third run writes nothing', async () => {
  const from = await source()
  const text = await backupText(from)
  const lines = text.split('\n').filter((l) => l !== '')
  const to = new Registry({ store: memoryStore() })
  const cut = Math.floor(lines.length / 2)
  await rejects(to.restoreStream(lines.slice(0, cut).map((l) => JSON.parse(l))), 'invalid-parameters', 'cut short')
  const partial = await to.stats()
  assert.ok(partial.manifests > 0, 'the first half is stored')
  const resumed = await to.restoreStream(fromNdjson(textChunks(text, 4096)))
  assert.is(resumed.skipped, partial.manifests)
  assert.is(resumed.skipped + resumed.releases, lines.filter((l) => l.includes('"kind":"release"')).length)
  const again = await to.restoreStream(fromNdjson(textChunks(text, 777)))
  assert.is(again.releases, 0)
  assert.is(again.channels, 0)
  assert.is(again.bytes, 0)
  assert.equal(sortedBackup(await to.backup()), sortedBackup(await from.backup()))
})

test('bad streams: not a backup, a bad record, a record after the end, a line that is not JSON', async () => {
  const text = await backupText(await source())
  const lines = text.split('\n').filter((l) => l !== '')
  const to = new Registry({ store: memoryStore() })
  await rejects(to.restoreStream([]), 'invalid-parameters', 'empty')
  await rejects(to.restoreStream([{ packages: [], channels: [] }]), 'invalid-parameters', 'not a streamed appr-core backup')
  const broken = lines.map((l) => JSON.parse(l))
  broken[2] = { ...broken[2], release: 'not-semver' }
  await rejects(to.restoreStream(broken), 'invalid-release', '')
  broken[2] = { kind: 'mystery' }
  await rejects(to.restoreStream(broken), 'invalid-parameters', 'backup record 3')
  await rejects(to.restoreStream([...lines.map((l) => JSON.parse(l)), { kind: 'end', packages: 0, releases: 0, channels: 0 }]), 'invalid-parameters', 'after the end')
  const notJson = async () => {
    for await (const _ of fromNdjson(textChunks(`${lines[0]}\n\n{"kind":\n`, 777))) {
      // drain
    }
  }
  await rejects(notJson(), 'invalid-parameters', 'line 3 is not JSON')
  const tooLong = async () => {
    for await (const _ of fromNdjson(textChunks(`${lines[0]}\n${'x'.repeat(5000)}`, 100), 1000)) {
      // drain
    }
  }
  await rejects(tooLong(), 'payload-too-large', 'line 2')
})

test.run()
