/**
 * File descriptors on `serve --store level:DIR`: a blob over the cache size lives in a file of
 * fileBlobStore. HEADs of its pull and blob routes (bytes and JSON), and GETs the client drops
 * before or during the body, must leave the process with the descriptors it had (issue 12, defect 4).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { fileBlobStore, levelStore } from 'appr-core/adapters/level'
import { createHandler } from 'appr-core/http'
import { serve } from 'appr-core/http/node'
import { tarGz } from './helpers.js'

const openFds = () => readdirSync('/proc/self/fd').length
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits for the count to settle (sockets close asynchronously), up to 2 s. */
async function settledFds(baseline: number): Promise<number> {
  let now = openFds()
  for (let i = 0; i < 40 && now > baseline; i++) {
    await sleep(50)
    now = openFds()
  }
  return now
}

/**
 * A GET whose client goes away after `afterBytes` body bytes (0: as soon as the headers arrive;
 * -1: right after sending the request, usually before the handler has answered).
 */
function abortedGet(url: string, afterBytes: number): Promise<void> {
  return new Promise((resolve) => {
    if (afterBytes < 0) {
      const req = httpRequest(url, { agent: false })
      req.on('error', () => {})
      req.on('close', () => resolve())
      req.end(() => req.destroy())
      return
    }
    const req = httpRequest(url, { agent: false }, (res) => {
      let got = 0
      if (afterBytes === 0) req.destroy()
      res.on('data', (d: Buffer) => {
        got += d.length
        if (got >= afterBytes) req.destroy()
      })
      res.on('close', () => resolve())
      res.on('error', () => resolve())
    })
    req.on('error', () => resolve())
    req.end()
  })
}

test('HEADs and aborted GETs of a file-backed blob leave no file descriptor open', async () => {
  if (!readdirSync('/proc/self').includes('fd')) {
    console.log('SKIPPED SUITE: level fds — /proc/self/fd is not available on this platform')
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'appr-fds-'))
  const registry = new Registry({
    store: levelStore({ path: join(dir, 'kv') }),
    blobs: fileBlobStore({ path: join(dir, 'blobs'), readChunkBytes: 64 * 1024 }),
    blobCacheBytes: 1024,
  })
  const server = await serve({ handler: createHandler(registry), host: '127.0.0.1', port: 0 })
  try {
    // Hex of random bytes compresses only to half: the blob spans many read chunks.
    const blob = await tarGz({ 'big/Chart.yaml': 'name: big\nversion: 1.0.0\n', 'big/data.txt': randomBytes(1024 * 1024).toString('hex') })
    const pushed = await registry.push({ package: 'acme/big', release: '1.0.0', format: 'helm', blob })
    const base = `${server.url}/api/v1/packages/acme/big`
    const urls = [
      `${base}/1.0.0/helm/pull`,
      `${base}/1.0.0/helm/pull/json`,
      `${base}/blobs/sha256/${pushed.content.digest}`,
      `${base}/blobs/sha256/${pushed.content.digest}/json`,
    ]
    for (const url of urls) {
      const response = await fetch(url)
      assert.is(response.status, 200, url)
      await response.arrayBuffer()
    }
    const baseline = await settledFds(0)
    for (let round = 0; round < 50; round++) {
      await Promise.all(urls.map(async (url) => {
        const response = await fetch(url, { method: 'HEAD' })
        assert.is(response.status, 200, url)
      }))
    }
    const afterHeads = await settledFds(baseline)
    assert.ok(afterHeads <= baseline + 2, `200 HEADs: ${baseline} → ${afterHeads} open fds`)
    for (let round = 0; round < 10; round++) {
      await Promise.all(urls.flatMap((url) => [abortedGet(url, -1), abortedGet(url, 0), abortedGet(url, 100_000)]))
    }
    const afterAborts = await settledFds(baseline)
    assert.ok(afterAborts <= baseline + 2, `120 aborted GETs: ${baseline} → ${afterAborts} open fds`)
    // Still serving, and whole.
    const whole = await fetch(urls[0]!)
    assert.is(Buffer.compare(Buffer.from(await whole.arrayBuffer()), blob), 0)
  } finally {
    await server.close()
    await registry.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
