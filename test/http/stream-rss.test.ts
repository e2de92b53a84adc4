/**
 * Streaming: pulling a 200 MiB blob (bytes and JSON) through the node listener keeps the
 * server's RSS growth under 64 MiB. The server runs in a child process (fixtures/rss-server.ts)
 * that samples its own RSS every 10 ms; the client here reads slower than the server can
 * produce (it pauses every 8 MiB), so missing back-pressure would show up as growth.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { request as httpRequest } from 'node:http'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { JsonBody } from './helpers.js'

const LIMIT = 64 * 1024 * 1024
const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`
const script = fileURLToPath(new URL('./fixtures/rss-server.ts', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))

interface Child {
  readonly proc: ChildProcess
  readonly ready: { url: string; size: number; sha256: string; store: string }
  ask(line: string): Promise<JsonBody>
}

async function startChild(mode: 'level' | 'memory'): Promise<Child> {
  const proc = spawn(process.execPath, ['--expose-gc', '--conditions=source', '--import', 'tsx', script, mode], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  proc.stderr!.on('data', (d) => (stderr += d))
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]()
  const next = async () => {
    const line = await lines.next()
    if (line.done) throw new Error(`rss-server (${mode}) exited: ${stderr}`)
    return JSON.parse(line.value)
  }
  const ready = await next()
  return {
    proc,
    ready,
    async ask(line) {
      proc.stdin!.write(`${line}\n`)
      return next()
    },
  }
}

/** Reads the whole response, pausing 100 ms every 8 MiB. Returns the byte count and sha256. */
function slowRead(url: string): Promise<{ status: number; bytes: number; sha256: string; head: string; tail: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      const hash = createHash('sha256')
      let bytes = 0
      let nextPause = 8 * 1024 * 1024
      let head = ''
      let tail = ''
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk)
        if (head.length < 200) head += chunk.subarray(0, 200).toString('latin1')
        tail = (tail + chunk.subarray(Math.max(0, chunk.length - 200)).toString('latin1')).slice(-200)
        bytes += chunk.length
        if (bytes >= nextPause) {
          nextPause += 8 * 1024 * 1024
          res.pause()
          setTimeout(() => res.resume(), 100)
        }
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex'), head, tail, headers: res.headers }))
      res.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

async function measure(child: Child, path: string) {
  await child.ask('reset')
  const result = await slowRead(`${child.ready.url}${path}`)
  const { baseline, peak } = await child.ask('report')
  return {
    ...result,
    growth: peak.rss - baseline.rss,
    anonGrowth: peak.anon - baseline.anon,
    fileGrowth: peak.file - baseline.file,
    baseline: baseline.rss,
    peak: peak.rss,
  }
}

async function pullTwice(child: Child) {
  const { size, sha256 } = child.ready
  const base = `/cnr/api/v1/packages/big/blob/1.0.0/helm/pull`
  const bin = await measure(child, base)
  assert.is(bin.status, 200)
  assert.is(bin.bytes, size)
  assert.is(bin.headers['content-length'], String(size))
  assert.is(bin.sha256, sha256)
  const js = await measure(child, `${base}/json`)
  assert.is(js.status, 200)
  assert.is(js.bytes, Number(js.headers['content-length']))
  assert.ok(js.head.startsWith('{"package":"big/blob","blob":"'), js.head.slice(0, 60))
  assert.ok(js.tail.endsWith('"release":"1.0.0","media_type":"helm","filename":"big_blob_1.0.0.tar.gz"}'), js.tail)
  const line = (label: string, m: typeof bin) =>
    `${label} RSS +${MiB(m.growth)} (anonymous +${MiB(m.anonGrowth)}, file-backed +${MiB(m.fileGrowth)})`
  console.log(`[rss] ${child.ready.store}, ${MiB(size)} blob: ${line('bytes', bin)}; ${line(`JSON (${MiB(js.bytes)})`, js)}; baseline ${MiB(bin.baseline)}`)
  return { bin, js }
}

async function withChild<T>(mode: 'level' | 'memory', body: (child: Child) => Promise<T>): Promise<T> {
  const child = await startChild(mode)
  try {
    return await body(child)
  } finally {
    await child.ask('exit').catch(() => {})
    child.proc.kill()
  }
}

test('memory store: a 200 MiB pull (bytes and JSON) grows server RSS by less than 64 MiB', async () => {
  await withChild('memory', async (child) => {
    const { bin, js } = await pullTwice(child)
    assert.ok(bin.growth < LIMIT, `bytes pull grew RSS by ${MiB(bin.growth)}`)
    assert.ok(js.growth < LIMIT, `JSON pull grew RSS by ${MiB(js.growth)}`)
  })
})

/** A gzipped tar holding `size` random bytes (gzip level 1: stays about `size`). */
function randomTarGz(size: number): Buffer {
  const header = Buffer.alloc(512)
  header.write('big/data.bin', 0)
  header.write('0000644\0', 100)
  header.write('0000000\0', 108)
  header.write('0000000\0', 116)
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124)
  header.write('00000000000\0', 136)
  header.write('        ', 148)
  header.write('0', 156)
  header.write('ustar\0' + '00', 257)
  let sum = 0
  for (const b of header) sum += b
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  const padding = Buffer.alloc((512 - (size % 512)) % 512 + 1024)
  return gzipSync(Buffer.concat([header, randomBytes(size), padding]), { level: 1 })
}

/** POSTs `chunks` one at a time (waiting for drain), so the client never buffers the body. */
function postChunks(url: string, type: string, chunks: Iterable<Buffer>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': type } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    const it = chunks[Symbol.iterator]()
    const write = (): void => {
      for (;;) {
        const next = it.next()
        if (next.done) {
          req.end()
          return
        }
        if (!req.write(next.value)) {
          req.once('drain', write)
          return
        }
      }
    }
    write()
  })
}

function* slices(buffer: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < buffer.length; at += size) yield buffer.subarray(at, at + size)
}

function* jsonPushBody(blob: Buffer, release: string): Generator<Buffer> {
  yield Buffer.from(`{"release": "${release}", "media_type": "helm", "blob": "`)
  for (const part of slices(blob, 3 * 64 * 1024)) yield Buffer.from(part.toString('base64'))
  yield Buffer.from('"}')
}

async function measurePush(child: Child, label: string, send: () => Promise<{ status: number; body: string }>) {
  await child.ask('reset')
  const r = await send()
  assert.is(r.status, 200, r.body)
  const { baseline, peak } = await child.ask('report')
  const m = { anon: peak.anon - baseline.anon, rss: peak.rss - baseline.rss }
  console.log(`[rss] level, ${label}: RSS +${MiB(m.rss)} (anonymous +${MiB(m.anon)})`)
  return Number.isNaN(m.anon) ? m.rss : m.anon
}

test('level store: the server holds less than 64 MiB more; LevelDB maps its files on top', async () => {
  await withChild('level', async (child) => {
      const blob = randomTarGz(96 * 1024 * 1024)
      const A = `${child.ready.url}/cnr/api/v1/packages/big/blob`
      const raw = await measurePush(child, `raw push of ${MiB(blob.length)}`, () =>
        postChunks(`${A}?release=2.0.0&media_type=helm`, 'application/gzip', slices(blob, 64 * 1024)),
      )
      // The raw push streams into the registry.
      assert.ok(raw < LIMIT, `raw push grew anonymous RSS by ${MiB(raw)}`)
      const jsonPush = await measurePush(child, `JSON push of ${MiB(blob.length)} (body ${MiB((blob.length * 4) / 3)})`, () =>
        postChunks(A, 'application/json', jsonPushBody(blob, '3.0.0')),
      )
      // release and media_type come before blob, so the JSON push streams too.
      assert.ok(jsonPush < LIMIT, `JSON push grew anonymous RSS by ${MiB(jsonPush)}`)
      const { bin, js } = await pullTwice(child)
      // LevelDB reads table files through mmap: those pages count in RSS as file-backed memory
      // (the kernel's page cache, dropped under pressure) and grow with the bytes read.
      // What the server itself holds is the anonymous part; without /proc, fall back to RSS.
      const held = (m: typeof bin) => (Number.isNaN(m.anonGrowth) ? m.growth : m.anonGrowth)
      assert.ok(held(bin) < LIMIT, `bytes pull grew anonymous RSS by ${MiB(held(bin))}`)
      assert.ok(held(js) < LIMIT, `JSON pull grew anonymous RSS by ${MiB(held(js))}`)
    })
})

test.run()
