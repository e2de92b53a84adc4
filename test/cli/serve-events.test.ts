// `appr-core serve --events / --webhooks`: the feed over HTTP behind the token, and webhook
// delivery that survives a server killed mid-delivery (the delivery comes again after restart).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { verifyWebhook } from 'appr-core'
import { b64, call, chart, postJson } from '../http/helpers.js'
import { startServe } from './serve-helpers.js'

test('--events serves the feed, which needs the token like a write', async () => {
  const served = await startServe(['--store', 'memory', '--port', '0', '--events', '--token', 'sesame'])
  try {
    const pushed = await postJson(`${served.url}/cnr/api/v1/packages/acme/a`, { blob: b64(await chart('a', '1.0.0')), release: '1.0.0', media_type: 'helm' }, { authorization: 'sesame' })
    assert.is(pushed.status, 200)
    assert.is((await call(`${served.url}/cnr/api/v1/events`)).status, 401)
    const feed = await call(`${served.url}/cnr/api/v1/events`, { headers: { authorization: 'sesame' } })
    assert.equal(
      feed.body.events.map((e: { type: string; package: string }) => `${e.type} ${e.package}`),
      ['release.pushed acme/a'],
    )
  } finally {
    assert.is(await served.stop(), 0)
  }
})

test('--webhooks: a server killed mid-delivery delivers again after restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appr-serve-hooks-'))
  const received: { delivery: string; body: string; signature: string }[] = []
  let hang = true
  const held: IncomingMessage[] = []
  const receiver = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (d: Buffer) => parts.push(d))
    request.on('end', () => {
      received.push({ delivery: String(request.headers['x-appr-delivery']), body: Buffer.concat(parts).toString(), signature: String(request.headers['x-appr-signature-256']) })
      if (hang) return void held.push(request)
      response.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const hooks = join(dir, 'hooks.json')
  writeFileSync(hooks, JSON.stringify([{ id: 'ci', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, secret: 'k' }]))
  const args = ['--store', `level:${join(dir, 'data')}`, '--port', '0', '--webhooks', hooks]
  try {
    const first = await startServe(args)
    // A new endpoint starts from the feed's end: push until a delivery starts (the first pushes
    // may come before the deliverer saved its cursor).
    for (let n = 0; received.length === 0 && n < 20; n++) {
      const pushed = await postJson(`${first.url}/cnr/api/v1/packages/acme/a`, { blob: b64(await chart('a', `1.0.${n}`)), release: `1.0.${n}`, media_type: 'helm' })
      assert.is(pushed.status, 200)
      const deadline = Date.now() + 1000
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    }
    assert.is(received.length, 1, 'the delivery started')
    await first.stop('SIGKILL')
    hang = false
    // The killed server's lease runs out (15 s), then the restarted one delivers the event again.
    const second = await startServe(args)
    try {
      const until = Date.now() + 30_000
      while (received.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
      // The same delivery again (the killed server had not seen it answered).
      assert.is(received[1]!.delivery, received[0]!.delivery)
      assert.ok(verifyWebhook('k', received[1]!.body, received[1]!.signature))
      // The log line follows the receiver's answer, so it may come a moment after the request.
      const logged = () => second.out.some((line) => line.includes('"msg":"webhook"') && line.includes('"ok":true'))
      for (const until = Date.now() + 10_000; !logged() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50))
      assert.ok(logged(), 'the delivery is logged')
    } finally {
      assert.is(await second.stop(), 0)
    }
  } finally {
    receiver.closeAllConnections()
    receiver.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
