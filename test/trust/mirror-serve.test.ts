/**
 * The mirror between two real `appr-core serve` processes: 1,000 packages with channels and some
 * signatures on LevelDB, copied into Redis. The destination then equals the source (backups
 * compared, timestamps aside), a second run transfers nothing, and an interrupted run resumes.
 * Prints the throughput of the first run (packages/s, MiB/s).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { fileBlobStore, levelStore } from 'appr-core/adapters/level'
import { redisStore } from 'appr-core/adapters/redis'
import { generateSigningKey, manifestDigest, mirror, signDigest } from 'appr-core/trust'
import { type Served, startServe } from '../cli/serve-helpers.js'
import { startRedis } from '../helpers/servers.js'
import { tgz } from '../registry/helpers.js'
import { backupWithoutTimestamps } from './helpers.js'

const PACKAGES = 1000
const redis = await startRedis({ suite: 'mirror between serve processes' })
const dir = await mkdtemp(join(tmpdir(), 'appr-mirror-serve-'))
const alice = generateSigningKey('ed25519')
const openLevel = () => new Registry({ store: levelStore({ path: join(dir, 'kv') }), blobs: fileBlobStore({ path: join(dir, 'blobs') }) })

test('level → redis: equal backups, a second run transfers nothing, an interrupted run resumes', async () => {
  if (!redis) return
  // The source: filled in-process, then served by its own process.
  const filling = openLevel()
  for (let i = 0; i < PACKAGES; i++) {
    const pkg = `ns${i % 20}/app${i}`
    await filling.push({ package: pkg, release: '1.0.0', format: 'helm', blob: await tgz({ [`app${i}/Chart.yaml`]: `name: app${i}\nversion: 1.0.0\n`, [`app${i}/values.yaml`]: `n: ${i}\n`.repeat(20) }) })
    if (i % 10 === 0) {
      await filling.push({ package: pkg, release: '1.1.0', format: 'kpm', blob: await tgz({ [`app${i}/manifest.yaml`]: `package: ${pkg}\n` }), metadata: { i } })
      await filling.channels.add(pkg, 'beta', '1.1.0')
    }
    await filling.channels.add(pkg, 'stable', '1.0.0')
    if (i % 50 === 0) {
      const digest = manifestDigest(await filling.show(pkg, { release: '1.0.0', format: 'helm' }))
      await filling.signatures.add(pkg, '1.0.0', 'helm', [signDigest(digest, alice.privateKey)])
    }
  }
  await filling.close()
  const releases = PACKAGES + PACKAGES / 10
  const channels = PACKAGES + PACKAGES / 10

  const servers: Served[] = []
  try {
    const source = await startServe(['--store', `level:${dir}`, '--port', '0'])
    servers.push(source)
    const target = await startServe(['--store', `${redis.url}/1`, '--port', '0'])
    servers.push(target)

    const first = await mirror({ source: source.url, destination: target.url, concurrency: 8 })
    assert.ok(first.ok, JSON.stringify(first.failures.slice(0, 3)))
    assert.equal([first.packages.total, first.releases, first.channels], [PACKAGES, { copied: releases, skipped: 0, failed: 0 }, { copied: channels, skipped: 0, failed: 0 }])
    const mib = first.bytes / 1024 / 1024
    console.log(
      `mirror level → redis (two serve processes, concurrency 8): ${PACKAGES} packages, ${releases} releases, ${mib.toFixed(2)} MiB in ${first.seconds.toFixed(1)} s = ` +
        `${(PACKAGES / first.seconds).toFixed(1)} packages/s, ${(mib / first.seconds).toFixed(3)} MiB/s`,
    )

    const second = await mirror({ source: source.url, destination: target.url, concurrency: 8 })
    assert.ok(second.ok)
    assert.equal([second.releases, second.channels, second.bytes], [{ copied: 0, skipped: releases, failed: 0 }, { copied: 0, skipped: channels, failed: 0 }, 0])
    console.log(`second run: ${second.seconds.toFixed(1)} s, nothing transferred`)

    // Interrupted after 300 releases into another database, then resumed.
    const other = await startServe(['--store', `${redis.url}/2`, '--port', '0'])
    servers.push(other)
    const controller = new AbortController()
    let copied = 0
    const cut = await mirror({
      source: source.url,
      destination: other.url,
      concurrency: 8,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'release' && e.outcome === 'copied' && ++copied === 300) controller.abort()
      },
    })
    assert.ok(cut.aborted)
    assert.ok(cut.releases.copied >= 300 && cut.releases.copied < releases, JSON.stringify(cut.releases))
    const resumed = await mirror({ source: source.url, destination: other.url, concurrency: 8 })
    assert.ok(resumed.ok, JSON.stringify(resumed.failures.slice(0, 3)))
    assert.is(resumed.releases.skipped, cut.releases.copied)
    assert.is(resumed.releases.copied, releases - cut.releases.copied)
  } finally {
    for (const s of servers) await s.stop()
  }

  // Compare with the servers stopped (the source's LevelDB is single-process).
  const sourceRegistry = openLevel()
  const copies = [new Registry({ store: redisStore({ url: `${redis.url}/1` }) }), new Registry({ store: redisStore({ url: `${redis.url}/2` }) })]
  try {
    const expected = await backupWithoutTimestamps(sourceRegistry)
    for (const copy of copies) assert.equal(await backupWithoutTimestamps(copy), expected)
    assert.is((await sourceRegistry.backup()).packages.filter((p) => p.signatures).length, PACKAGES / 50)
  } finally {
    await Promise.all([sourceRegistry.close(), ...copies.map((c) => c.close())])
  }
})

test.after(async () => {
  await redis?.stop()
  await rm(dir, { recursive: true, force: true })
})

test.run()
