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
import { startRedis } from '../helpers/servers.js'
import { runCli, startServe } from './serve-helpers.js'

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

test('--webhooks: an event past maxAttempts becomes a dead letter, listed and dropped by `webhooks`', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appr-serve-dead-'))
  const receiver = createServer((_, response) => void response.writeHead(503).end())
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const hooks = join(dir, 'hooks.json')
  writeFileSync(hooks, JSON.stringify([{ id: 'ci', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, secret: 'k', maxAttempts: 1 }]))
  const store = `level:${join(dir, 'data')}`
  try {
    const served = await startServe(['--store', store, '--port', '0', '--webhooks', hooks])
    try {
      const gaveUp = () => served.out.some((line) => line.includes('"msg":"webhook"') && line.includes('"gaveUp":true'))
      // A new endpoint starts from the feed's end: push until one delivery is given up.
      for (let n = 0; !gaveUp() && n < 20; n++) {
        const pushed = await postJson(`${served.url}/cnr/api/v1/packages/acme/d`, { blob: b64(await chart('d', `1.0.${n}`)), release: `1.0.${n}`, media_type: 'helm' })
        assert.is(pushed.status, 200)
        for (const until = Date.now() + 1000; !gaveUp() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20))
      }
      assert.ok(gaveUp(), 'a delivery was given up')
    } finally {
      assert.is(await served.stop(), 0)
    }
    const listed = await runCli(['webhooks', 'dead-letters', '--store', store, '--json'])
    assert.is(listed.code, 0, listed.stderr)
    const letters = JSON.parse(listed.stdout) as { delivery: string; attempts: number; status: number; event: { type: string; package: string } }[]
    assert.ok(letters.length >= 1)
    assert.equal([letters[0]!.attempts, letters[0]!.status, letters[0]!.event.type, letters[0]!.event.package], [1, 503, 'release.pushed', 'acme/d'])
    const dropped = await runCli(['webhooks', 'drop', letters[0]!.delivery, '--store', store])
    assert.is(dropped.code, 0, dropped.stderr)
    assert.is((await runCli(['webhooks', 'drop', letters[0]!.delivery, '--store', store])).code, 1)
    const text = await runCli(['webhooks', 'dead-letters', '--store', store])
    assert.is(text.stdout.split('\n').filter((l) => l.startsWith('ci:')).length, letters.length - 1)
    assert.is((await runCli(['webhooks', 'bogus', '--store', store])).code, 2)
  } finally {
    receiver.closeAllConnections()
    receiver.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

const redis = await startRedis({ suite: 'serve --webhooks on redis' })
if (redis) {
  test('--webhooks: two servers on one Redis deliver each event once; the other takes over when one stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'appr-serve-two-'))
    const deliveries: string[] = []
    const receiver = createServer((request, response) => {
      deliveries.push(String(request.headers['x-appr-delivery']))
      request.resume()
      request.on('end', () => response.writeHead(204).end())
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const hooks = join(dir, 'hooks.json')
    writeFileSync(hooks, JSON.stringify([{ id: 'ci', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, secret: 'k' }]))
    const args = ['--store', redis.url, '--port', '0', '--webhooks', hooks]
    const servers = [await startServe(args), await startServe(args)]
    // Push n is the feed's event n + 1 (a fresh store).
    let pushes = 0
    const push = async (server: number) => {
      const n = pushes++
      const pushed = await postJson(`${servers[server]!.url}/cnr/api/v1/packages/acme/two`, { blob: b64(await chart('two', `1.0.${n}`)), release: `1.0.${n}`, media_type: 'helm' })
      assert.is(pushed.status, 200)
    }
    const waitFor = async (condition: () => boolean, what: string) => {
      for (const until = Date.now() + 30_000; !condition() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20))
      assert.ok(condition(), what)
    }
    try {
      // A new endpoint starts from the feed's end: push until the first delivery arrives.
      while (deliveries.length === 0 && pushes < 20) {
        await push(pushes % 2)
        for (const until = Date.now() + 1000; deliveries.length === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20))
      }
      const first = Number(deliveries[0]?.split(':')[1])
      assert.ok(first >= 1, 'a delivery started')
      const expected = () => Array.from({ length: pushes - first + 1 }, (_, i) => `ci:${first + i}`)
      for (let k = 0; k < 8; k++) await push(k % 2)
      await waitFor(() => deliveries.includes(`ci:${pushes}`), 'the last event delivered')
      // Every event from the first delivered on, once, from whichever server holds the lease.
      assert.equal(deliveries.slice().sort(), expected().sort())
      // One server stops (SIGTERM hands the lease over); the other delivers what follows.
      assert.is(await servers[0]!.stop(), 0)
      for (let k = 0; k < 3; k++) await push(1)
      await waitFor(() => deliveries.includes(`ci:${pushes}`), 'the events after the stop delivered')
      assert.equal(deliveries.slice().sort(), expected().sort())
    } finally {
      for (const s of servers) await s.stop()
      receiver.closeAllConnections()
      receiver.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
  test.after(() => redis.stop())
}

test.run()
