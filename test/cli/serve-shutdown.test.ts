/**
 * A real SIGTERM while a push is uploading: within the drain time the push completes and the
 * server exits 0 after it; past the drain time the push is cut, cleaned up, and the server
 * still exits 0. Either way the store holds no half-written release, marker or blob file.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { type ClientRequest, request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fileBlobStore, levelStore } from 'appr-core/adapters/level'
import { Registry } from 'appr-core'
import { b64, tarGz } from '../http/helpers.js'
import { type Served, startServe } from './serve-helpers.js'

/** A streamed JSON push whose body is sent in two parts, the second only when asked. */
function splitPush(url: string, body: string, firstBytes: number) {
  let req: ClientRequest | undefined
  const result = new Promise<{ status: number; text: string } | { error: string }>((resolve) => {
    req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      res.on('error', (e) => resolve({ error: e.message }))
    })
    req.on('error', (e) => resolve({ error: e.message }))
  })
  const sent = new Promise<void>((resolve) => req!.write(body.slice(0, firstBytes), () => resolve()))
  return {
    sent,
    result,
    finish: () => req!.end(body.slice(firstBytes)),
  }
}

async function pushBody(): Promise<{ body: string; bytes: number }> {
  // Incompressible content, a few MiB: the upload is clearly under way when the signal comes.
  const archive = await tarGz({ 'big/Chart.yaml': 'name: big\n', 'big/data.bin': randomBytes(6 * 1024 * 1024).toString('base64') })
  return { body: JSON.stringify({ release: '1.0.0', media_type: 'helm', blob: b64(archive) }), bytes: archive.byteLength }
}

const blobFiles = (dir: string): string[] =>
  existsSync(join(dir, 'blobs'))
    ? readdirSync(join(dir, 'blobs'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name)
    : []

/** A server a failed assertion would leave running (stop() of an exited one does nothing). */
let stopLater: Served | undefined

test('SIGTERM during a push: the push completes, then the server exits 0; the release is there after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appr-drain-'))
  try {
    const served = await startServe(['--store', `level:${dir}`, '--port', '0'])
    stopLater = served
    const { body } = await pushBody()
    const push = splitPush(`${served.url}/api/v1/packages/acme/big`, body, 4 * 1024 * 1024)
    await push.sent
    const exit = served.stop('SIGTERM')
    // Shutdown has begun (it is logged) while the push is still uploading.
    for (let i = 0; i < 200 && !served.out.some((l) => l.includes('"shutting down"')); i++) await new Promise((r) => setTimeout(r, 25))
    assert.ok(served.out.some((l) => l.includes('"shutting down"') && l.includes('"inflight":1')), served.out.join('\n'))
    assert.is(served.child.exitCode, null, 'the server waits for the push')
    push.finish()
    const result = await push.result
    assert.ok('status' in result && result.status === 200, JSON.stringify(result))
    assert.is(await exit, 0)

    const registry = new Registry({ store: levelStore({ path: join(dir, 'kv') }), blobs: fileBlobStore({ path: join(dir, 'blobs') }) })
    try {
      const shown = await registry.show('acme/big', { release: '1.0.0', format: 'helm' })
      assert.is(shown.release, '1.0.0')
    } finally {
      await registry.close()
    }
    assert.is(blobFiles(dir).length, 1)
  } finally {
    await stopLater?.stop('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test('SIGTERM during a push that outlasts --drain-timeout: the push is cut and cleaned up, exit 0, nothing half-written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appr-drain-'))
  try {
    const served = await startServe(['--store', `level:${dir}`, '--port', '0', '--drain-timeout', '1'])
    stopLater = served
    const { body } = await pushBody()
    const push = splitPush(`${served.url}/api/v1/packages/acme/big`, body, 4 * 1024 * 1024)
    await push.sent
    // The upload has started (its marker and part of its bytes are stored) before the signal.
    for (let i = 0; i < 200 && blobFiles(dir).length === 0; i++) await new Promise((r) => setTimeout(r, 25))
    assert.is(blobFiles(dir).length, 1, 'the upload is under way')
    assert.is(await served.stop('SIGTERM'), 0)
    const result = await push.result
    assert.ok('error' in result || result.status >= 400, `the cut push did not succeed: ${JSON.stringify(result)}`)

    const store = levelStore({ path: join(dir, 'kv') })
    try {
      assert.equal((await store.list({ prefix: 'obj/' })).map((e) => e.key), [], 'no upload marker left')
      assert.equal((await store.list({ prefix: 'pkg/' })).map((e) => e.key), [], 'no package')
      assert.equal((await store.list({ prefix: 'blob/' })).map((e) => e.key), [], 'no blob record')
    } finally {
      await store.close()
    }
    assert.equal(blobFiles(dir), [], 'no blob file')
    const lines = served.out.map((l) => JSON.parse(l) as { msg?: string })
    assert.equal(
      lines.map((l) => l.msg).filter((m) => m !== 'request'),
      ['listening', 'shutting down', 'stopped'],
    )
  } finally {
    await stopLater?.stop('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
