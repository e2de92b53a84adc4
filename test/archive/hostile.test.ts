import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { createGzip } from 'node:zlib'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { inspectArchive, validateBlob } from 'appr-core/archive'
import { isApprError } from 'appr-core'
import { type HostileArchive, TAR_END, makeHostileArchives, tarHeader } from '../../scripts/make-hostile-archives.js'

const MiB = 1024 * 1024
/** RSS growth allowed while validating; buffering any of the big inputs would exceed it by far. */
const RSS_BUDGET = 64 * MiB

let dir = ''
let corpus: HostileArchive[] = []

/** Runs `fn` while sampling RSS; returns the peak growth over the RSS at the start. */
async function peakRssGrowth(fn: () => Promise<void>): Promise<number> {
  const base = process.memoryUsage.rss()
  let peak = base
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5)
  try {
    await fn()
  } finally {
    clearInterval(timer)
    peak = Math.max(peak, process.memoryUsage.rss())
  }
  return peak - base
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appr-hostile-'))
  corpus = await makeHostileArchives(dir)
})

test.after(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('the corpus has every case the issue names', () => {
  const names = corpus.map((a) => a.name).sort()
  assert.equal(names, ['absolute', 'dotdot', 'gzip-bomb', 'huge-entry', 'many-entries', 'not-gzip', 'not-tar', 'symlink-root', 'truncated'])
})

test('each hostile archive is rejected with its typed error, in bounded memory', async () => {
  for (const archive of corpus) {
    let error: unknown
    const growth = await peakRssGrowth(async () => {
      try {
        await validateBlob(createReadStream(archive.file))
      } catch (e) {
        error = e
      }
    })
    assert.ok(isApprError(error, archive.code), `${archive.name}: ${String(error)}`)
    assert.is(error.details.reason, archive.reason, archive.name)
    assert.ok(growth < RSS_BUDGET, `${archive.name}: RSS grew ${(growth / MiB).toFixed(1)} MiB`)
  }
})

test('inspect rejects each one the same way', async () => {
  for (const archive of corpus) {
    try {
      await inspectArchive(createReadStream(archive.file))
      assert.unreachable(archive.name)
    } catch (e) {
      assert.ok(isApprError(e, archive.code), `${archive.name}: ${String(e)}`)
      assert.is(e.details.reason, archive.reason, archive.name)
    }
  }
})

test('a legitimate 300 MiB stream (limits raised) is validated in bounded memory', async () => {
  const size = 300 * MiB
  function* tar() {
    yield tarHeader({ name: 'big.bin', size })
    const zeros = new Uint8Array(MiB)
    for (let i = 0; i < size / MiB; i++) yield zeros
    yield TAR_END
  }
  const gzip = Readable.from(tar()).pipe(createGzip({ level: 1 }))
  let facts: Awaited<ReturnType<typeof validateBlob>> | undefined
  const growth = await peakRssGrowth(async () => {
    facts = await validateBlob(gzip, { maxRatio: Number.POSITIVE_INFINITY, maxUncompressedBytes: 2 * size, maxEntryBytes: size })
  })
  assert.is(facts?.uncompressedSize, size + 512 + 1024)
  assert.ok(growth < RSS_BUDGET, `RSS grew ${(growth / MiB).toFixed(1)} MiB`)
})

test.run()
