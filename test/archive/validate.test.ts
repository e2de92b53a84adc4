import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { gunzipSync, gzipSync } from 'node:zlib'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type ArchiveLimits, analyzeBlob, digestBlob, validateBlob } from 'appr-core/archive'
import { isApprError } from 'appr-core'
import { TAR_END, tarEntry, tarGz, tarHeader } from '../../scripts/make-hostile-archives.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (e) => unhandled.push(e))

const fixtures = new URL('../fixtures', import.meta.url).pathname
const rocketchat = new Uint8Array(Buffer.from(readFileSync(`${fixtures}/rocketchat.tar.gz.b64`, 'utf8'), 'base64'))
const kubeUi = new Uint8Array(readFileSync(`${fixtures}/kube-ui.tar.gz`))

async function* pieces(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

/** Asserts that validating `blob` fails with `code` and `details.reason`; returns the details. */
async function rejects(blob: Uint8Array, reason: string, limits?: ArchiveLimits, code = 'invalid-usage') {
  try {
    await validateBlob(blob, limits)
  } catch (e) {
    assert.ok(isApprError(e), `not an ApprError: ${String(e)}`)
    assert.is(e.code, code)
    assert.is(e.details.reason, reason, `reason ${String(e.details.reason)} (${e.message})`)
    return e.details
  }
  assert.unreachable(`accepted, expected ${reason}`)
  return {}
}

test('golden vectors', async () => {
  const r = await validateBlob(rocketchat)
  assert.is(r.digest, '8dc8a2c479f770fd710e0dddaa7af0e6b495bc6375cdf2b4a649f4c2b03e27d5')
  assert.is(r.size, 848)
  const k = await validateBlob(kubeUi)
  assert.is(k.digest, 'd14ec5d33581b51a389db8f3f4e26421eaba09460c8ea4817225abd4a5a1b44a')
  assert.is(k.size, 765)
  assert.is(k.entries, 4)
  assert.is(k.uncompressedSize, 10240)
  const { digest, ociDigest, size } = await digestBlob(kubeUi)
  assert.equal({ digest, ociDigest, size }, { digest: k.digest, ociDigest: k.ociDigest, size: k.size })
})

test('chunks pass the very same bytes through, whatever the chunking', async () => {
  for (const size of [1, 100, 100_000]) {
    const { chunks, facts } = analyzeBlob(pieces(rocketchat, size))
    const seen: Uint8Array[] = []
    for await (const c of chunks) seen.push(c)
    assert.equal(new Uint8Array(Buffer.concat(seen)), rocketchat)
    assert.is((await facts).digest, '8dc8a2c479f770fd710e0dddaa7af0e6b495bc6375cdf2b4a649f4c2b03e27d5')
  }
})

test('a valid archive with directories, links inside and long (pax) names passes', async () => {
  const long = `chart/${'d'.repeat(150)}/values.yaml`
  const { pack } = await import('tar-stream')
  const p = pack()
  p.entry({ name: 'chart/', type: 'directory' })
  p.entry({ name: 'chart/Chart.yaml' }, 'name: x\n')
  p.entry({ name: long }, 'a: 1\n')
  p.entry({ name: 'chart/templates/link.yaml', type: 'symlink', linkname: '../Chart.yaml' })
  p.entry({ name: 'chart/hard', type: 'link', linkname: 'chart/Chart.yaml' })
  p.finalize()
  const parts: Uint8Array[] = []
  for await (const c of p as AsyncIterable<Uint8Array>) parts.push(c)
  const facts = await validateBlob(gzipSync(Buffer.concat(parts)))
  assert.is(facts.entries, 5)
})

test('not gzip: plain bytes, zero bytes, a corrupt deflate stream', async () => {
  await rejects(new TextEncoder().encode('hello'), 'not-gzip')
  await rejects(new Uint8Array(0), 'not-gzip')
  const corrupt = new Uint8Array(kubeUi)
  corrupt.fill(0xff, 20, 200)
  await rejects(corrupt, 'not-gzip')
})

test('after the gzip stream: zero padding is accepted, any other byte is not-gzip, however the bytes are chunked', async () => {
  const gz = tarGz([{ name: 'a/Chart.yaml', data: 'name: a\n' }])
  const plain = await validateBlob(gz)
  /** The verdict on `parts` as one buffer and as a stream of those parts, each within 5 s (a hang is a failure too). */
  const verdicts = async (parts: Uint8Array[]) => {
    const whole = new Uint8Array(Buffer.concat(parts))
    async function* stream() {
      for (const part of parts) yield part
    }
    const outcome = (input: Uint8Array | AsyncIterable<Uint8Array>) =>
      Promise.race([
        validateBlob(input).then(
          (facts) => `ok ${facts.digest === plain.digest} ${facts.size}`,
          (e: unknown) => (isApprError(e) ? String(e.details.reason) : String(e)),
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 5000).unref()),
      ])
    return [await outcome(whole), await outcome(stream())]
  }
  const zeros = (n: number) => new Uint8Array(n)
  const text = (t: string) => new Uint8Array(Buffer.from(t))
  // Padding, as block-oriented tools (tape, dd conv=sync) leave it: same digest, size as sent.
  assert.equal(await verdicts([gz, zeros(1)]), [`ok true ${gz.length + 1}`, `ok true ${gz.length + 1}`])
  assert.equal(await verdicts([gz, zeros(10_240)]), [`ok true ${gz.length + 10_240}`, `ok true ${gz.length + 10_240}`])
  assert.equal(await verdicts([gz, zeros(3), zeros(5000)]), [`ok true ${gz.length + 5003}`, `ok true ${gz.length + 5003}`])
  // Garbage, right after the stream or after some padding, in the same chunk or a later one.
  assert.equal(await verdicts([gz, text('garbage')]), ['not-gzip', 'not-gzip'])
  assert.equal(await verdicts([new Uint8Array(Buffer.concat([gz, zeros(1), text('garbage')]))]), ['not-gzip', 'not-gzip'])
  assert.equal(await verdicts([new Uint8Array(Buffer.concat([gz, zeros(1)])), text('garbage')]), ['not-gzip', 'not-gzip'])
  assert.equal(await verdicts([gz, zeros(600), text('x'), zeros(600)]), ['not-gzip', 'not-gzip'])
})

test('truncated gzip and truncated tar', async () => {
  await rejects(kubeUi.subarray(0, kubeUi.length - 10), 'truncated')
  const cut = Buffer.concat([tarEntry({ name: 'a' }, new Uint8Array(2000))]).subarray(0, 1200)
  const d = await rejects(gzipSync(cut), 'truncated')
  assert.is(d.entry, 'a')
})

test('a valid gzip of bytes that are not a tar', async () => {
  await rejects(gzipSync(Buffer.from('x'.repeat(5000))), 'not-tar')
  await rejects(gzipSync(Buffer.from('short')), 'not-tar')
})

test('an archive with no entries', async () => {
  await rejects(gzipSync(TAR_END), 'empty')
  await rejects(gzipSync(new Uint8Array(0)), 'empty')
})

test('.. segments and absolute paths', async () => {
  assert.is((await rejects(tarGz([{ name: '../../etc/passwd' }]), 'path-traversal')).entry, '../../etc/passwd')
  await rejects(tarGz([{ name: 'chart/../../x' }]), 'path-traversal')
  await rejects(tarGz([{ name: 'chart\\..\\x' }]), 'path-traversal')
  await rejects(tarGz([{ name: '/etc/passwd' }]), 'absolute-path')
  await rejects(tarGz([{ name: 'C:/Windows/x' }]), 'absolute-path')
  await rejects(tarGz([{ name: '\\share\\x' }]), 'absolute-path')
  // `..` as part of a name is fine.
  assert.is((await validateBlob(tarGz([{ name: 'chart/a..b' }]))).entries, 1)
})

test('links pointing outside the archive', async () => {
  await rejects(tarGz([{ name: 'root', type: 'symlink', linkname: '/' }]), 'link-outside')
  await rejects(tarGz([{ name: 'chart/up', type: 'symlink', linkname: '../..' }]), 'link-outside')
  await rejects(tarGz([{ name: 'chart/x', type: 'symlink', linkname: 'a/../../../etc' }]), 'link-outside')
  await rejects(tarGz([{ name: 'hard', type: 'link', linkname: '../etc/passwd' }]), 'link-outside')
  await rejects(tarGz([{ name: 'hard', type: 'link', linkname: '/etc/passwd' }]), 'link-outside')
  await rejects(tarGz([{ name: 'empty', type: 'symlink', linkname: '' }]), 'link-outside')
  // Lexically inside, but `a` is itself a link to `.`, so `a/..` is the parent of the archive.
  const d = await rejects(tarGz([{ name: 'b', type: 'symlink', linkname: 'a/..' }, { name: 'a', type: 'symlink', linkname: '.' }]), 'link-outside')
  assert.is(d.entry, 'b')
  // Links that stay inside pass.
  await validateBlob(tarGz([{ name: 'chart/t/x', type: 'symlink', linkname: '../values.yaml' }, { name: 'chart/values.yaml' }]))
})

test('device files and FIFOs', async () => {
  for (const type of ['character-device', 'block-device', 'fifo'] as const) {
    assert.is((await rejects(tarGz([{ name: 'dev/x', type }]), 'device-file')).entry, 'dev/x')
  }
})

test('a directory or link that claims data is rejected, not left hanging', async () => {
  // tar-stream never ends such an entry's data stream: this once stalled validation forever.
  for (const h of [{ name: 'app/', type: 'directory' as const }, { name: 'app/l', type: 'symlink' as const, linkname: 'x' }]) {
    const blob = gzipSync(Buffer.concat([tarEntry(h, new Uint8Array(1024)), tarEntry({ name: 'app/x' }, new TextEncoder().encode('hi')), TAR_END]))
    const streamed = analyzeBlob(pieces(blob, 100))
    streamed.facts.catch(() => undefined)
    const settled = await Promise.race([
      (async () => {
        for await (const _ of streamed.chunks);
      })().then(
        () => 'accepted',
        (e) => (isApprError(e) ? String(e.details.reason) : String(e)),
      ),
      new Promise((resolve) => setTimeout(() => resolve('hung'), 5000)),
    ])
    assert.is(settled, 'unsupported-entry')
    assert.is((await rejects(blob, 'unsupported-entry')).entry, h.name)
  }
})

test('unknown entry types', async () => {
  const h = tarHeader({ name: 'weird' })
  h[156] = 'Z'.charCodeAt(0)
  let sum = 0
  h.fill(32, 148, 156)
  for (const b of h) sum += b
  h.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148)
  await rejects(gzipSync(Buffer.concat([h, TAR_END])), 'unsupported-entry')
})

test('every limit', async () => {
  const three = tarGz([{ name: 'a', data: 'x'.repeat(100) }, { name: 'b' }, { name: 'c' }])
  assert.is((await rejects(three, 'too-many-entries', { maxEntries: 2 })).entry, 'c')
  assert.is((await validateBlob(three, { maxEntries: 3 })).entries, 3)
  assert.is((await rejects(three, 'entry-too-large', { maxEntryBytes: 99 })).entry, 'a')
  await rejects(tarGz([{ name: 'abcdef' }]), 'path-too-long', { maxPathLength: 5 })
  await rejects(tarGz([{ name: 'l', type: 'symlink', linkname: 'abcdef' }]), 'path-too-long', { maxPathLength: 5 })
  await rejects(three, 'uncompressed-too-large', { maxUncompressedBytes: 2048 })
  await rejects(three, 'too-large', { maxCompressedBytes: three.length - 1 }, 'payload-too-large')
  assert.is((await validateBlob(three, { maxCompressedBytes: three.length })).entries, 3)
  // Ratio: 4 MiB of zeros compresses about 1000:1.
  const zeros = gzipSync(Buffer.concat([tarEntry({ name: 'z' }, new Uint8Array(4 * 1024 * 1024)), TAR_END]))
  await rejects(zeros, 'ratio-exceeded')
  assert.is((await validateBlob(zeros, { maxRatio: 5000 })).entries, 1)
  // The compressed limit is checked while streaming, before the rest is read.
  let pulled = 0
  async function* counted() {
    for await (const c of pieces(zeros, 100)) {
      pulled += c.length
      yield c
    }
  }
  try {
    await validateBlob(counted(), { maxCompressedBytes: 1000, maxRatio: 1e9 })
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'payload-too-large'))
  }
  assert.ok(pulled <= 1100, `pulled ${pulled}`)
})

test('the ratio is held against the gzip bytes zlib had worked through, not those handed to it ahead', async () => {
  // 4 MiB of zeros (about 1000:1) then 300 KiB of noise: about 14:1 over the whole blob.
  const blob = gzipSync(Buffer.concat([tarEntry({ name: 'z' }, new Uint8Array(4 * 1024 * 1024)), tarEntry({ name: 'r' }, randomBytes(300 * 1024)), TAR_END]))
  // Read 1 KiB at a time, the zeros pass 600:1 long before the noise comes: rejected, though
  // more of the blob is already with zlib by then.
  const { chunks, facts } = analyzeBlob(pieces(blob, 1024), { maxRatio: 600 })
  facts.catch(() => undefined)
  try {
    for await (const _ of chunks);
    assert.unreachable('accepted')
  } catch (e) {
    assert.ok(isApprError(e) && e.details.reason === 'ratio-exceeded', String(e))
  }
  // Handed over at once, the first 64 KiB piece holds all the zeros: 4 MiB out of 64 KiB in passes.
  assert.is((await validateBlob(blob, { maxRatio: 600 })).entries, 2)
})

test('a multi-MiB stream passes through unchanged, whatever the chunking, with the digests of its bytes', async () => {
  const tar = Buffer.concat([tarEntry({ name: 'a' }, randomBytes(3 * 1024 * 1024)), tarEntry({ name: 'b' }, new Uint8Array(2 * 1024 * 1024)), TAR_END])
  const blob = gzipSync(tar)
  const digest = createHash('sha256').update(gunzipSync(blob)).digest('hex')
  const ociDigest = `sha256:${createHash('sha256').update(blob).digest('hex')}`
  for (const size of [1000, 64 * 1024 + 1, 1024 * 1024, blob.length]) {
    const { chunks, facts } = analyzeBlob(pieces(blob, size))
    const seen: Uint8Array[] = []
    for await (const c of chunks) seen.push(c)
    assert.ok(Buffer.concat(seen).equals(blob), `chunks of ${size}`)
    assert.equal(await facts, { digest, ociDigest, size: blob.length, uncompressedSize: tar.length, entries: 2 })
  }
})

test('stopping early or a failing source in the middle of a big stream', async () => {
  const blob = gzipSync(Buffer.concat([tarEntry({ name: 'a' }, randomBytes(2 * 1024 * 1024)), TAR_END]))
  const early = analyzeBlob(pieces(blob, 16 * 1024))
  let n = 0
  for await (const _ of early.chunks) if (++n === 20) break
  try {
    await early.facts
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'internal-error'))
  }
  const boom = new Error('network reset')
  async function* failing() {
    yield* pieces(blob.subarray(0, 1024 * 1024), 16 * 1024)
    throw boom
  }
  const failed = analyzeBlob(failing())
  try {
    for await (const _ of failed.chunks);
    assert.unreachable()
  } catch (e) {
    assert.is(e, boom)
  }
  try {
    await failed.facts
    assert.unreachable()
  } catch (e) {
    assert.is(e, boom)
  }
})

test('a 2 GiB entry header is rejected at once, without data behind it', async () => {
  const d = await rejects(gzipSync(tarHeader({ name: 'big.bin', size: 2 * 1024 ** 3 })), 'entry-too-large')
  assert.is(d.size, 2 * 1024 ** 3)
})

test('on rejection chunks throws and facts rejects with the same error; good chunks came first', async () => {
  const bad = tarGz([{ name: 'ok', data: 'y'.repeat(3000) }, { name: '../x' }])
  const { chunks, facts } = analyzeBlob(pieces(bad, 10))
  let thrown: unknown
  let yielded = 0
  try {
    for await (const c of chunks) yielded += c.length
  } catch (e) {
    thrown = e
  }
  assert.ok(isApprError(thrown, 'invalid-usage'))
  assert.ok(yielded < bad.length)
  try {
    await facts
    assert.unreachable()
  } catch (e) {
    assert.is(e, thrown)
  }
})

test('an error of the source passes through unchanged', async () => {
  const boom = new Error('network reset')
  async function* failing() {
    yield kubeUi.subarray(0, 100)
    throw boom
  }
  const { chunks, facts } = analyzeBlob(failing())
  try {
    for await (const _ of chunks) {
    }
    assert.unreachable()
  } catch (e) {
    assert.is(e, boom)
  }
  try {
    await facts
    assert.unreachable()
  } catch (e) {
    assert.is(e, boom)
  }
})

test('stopping early rejects facts', async () => {
  const { chunks, facts } = analyzeBlob(pieces(kubeUi, 10))
  for await (const _ of chunks) break
  try {
    await facts
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'internal-error'))
  }
})

test('a rejection nobody awaits is not an unhandled rejection', async () => {
  const { chunks } = analyzeBlob(pieces(new TextEncoder().encode('nope'), 2))
  try {
    for await (const _ of chunks) {
    }
  } catch {}
  await new Promise((r) => setTimeout(r, 20))
  assert.equal(unhandled, [])
})

test.run()
