/**
 * The synchronous pass over a small blob held whole in memory (a push given as bytes): the same
 * verdict and facts as the streaming pass of `validate.ts`, without its stream machinery, or no
 * verdict at all, and then the streaming pass decides.
 * @module
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { sha256Hex, toOciDigest } from '../digest/index.js'
import type { ArchiveLimits } from '../registry/types.js'
import { FEED_BYTES, RATIO_GRACE_BYTES, resolveLimits } from './limits.js'
import { checkEntryHeader, type EntryHeader, linkPrefixesToCheck, normalisePath } from './paths.js'
import type { BlobFacts } from './validate.js'

// tar-stream's header decoder (not in its package exports): the quick pass must read headers
// exactly as the streaming pass does.
const require = createRequire(import.meta.url)
const tarHeaders = require(join(dirname(require.resolve('tar-stream')), 'headers.js')) as {
  decode(block: Uint8Array, encoding: string, allowUnknownFormat: boolean): EntryHeader | null
}

/** Largest blob {@link quickFacts} looks at: one zlib feed, so the streaming pass's ratio check sees the whole blob at once too. */
export const QUICK_BYTES = FEED_BYTES

/**
 * The facts of a small blob held whole in memory, found synchronously, or `undefined` when the
 * blob is not plainly valid — then the streaming pass (`analyzeBlob`) decides and reports
 * exactly why. Accepts only what `analyzeBlob` accepts, with the same facts: one zlib pass
 * within the same size and ratio limits, tar headers read by tar-stream's own decoder and walked
 * as its extractor walks them, the same entry rules. Archives with long-name (pax, GNU) headers
 * are left to the streaming pass. For a chart of a few KiB this is several times cheaper than the
 * streaming pass (no thread-pool round trip, no stream machinery).
 */
export function quickFacts(bytes: Uint8Array, limits?: ArchiveLimits): BlobFacts | undefined {
  const size = bytes.byteLength
  if (size === 0 || size > QUICK_BYTES) return undefined
  const max = resolveLimits(limits)
  if (size > max.maxCompressedBytes) return undefined
  // The streaming pass fails once the output passes either bound (the whole input is fed at once).
  const outputLimit = Math.min(max.maxUncompressedBytes, Math.max(RATIO_GRACE_BYTES, size * max.maxRatio))
  if (!(outputLimit >= 1)) return undefined
  let tar: Uint8Array
  try {
    tar = gunzipSync(bytes, { maxOutputLength: outputLimit })
  } catch {
    return undefined
  }
  let entries = 0
  const symlinks = new Set<string>()
  const linkPrefixes: string[] = []
  let offset = 0
  while (offset < tar.byteLength) {
    if (tar.byteLength - offset < 512) return undefined
    let header: EntryHeader | null
    try {
      header = tarHeaders.decode(tar.subarray(offset, offset + 512), 'utf-8', true)
    } catch {
      return undefined
    }
    offset += 512
    if (header === null) continue // a zero block
    const type = header.type
    if (type === 'gnu-long-path' || type === 'gnu-long-link-path' || type === 'pax-global-header' || type === 'pax-header') return undefined
    if (!(header.size >= 0)) return undefined
    entries++
    if (entries > max.maxEntries || checkEntryHeader(header, max)) return undefined
    if (type === 'symlink') {
      symlinks.add(normalisePath(header.name))
      linkPrefixes.push(...linkPrefixesToCheck(header))
    }
    if (header.size === 0) continue
    offset += header.size + ((512 - (header.size % 512)) % 512)
    if (offset > tar.byteLength) return undefined
  }
  if (entries === 0 || linkPrefixes.some((prefix) => symlinks.has(prefix))) return undefined
  return { digest: sha256Hex(tar), ociDigest: toOciDigest(sha256Hex(bytes)), size, uncompressedSize: tar.byteLength, entries }
}

