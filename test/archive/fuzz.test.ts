/**
 * Properties: any mutation of a valid archive is either accepted or rejected with an ApprError
 * (never another error, a crash or a hang); any packed tree is accepted, lists exactly its files,
 * and packs to the same bytes whatever its mtimes.
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { inspectArchive, packDirectory, validateBlob } from 'appr-core/archive'
import { isApprError } from 'appr-core'
import { gunzipSync, gzipSync } from 'node:zlib'
import { tarGz } from '../../scripts/make-hostile-archives.js'

const runs = Number(process.env.FC_RUNS ?? 60)

async function bytesOf(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of chunks) parts.push(c)
  return new Uint8Array(Buffer.concat(parts))
}

const seed = tarGz([
  { name: 'chart/Chart.yaml', data: 'name: chart\nversion: 1.0.0\n' },
  { name: 'chart/templates/a.yaml', data: 'kind: A\n'.repeat(50) },
  { name: 'chart/link', type: 'symlink', linkname: 'templates/a.yaml' },
])

test('mutated archives are accepted or rejected with an ApprError, never anything else', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.integer({ min: 1, max: 64 }),
      fc.boolean(),
      async (edits, cut, chunk, inTar) => {
        // Mutating the tar (then gzipping) reaches the tar parser; mutating the gzip mostly zlib.
        const blob = new Uint8Array(inTar ? gunzipSync(seed) : seed)
        for (const { at, value } of edits) blob[at % blob.length] = value
        const cutBlob = cut === undefined ? blob : blob.subarray(0, cut % blob.length)
        const input = inTar ? new Uint8Array(gzipSync(cutBlob)) : cutBlob
        async function* pieces() {
          for (let i = 0; i < input.length; i += chunk) yield input.subarray(i, i + chunk)
        }
        try {
          await validateBlob(pieces())
        } catch (e) {
          if (!isApprError(e)) throw new Error(`not an ApprError: ${String(e)}`)
          assert.type(e.details.reason, 'string')
        }
      },
    ),
    { numRuns: runs * 4 },
  )
})

const segment = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,11}$/).filter((s) => s !== '.' && s !== '..')
const tree = fc.uniqueArray(fc.tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.uint8Array({ maxLength: 300 })), {
  minLength: 1,
  maxLength: 12,
  selector: ([path]) => path.join('/'),
})

test('a packed tree is accepted, lists exactly its files, and ignores mtimes', async () => {
  const base = await mkdtemp(join(tmpdir(), 'appr-fuzz-'))
  let n = 0
  try {
    await fc.assert(
      fc.asyncProperty(tree, fc.array(fc.integer({ min: 0, max: 2_000_000_000 }), { minLength: 2, maxLength: 2 }), async (files, [t1, t2]) => {
        // A path may not be both a file and a directory.
        const paths = files.map(([p]) => p.join('/'))
        fc.pre(!paths.some((p) => paths.some((q) => q.startsWith(`${p}/`))))
        const dir = join(base, String(n++))
        for (const [path, data] of files) {
          const file = join(dir, ...path)
          await mkdir(dirname(file), { recursive: true })
          await writeFile(file, data)
          await utimes(file, t1!, t1!)
        }
        const first = await bytesOf(packDirectory(dir))
        for (const [path] of files) await utimes(join(dir, ...path), t2!, t2!)
        const second = await bytesOf(packDirectory(dir))
        assert.equal(second, first)
        const seen = await inspectArchive(first)
        assert.equal(
          seen.files.map((f) => [f.path, f.size]),
          files.map(([p, d]) => [p.join('/'), d.length]).sort(([a], [b]) => Buffer.compare(Buffer.from(a as string), Buffer.from(b as string))),
        )
      }),
      { numRuns: runs },
    )
  } finally {
    await rm(base, { recursive: true, force: true })
  }
})

test.run()
