// quickFacts (the synchronous pass for small in-memory blobs) against analyzeBlob's streaming
// pass: whenever the quick pass accepts a blob, the streaming pass accepts it too with the very
// same facts; whatever it is unsure of, the streaming pass decides. Inputs: valid archives of
// every entry type, bent at the tar or the gzip level, cut, padded, concatenated, under random
// limits; and the hostile corpus.
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { quickFacts } from '../../src/archive/quick.js'
import { analyzeBlob, type BlobFacts } from '../../src/archive/validate.js'
import type { ArchiveLimits } from '../../src/registry/types.js'
import { makeHostileArchives, TAR_END, tarEntry, tarGz } from '../../scripts/make-hostile-archives.js'
import { kubeUi, rocketchat, tgz } from './helpers.js'

const runs = Number(process.env.FC_RUNS ?? 150)

/** The streaming pass over the blob as one chunk: its facts, or the rejection reason. */
async function streamed(bytes: Uint8Array, limits?: ArchiveLimits): Promise<BlobFacts | { rejected: unknown }> {
  const { chunks, facts } = analyzeBlob(
    (async function* () {
      yield bytes
    })(),
    limits,
  )
  try {
    for await (const _ of chunks) {
      // drained for validation
    }
    return await facts
  } catch (e) {
    return { rejected: (e as { details?: { reason?: unknown } }).details?.reason ?? String(e) }
  }
}

async function agree(bytes: Uint8Array, limits?: ArchiveLimits): Promise<boolean> {
  const quick = quickFacts(bytes, limits)
  if (quick === undefined) return false
  const slow = await streamed(bytes, limits)
  assert.equal(quick, slow, `quick pass accepted a blob the streaming pass ${'rejected' in slow ? `rejects (${String(slow.rejected)})` : 'sees otherwise'}`)
  return true
}

/** Like the benchmark's charts: a directory and three files, in ustar headers. */
const chartLike = tarGz([
  { name: 'pkg-1/', type: 'directory' },
  { name: 'pkg-1/Chart.yaml', data: 'apiVersion: v1\nname: pkg-1\nversion: 1.0.0\n' },
  { name: 'pkg-1/values.yaml', data: 'replicaCount: 1\n'.repeat(40) },
  { name: 'pkg-1/templates/deployment.yaml', data: 'kind: Deployment\n' },
])

const seeds = [
  rocketchat,
  kubeUi,
  await tgz({ 'chart/Chart.yaml': 'name: c\n', 'chart/values.yaml': 'x: 1\n'.repeat(200) }),
  tarGz([
    { name: 'chart/', type: 'directory' },
    { name: 'chart/Chart.yaml', data: 'name: chart\nversion: 1.0.0\n' },
    { name: 'chart/templates/a.yaml', data: 'kind: A\n'.repeat(50) },
    { name: 'chart/link', type: 'symlink', linkname: 'templates/a.yaml' },
    { name: 'chart/hard', type: 'link', linkname: 'chart/Chart.yaml' },
    { name: 'chart/empty', data: '' },
  ]),
  // Symlinks stepping out through another symlink.
  tarGz([
    { name: 'a', type: 'symlink', linkname: '.' },
    { name: 'b', type: 'symlink', linkname: 'a/..' },
  ]),
]

test('valid archives take the quick pass with the streaming facts', async () => {
  let hits = 0
  for (const seed of seeds) if (await agree(seed)) hits++
  assert.ok(hits >= seeds.length - 1, `quick pass took ${hits} of ${seeds.length}`)
})

test('bent archives: the quick pass never accepts what the streaming pass rejects', async () => {
  let hits = 0
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...seeds),
      fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
      fc.constantFrom('tar', 'gzip'),
      fc.option(fc.nat(), { nil: undefined }),
      fc.constantFrom('none', 'garbage', 'zeros', 'member', 'half-block'),
      fc.option(
        fc.record({
          maxEntries: fc.integer({ min: 1, max: 8 }),
          maxEntryBytes: fc.integer({ min: 1, max: 4096 }),
          maxPathLength: fc.integer({ min: 1, max: 40 }),
          maxRatio: fc.integer({ min: 1, max: 30 }),
          maxUncompressedBytes: fc.integer({ min: 1, max: 20_000 }),
          maxCompressedBytes: fc.integer({ min: 1, max: 2000 }),
        }),
        { nil: undefined },
      ),
      async (seed, edits, level, cut, tail, limits) => {
        let bytes = new Uint8Array(level === 'tar' ? gunzipSync(seed) : seed)
        for (const { at, value } of edits) if (bytes.length > 0) bytes[at % bytes.length] = value
        if (cut !== undefined && bytes.length > 0) bytes = bytes.subarray(0, cut % bytes.length)
        if (level === 'tar' && tail === 'half-block') bytes = new Uint8Array(Buffer.concat([bytes, new Uint8Array(100)]))
        if (level === 'tar' && tail === 'zeros') bytes = new Uint8Array(Buffer.concat([bytes, new Uint8Array(2048)]))
        if (level === 'tar') bytes = new Uint8Array(gzipSync(bytes))
        if (tail === 'garbage') bytes = new Uint8Array(Buffer.concat([bytes, new TextEncoder().encode('trailing garbage')]))
        if (tail === 'member') bytes = new Uint8Array(Buffer.concat([bytes, gzipSync(new Uint8Array(1024))]))
        // Only some random limits are worth a run: the sub-object makes them all optional.
        const picked = limits && Object.fromEntries(Object.entries(limits).filter((_, i) => (edits.length + i) % 3 === 0))
        if (await agree(bytes, picked)) hits++
      },
    ),
    // The unbent archives always run too, so the acceptance side is exercised on every seed
    // (random edits alone sometimes bend every run into a rejection).
    { numRuns: runs, examples: seeds.map((seed): [Uint8Array, { at: number; value: number }[], 'gzip', undefined, 'none', undefined] => [seed, [], 'gzip', undefined, 'none', undefined]) },
  )
  assert.ok(hits > 0, 'the quick pass accepted none of the runs')
})

// The quick pass reads tar headers with its own code: bend header fields to the values where a
// hand-written reader could part from tar-stream's (spaces, NULs, signs, base-256 bytes, other
// magic, non-ASCII and odd names, every type flag), then give the header a valid checksum in one
// of the spellings tar writers use (or leave it wrong), so the bent header is actually read.
const ALPHABET = [
  ...[0, 0x20, 0x09, 0x2b, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x35, 0x37, 0x38, 0x39, 0x41, 0x4c, 0x4b, 0x53, 0x5c, 0x61, 0x67, 0x78, 0x80, 0xc3, 0xff].map((b) => [b]),
  [0x2e, 0x2e], // ..
  [0xc3, 0xa9], // é: one character in UTF-8, two in Latin-1
  [0xe2, 0x82, 0xac], // €
  [0xf0, 0x9f, 0x98, 0x80], // an astral character (two UTF-16 units)
]
const FIELDS = [
  [0, 100], // name
  [100, 8], // mode
  [124, 12], // size
  [148, 8], // checksum
  [156, 1], // type flag
  [157, 100], // link name
  [257, 8], // magic and version
  [345, 155], // prefix
] as const
const MAGICS = ['ustar\u000000', 'ustar  \u0000', 'ustar\u0000  ', 'ustar ab', '\u0000'.repeat(8)]

/** Offsets of the header blocks of a tar (walked by the sizes its headers claim). */
function headerOffsets(tar: Uint8Array): number[] {
  const out: number[] = []
  for (let at = 0; at + 512 <= tar.length; ) {
    const block = tar.subarray(at, at + 512)
    if (block.every((b) => b === 0)) {
      at += 512
      continue
    }
    out.push(at)
    const size = Number.parseInt(new TextDecoder().decode(block.subarray(124, 136)).replace(/\0.*$/s, '').trim() || '0', 8)
    at += 512 + Math.ceil((Number.isFinite(size) ? size : 0) / 512) * 512
  }
  return out
}

function writeChecksum(block: Uint8Array, spelling: number): void {
  let sum = 8 * 0x20
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += block[i]!
  const text = [
    `${sum.toString(8).padStart(6, '0')}\0 `,
    `${sum.toString(8).padStart(7, '0')}\0`,
    `  ${sum.toString(8)} `.padEnd(8, '\0'),
    `\0\0${sum.toString(8)}`.padEnd(8, ' '),
    `${sum.toString(8)}\0xyz`.padEnd(8, 'q'),
    `+${sum.toString(8)}`.padEnd(8, '\0'),
  ][spelling]
  if (text !== undefined) block.set(new TextEncoder().encode(text).subarray(0, 8), 148)
}

test('bent tar headers with valid checksums: the quick pass agrees with the streaming pass', async () => {
  let hits = 0
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...seeds.slice(0, 4), chartLike),
      fc.nat(),
      fc.array(
        fc.record({ field: fc.nat({ max: FIELDS.length - 1 }), at: fc.nat(), value: fc.constantFrom(...ALPHABET), span: fc.integer({ min: 1, max: 4 }) }),
        { minLength: 1, maxLength: 4 },
      ),
      fc.option(fc.nat({ max: MAGICS.length - 1 }), { nil: undefined }),
      fc.nat({ max: 6 }),
      fc.option(fc.record({ maxPathLength: fc.integer({ min: 1, max: 40 }), maxEntryBytes: fc.integer({ min: 1, max: 4096 }) }, { requiredKeys: [] }), { nil: undefined }),
      async (seed, pick, edits, magic, spelling, limits) => {
        const tar = new Uint8Array(gunzipSync(seed))
        const offsets = headerOffsets(tar)
        const at = offsets[pick % offsets.length]!
        const block = tar.subarray(at, at + 512)
        for (const { field, at: where, value, span } of edits) {
          const [start, width] = FIELDS[field]!
          for (let k = 0; k < span * value.length; k++) block[start + ((where + k) % width)] = value[k % value.length]!
        }
        if (magic !== undefined) block.set(new TextEncoder().encode(MAGICS[magic]!), 257)
        writeChecksum(block, spelling) // spelling 6: the checksum is left wrong
        if (await agree(new Uint8Array(gzipSync(tar)), limits)) hits++
      },
    ),
    { numRuns: runs * 4 },
  )
  assert.ok(hits > 0, 'the quick pass accepted none of the runs')
})

test('plain headers in every accepted spelling take the quick pass', async () => {
  const tar = (header: (block: Uint8Array) => void) => {
    const entry = tarEntry({ name: 'chart/values.yaml' }, new TextEncoder().encode('a: 1\n'))
    header(entry.subarray(0, 512))
    writeChecksum(entry.subarray(0, 512), 0)
    return new Uint8Array(gzipSync(Buffer.concat([tarEntry({ name: 'chart/', type: 'directory' }), entry, TAR_END])))
  }
  const put = (block: Uint8Array, at: number, text: string) => block.set(new TextEncoder().encode(text), at)
  const variants: [string, (block: Uint8Array) => void][] = [
    ['ustar', () => {}],
    ['gnu magic', (b) => put(b, 257, 'ustar  \u0000')],
    ['ustar prefix', (b) => {
      b.fill(0, 0, 100)
      put(b, 0, 'values.yaml')
      put(b, 345, 'chart')
    }],
    ['size with leading spaces', (b) => put(b, 124, '         6 ')],
    ['size with leading NULs', (b) => put(b, 124, `${'\x00'.repeat(9)}6\x00`)],
    ['type flag NUL', (b) => put(b, 156, '\0')],
    ['contiguous file', (b) => put(b, 156, '7')],
    // Bytes the verdict ignores, at their largest: the checksum sums them all the same.
    ['owner names of 0xff bytes', (b) => b.fill(0xff, 265, 329)],
  ]
  for (const [name, bend] of variants) {
    const blob = tar(bend)
    assert.ok(await agree(blob), `${name}: left to the streaming pass`)
  }
  // A prefix the path rules reject is read as part of the name.
  const traversal = tar((b) => put(b, 345, '../chart'))
  assert.is(quickFacts(traversal), undefined)
  assert.equal((await streamed(traversal)) as unknown, { rejected: 'path-traversal' })
})

test('the hostile corpus is left to the streaming pass', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'appr-quick-'))
  try {
    for (const archive of await makeHostileArchives(dir)) {
      const bytes = new Uint8Array(await readFile(archive.file))
      assert.is(quickFacts(bytes), undefined, archive.name)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a directory header claiming data is left to the streaming pass', () => {
  // (tar-stream never ends such an entry's stream; the streaming pass is what answers it.)
  const bytes = gzipSync(Buffer.concat([tarEntry({ name: 'd/', type: 'directory', size: 512 }), tarEntry({ name: 'd/f' }, new TextEncoder().encode('x')), TAR_END]))
  assert.is(quickFacts(new Uint8Array(bytes)), undefined)
})

test('blobs above one zlib feed, and empty ones, are left to the streaming pass', () => {
  assert.is(quickFacts(new Uint8Array(0)), undefined)
  const big = gzipSync(Buffer.concat([tarEntry({ name: 'big' }, new Uint8Array(200_000).map((_, i) => (i * 7919) % 251)), TAR_END]), { level: 0 })
  assert.ok(big.byteLength > 64 * 1024)
  assert.is(quickFacts(new Uint8Array(big)), undefined)
})

test.run()
