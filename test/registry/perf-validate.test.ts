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
