/**
 * Peak RSS of pushing then pulling one large blob on a level store, in a fresh process running
 * compiled JavaScript (as a user's server would; tsx alone adds ~40 MiB). Started by
 * bench/sections/rss.ts after compiling with bench/tsconfig.worker.json; prints one JSON line.
 *
 * Usage: node .tmp/bench-build/bench/rss-worker.js <registry|registry-files|raw> <tarBytes> <dir>
 *   registry: blobs chunked in the level store (the default); registry-files: blobs in fileBlobStore
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'
import { fileBlobStore, levelStore } from '../adapters/level/index.js'
import { Registry } from '../src/registry/registry.js'
import { streamedBlob } from './lib/tarball.js'

const [mode, tarArg, dir] = process.argv.slice(2)
const tarBytes = Number(tarArg)
if (!['registry', 'registry-files', 'raw'].includes(mode ?? '') || !(tarBytes > 0) || !dir) {
  console.error('usage: rss-worker <registry|registry-files|raw> <tarBytes> <dir>')
  process.exit(2)
}

const maxRss = () => process.resourceUsage().maxRSS * 1024
// Peak of the anonymous part of RSS (heap, buffers), sampled: LevelDB reads table files through
// mmap, and those file-backed pages count in RSS though they are reclaimable page cache.
let sampled = 0
let anonPeak = 0
const anon = (): number => {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'latin1'))
    return m ? Number(m[1]) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}
const sampler = setInterval(() => {
  sampled = Math.max(sampled, process.memoryUsage.rss())
  anonPeak = Math.max(anonPeak, anon())
}, 5)

async function registryRun(files: boolean) {
  const store = levelStore({ path: join(dir!, 'kv') })
  await store.open()
  const registry = new Registry({
    store,
    ...(files ? { blobs: fileBlobStore({ path: join(dir!, 'blobs') }) } : {}),
    limits: { maxCompressedBytes: tarBytes * 2, maxUncompressedBytes: tarBytes * 2, maxEntryBytes: tarBytes * 2 },
  })
  const baseline = process.memoryUsage.rss()
  let t = performance.now()
  const manifest = await registry.push({ package: 'bench/big', release: '1.0.0', format: 'helm', blob: streamedBlob(tarBytes) })
  const pushMs = performance.now() - t
  const pushPeak = maxRss()
  sampled = 0
  t = performance.now()
  const pulled = await registry.pull('bench/big', { release: 'default', format: 'helm' })
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of pulled.stream) {
    hash.update(chunk)
    bytes += chunk.byteLength
  }
  const pullMs = performance.now() - t
  await registry.close()
  return { baseline, pushMs, pullMs, pushPeak, pullSampledPeak: sampled, bytes, sizeOk: bytes === manifest.content.size }
}

async function rawRun() {
  // The floor: the same generated stream written to LevelDB in 256 KiB values, then read back.
  const db = new Level<string, Uint8Array>(dir!, { valueEncoding: 'view' })
  await db.open()
  const baseline = process.memoryUsage.rss()
  let t = performance.now()
  let n = 0
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  const flush = async () => {
    if (pendingBytes === 0) return
    await db.put(`b/${String(n++).padStart(8, '0')}`, Buffer.concat(pending))
    pending = []
    pendingBytes = 0
  }
  for await (const chunk of streamedBlob(tarBytes)) {
    pending.push(chunk)
    pendingBytes += chunk.byteLength
    if (pendingBytes >= 256 * 1024) await flush()
  }
  await flush()
  const pushMs = performance.now() - t
  const pushPeak = maxRss()
  sampled = 0
  t = performance.now()
  const hash = createHash('sha256')
  let bytes = 0
  for await (const value of db.values({ gte: 'b/', lt: 'b0' })) {
    hash.update(value)
    bytes += value.byteLength
  }
  const pullMs = performance.now() - t
  await db.close()
  return { baseline, pushMs, pullMs, pushPeak, pullSampledPeak: sampled, bytes, sizeOk: true }
}

try {
  const result = mode === 'raw' ? await rawRun() : await registryRun(mode === 'registry-files')
  clearInterval(sampler)
  process.stdout.write(`${JSON.stringify({ mode, tarBytes, ...result, peak: maxRss(), anonPeak })}\n`)
} catch (e) {
  clearInterval(sampler)
  process.stdout.write(`${JSON.stringify({ mode, tarBytes, error: e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e) })}\n`)
}
