/**
 * Streamed backups hold flat memory: 20,000 packages (APPR_BACKUP_HEAP_PACKAGES to change it) are
 * restored from a lazily made stream of backup records into a Redis store (in its own process, so
 * the data is not in this heap), then backed up again
 * as NDJSON lines; the live heap (after full collections) is sampled a quarter of the way in and
 * at the end of each, and must not grow by more than a fixed bound while the data grows fourfold.
 * A bound, not a timing.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Registry, toNdjson } from 'appr-core'
import { redisStore } from 'appr-core/adapters/redis'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startRedis } from '../helpers/servers.js'
import { syntheticBackup } from '../helpers/synthetic-backup.js'

const PACKAGES = Number(process.env.APPR_BACKUP_HEAP_PACKAGES ?? 20_000)
/** Allowed growth of the live heap between a quarter of the way and the end. */
const BOUND = 12 * 1024 * 1024

setFlagsFromString('--expose-gc')
const collect = runInNewContext('gc') as () => void
const liveHeap = () => {
  for (let i = 0; i < 3; i++) collect()
  return process.memoryUsage().heapUsed
}
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`

const redis = await startRedis({ suite: 'backup heap on redis' })

if (redis)
test(`restore then backup of ${PACKAGES} packages: the live heap stays within ${mib(BOUND)}`, async () => {
  // Small caches: they are bounded anyway; this keeps their filling out of the measurement.
  const registry = new Registry({ store: redisStore({ url: redis!.url }), cacheEntries: 100, blobCacheBytes: 0 })
  try {
    const quarter = Math.floor(PACKAGES / 4)
    let atQuarter = 0
    const restored = await registry.restoreStream(syntheticBackup(PACKAGES), {
      onProgress: (p) => {
        if (p.records === quarter) atQuarter = liveHeap()
      },
    })
    const afterRestore = liveHeap()
    assert.is(restored.releases, PACKAGES)
    console.log(`restore: heap ${mib(atQuarter)} at ${quarter} records, ${mib(afterRestore)} after ${restored.records}`)
    assert.ok(afterRestore - atQuarter < BOUND, `restore heap grew ${mib(afterRestore - atQuarter)}`)

    let lines = 0
    let bytes = 0
    let backupQuarter = 0
    for await (const line of toNdjson(registry.backupStream())) {
      lines++
      bytes += line.length
      if (lines === quarter) backupQuarter = liveHeap()
    }
    const afterBackup = liveHeap()
    console.log(`backup: ${lines} lines, ${mib(bytes)}; heap ${mib(backupQuarter)} at ${quarter} lines, ${mib(afterBackup)} at the end`)
    assert.is(lines, restored.records)
    assert.ok(afterBackup - backupQuarter < BOUND, `backup heap grew ${mib(afterBackup - backupQuarter)}`)
  } finally {
    await registry.close()
    await redis!.stop()
  }
})

test.run()
