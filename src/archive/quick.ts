/**
 * The synchronous pass over a small blob held whole in memory (a push given as bytes): the same
 * verdict and facts as the streaming pass of `validate.ts`, without its stream machinery, or no
 * verdict at all, and then the streaming pass decides.
 * @module
 */
import { gunzipSync } from 'node:zlib'
import { sha256Hex, toOciDigest } from '../digest/index.js'
import type { ArchiveLimits } from '../registry/types.js'
import { DEFAULT_LIMITS, FEED_BYTES, RATIO_GRACE_BYTES, resolveLimits } from './limits.js'
import { checkEntryHeader, type EntryHeader, linkPrefixesToCheck, normalisePath } from './paths.js'
import type { BlobFacts, EntryVisitor } from './validate.js'

/** Largest blob {@link quickFacts} looks at: one zlib feed, so the streaming pass's ratio check sees the whole blob at once too. */
export const QUICK_BYTES = FEED_BYTES

/**
 * The facts of a small blob held whole in memory, found synchronously, or `undefined` when the
 * blob is not plainly valid — then the streaming pass (`analyzeBlob`) decides and reports
 * exactly why. Accepts only what `analyzeBlob` accepts, with the same facts: one zlib pass
 * within the same size and ratio limits, tar headers read as tar-stream reads them (see
 * {@link scanTar}) and walked as its extractor walks them, the same entry rules. For a chart of
 * a few KiB this is several times cheaper than the streaming pass (no thread-pool round trip,
 * no stream machinery). `visit` sees each entry as `scanBlob`'s visitor does (its data in one
 * chunk); on `undefined` it may have seen some entries, which the streaming pass then shows again.
 */
export function quickFacts(bytes: Uint8Array, limits?: ArchiveLimits, visit?: EntryVisitor): BlobFacts | undefined {
  const size = bytes.byteLength
  if (size === 0 || size > QUICK_BYTES) return undefined
  const max = limits === undefined ? DEFAULT_LIMITS : resolveLimits(limits)
  if (size > max.maxCompressedBytes) return undefined
  // The streaming pass fails once the output passes either bound (the whole input is fed at once).
  const outputLimit = Math.min(max.maxUncompressedBytes, Math.max(RATIO_GRACE_BYTES, size * max.maxRatio))
  if (!(outputLimit >= 1)) return undefined
  let tar: Buffer
  try {
    const { buffer, engine } = gunzipSync(bytes, { maxOutputLength: outputLimit, info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } }
    // Bytes after the gzip stream (zero padding or garbage): the streaming pass decides.
    if (engine.bytesWritten !== size) return undefined
    tar = buffer
  } catch {
    return undefined
  }
  const entries = scanTar(tar, max, visit)
  if (entries === undefined) return undefined
  return { digest: sha256Hex(tar), ociDigest: toOciDigest(sha256Hex(bytes)), size, uncompressedSize: tar.byteLength, entries }
}

const BLOCK = 512
// "ustar\0": POSIX ustar (its prefix field extends the name); "ustar " + " \0": GNU (no prefix).
const USTAR = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00]
const GNU = [0x75, 0x73, 0x74, 0x61, 0x72, 0x20, 0x20, 0x00]

/**
 * Walks a whole tar as tar-stream's extractor does and checks every entry with the streaming
 * pass's rules; returns the number of entries, or `undefined` when the archive is rejected or
 * anything in it is out of the ordinary (then the streaming pass decides).
 *
 * Reads only plain headers, exactly as tar-stream 3's `headers.decode` reads them: ustar or GNU
 * magic, a valid checksum, octal size and checksum fields, an ASCII name, prefix and link name,
 * and a file, directory, contiguous file, hard link or symlink type. Anything else (pax or GNU
 * long-name headers, base-256 numbers, other magic, non-ASCII names) gives `undefined`.
 * As in tar-stream, a block whose bytes outside the checksum field are all zero is skipped
 * wherever it is, and the archive must end exactly at the end of a block.
 */
function scanTar(tar: Uint8Array, max: Required<ArchiveLimits>, visit?: EntryVisitor): number | undefined {
  const length = tar.byteLength
  // Header checksums are summed four bytes at a time (a byte loop was a third of the scan).
  // zlib's output starts 4-byte aligned; anything else is copied to a buffer that does.
  const aligned = tar.byteOffset % 4 === 0 ? tar : tar.slice()
  const words = new Uint32Array(aligned.buffer, aligned.byteOffset, length >>> 2)
  let entries = 0
  let symlinks: Set<string> | undefined
  let linkPrefixes: string[] | undefined
  let offset = 0
  while (offset < length) {
    if (length - offset < BLOCK) return undefined
    const at = offset
    offset += BLOCK
    const sum = checksumBytes(words, at >>> 2)
    if (sum === 0) continue // a zero block: tar-stream's null header
    if (octal(tar, at + 148, 8) !== sum + 8 * 0x20) return undefined
    let type: string
    switch (tar[at + 156]) {
      case 0:
      case 0x30:
        type = 'file'
        break
      case 0x31:
        type = 'link'
        break
      case 0x32:
        type = 'symlink'
        break
      case 0x35:
        type = 'directory'
        break
      case 0x37:
        type = 'contiguous-file'
        break
      default:
        return undefined
    }
    const ustar = matches(tar, at + 257, USTAR)
    if (!ustar && !matches(tar, at + 257, GNU)) return undefined
    let name = ascii(tar, at, 100)
    if (name === undefined) return undefined
    if (ustar && tar[at + 345] !== 0) {
      const prefix = ascii(tar, at + 345, 155)
      if (prefix === undefined) return undefined
      name = `${prefix}/${name}`
    }
    const linkname = tar[at + 157] === 0 ? null : ascii(tar, at + 157, 100)
    if (linkname === undefined) return undefined
    const size = octal(tar, at + 124, 12)
    if (size === undefined) return undefined
    // (tar-stream turns a type-0 entry whose name ends in `/` into a directory only after it
    // has named the type: the entry stays a `file`, as here.)
    // The mode only for a visitor (inspect lists it), read as tar-stream reads it.
    const mode = visit && octal(tar, at + 100, 8)
    if (visit && mode === undefined) return undefined
    const header: EntryHeader = { name, type, linkname, size, ...(mode === undefined ? {} : { mode }) }
    entries++
    if (entries > max.maxEntries || checkEntryHeader(header, max) !== undefined) return undefined
    if (type === 'symlink') {
      symlinks ??= new Set()
      linkPrefixes ??= []
      symlinks.add(normalisePath(name))
      linkPrefixes.push(...linkPrefixesToCheck(header))
    }
    // The data, then zeros up to the next block boundary.
    const data = offset
    offset += size + ((BLOCK - (size % BLOCK)) % BLOCK)
    if (offset > length) return undefined
    const sink = visit?.(header)
    if (sink && size > 0) sink(tar.subarray(data, data + size))
  }
  // A link resolved lexically is only safe if no component it steps back out of is itself a symlink.
  if (entries === 0 || linkPrefixes?.some((prefix) => symlinks!.has(prefix))) return undefined
  return entries
}

/**
 * Sum of the bytes of the header block starting at word `at`, outside its checksum field
 * (bytes 148–155, words 37 and 38), added as two 16-bit lanes of byte pairs: a lane gains at
 * most 510 per word, so 126 words never carry into the other lane. Byte order does not matter.
 */
function checksumBytes(words: Uint32Array, at: number): number {
  let lanes = 0
  for (let i = at; i < at + 37; i++) {
    const w = words[i]!
    lanes += (w & 0x00ff00ff) + ((w >>> 8) & 0x00ff00ff)
  }
  for (let i = at + 39; i < at + BLOCK / 4; i++) {
    const w = words[i]!
    lanes += (w & 0x00ff00ff) + ((w >>> 8) & 0x00ff00ff)
  }
  return (lanes & 0xffff) + (lanes >>> 16)
}

function matches(bytes: Uint8Array, at: number, expected: readonly number[]): boolean {
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false
  return true
}

/** The field's text up to its first NUL, when every byte of it is ASCII (then UTF-8 decoding gives the same). */
function ascii(bytes: Uint8Array, at: number, width: number): string | undefined {
  let end = at
  const stop = at + width
  for (; end < stop; end++) {
    const byte = bytes[end]!
    if (byte === 0) break
    if (byte >= 0x80) return undefined
  }
  return String.fromCharCode.apply(null, bytes.subarray(at, end) as unknown as number[])
}

/**
 * An octal field as tar-stream's `decodeOct` reads it — leading spaces skipped, the field cut at
 * its next space, leading NULs skipped, nothing left → 0, else octal digits up to a NUL or the
 * cut — or `undefined` for anything else (a base-256 number, a sign, a stray character), which
 * tar-stream may read otherwise.
 */
function octal(bytes: Uint8Array, at: number, width: number): number | undefined {
  const stop = at + width
  let i = at
  if (bytes[i]! & 0x80) return undefined
  while (i < stop && bytes[i] === 0x20) i++
  let end = i
  while (end < stop && bytes[end] !== 0x20) end++
  while (i < end && bytes[i] === 0) i++
  if (i === end) return 0
  let value = 0
  const first = i
  for (; i < end; i++) {
    const byte = bytes[i]!
    if (byte < 0x30 || byte > 0x37) break
    value = value * 8 + (byte - 0x30)
  }
  // No digit, or digits followed by anything but a NUL (after which parseInt would stop too).
  if (i === first || (i < end && bytes[i] !== 0)) return undefined
  return value
}
