// Webhooks: signed deliveries in feed order against a local receiver that fails, hangs and
// recovers; cursors in the store survive a restart; two deliverers on one store deliver each
// event once; a hanging endpoint never slows the registry.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type DeliveryReport, dropDeadLetter, isApprError, type KvStore, listDeadLetters, Registry, startWebhooks, verifyWebhook } from 'appr-core'
import { levelStore } from 'appr-core/adapters/level'
import { memoryStore } from 'appr-core/adapters/memory'
import { redisStore } from 'appr-core/adapters/redis'
import { startRedis } from '../helpers/servers.js'
import { tgz } from '../registry/helpers.js'

interface Received {
  readonly delivery: string
  readonly event: string
  readonly signature: string | undefined
  readonly body: string
}

type Behaviour = 'ok' | 'fail' | 'hang'

/** A webhook receiver on a loopback port: records every request, answers as `behave` says. */
async function receiver(behave: (n: number) => Behaviour = () => 'ok'): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = []
  const hanging = new Set<IncomingMessage>()
  const server: Server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (d: Buffer) => parts.push(d))
    request.on('end', () => {
      const what = behave(received.length)
      received.push({
        delivery: String(request.headers['x-appr-delivery']),
        event: String(request.headers['x-appr-event']),
        signature: request.headers['x-appr-signature-256'] as string | undefined,
        body: Buffer.concat(parts).toString('utf8'),
      })
      if (what === 'hang') return void hanging.add(request)
      response.writeHead(what === 'ok' ? 204 : 500).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Waits until endpoint `id`'s stored cursor is `cursor` (the deliveries before it are acknowledged). */
async function cursorReaches(store: KvStore, id: string, cursor: string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const entry = await store.get(`whk/cursor/${id}`)
    if (entry && JSON.parse(new TextDecoder().decode(entry.value)).cursor === cursor) return
    if (Date.now() > deadline) throw new Error(`cursor of ${id} never reached ${cursor}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const blobs = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => tgz({ [`c${n}/Chart.yaml`]: `name: c\nversion: ${n}\n` })))
const fast = { pollMs: 10, leaseMs: 600, retry: { initialMs: 20, maxMs: 80 }, timeoutMs: 300 }
const seqs = (received: readonly Received[]) => received.map((r) => (JSON.parse(r.body) as { seq: number }).seq)

const test = suite('webhooks')

test('signed deliveries in feed order; a failing, then hanging endpoint is retried until it recovers', async () => {
  // Attempts 0-1 fail, attempt 2 hangs past the timeout, then everything succeeds.
  const hook = await receiver((n) => (n < 2 ? 'fail' : n === 2 ? 'hang' : 'ok'))
  const reports: DeliveryReport[] = []
  const store = memoryStore()
  const registry = new Registry({ store, events: true })
  // Generous timeout: only the hanging attempt may time out, also on a loaded machine.
  const deliverer = startWebhooks(registry, { ...fast, timeoutMs: 1500, endpoints: [{ id: 'ci', url: hook.url, secret: 's3cret' }], onReport: (r) => reports.push(r) })
  try {
    await cursorReaches(store, 'ci', '0') // the new endpoint starts from the feed's end
    await registry.push({ package: 'acme/one', release: '1.0.0', blob: blobs[0]! })
    await registry.channels.add('acme/one', 'stable', '1.0.0')
    await until(() => reports.filter((r) => r.ok).length === 2)
    const ok = hook.received.filter((_, i) => i >= 3)
    assert.equal(seqs(ok), [1, 2])
    for (const r of hook.received) assert.ok(verifyWebhook('s3cret', r.body, r.signature), 'signature verifies')
    assert.not.ok(verifyWebhook('other', hook.received[0]!.body, hook.received[0]!.signature))
    // The first event was tried four times under one delivery id.
    assert.equal(
      hook.received.slice(0, 4).map((r) => r.delivery),
      ['ci:1', 'ci:1', 'ci:1', 'ci:1'],
    )
    assert.equal(
      reports.slice(0, 4).map((r) => [r.attempt, r.ok, r.status ?? 'timeout']),
      [
        [1, false, 500],
        [2, false, 500],
        [3, false, 'timeout'],
        [4, true, 204],
      ],
    )
    assert.is(hook.received[4]!.event, 'channel.added')
    assert.equal(JSON.parse(hook.received[4]!.body), { ...JSON.parse(hook.received[4]!.body), type: 'channel.added', package: 'acme/one', channel: 'stable', release: '1.0.0' })
  } finally {
    await deliverer.stop()
    await hook.close()
  }
})

test('filters by type and namespace glob; the cursor is stored, so a restarted deliverer resumes', async () => {
  const hook = await receiver()
  const store = memoryStore()
  const registry = new Registry({ store, events: true })
  const endpoints = [{ id: 'mirror', url: hook.url, secret: 'k', types: ['release.pushed' as const], namespaces: ['acme*'] }]
  let deliverer = startWebhooks(registry, { ...fast, endpoints })
  try {
    await cursorReaches(store, 'mirror', '0')
    await registry.push({ package: 'acme/a', release: '1.0.0', blob: blobs[0]! })
    await registry.push({ package: 'other/b', release: '1.0.0', blob: blobs[1]! })
    await registry.channels.add('acme/a', 'stable', '1.0.0')
    await registry.push({ package: 'acme-labs/c', release: '1.0.0', blob: blobs[2]! })
    // Stopped once the second delivery is recorded (a delivery in flight when stopped comes again: at least once).
    await cursorReaches(store, 'mirror', '4')
    await deliverer.stop()
    // Changes while no deliverer runs are delivered by the next one, from the stored cursor.
    await registry.push({ package: 'acme/a', release: '2.0.0', blob: blobs[3]! })
    deliverer = startWebhooks(registry, { ...fast, endpoints })
    await until(() => hook.received.length === 3)
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(
      hook.received.map((r) => `${JSON.parse(r.body).package} ${JSON.parse(r.body).release}`),
      ['acme/a 1.0.0', 'acme-labs/c 1.0.0', 'acme/a 2.0.0'],
    )
  } finally {
    await deliverer.stop()
    await hook.close()
  }
})

test('a hanging endpoint does not slow the registry', async () => {
  const hook = await receiver(() => 'hang')
  const store = memoryStore()
  const registry = new Registry({ store, events: true })
  const deliverer = startWebhooks(registry, { ...fast, timeoutMs: 5000, endpoints: [{ id: 'slow', url: hook.url, secret: 'k' }] })
  try {
    await cursorReaches(store, 'slow', '0')
    await registry.push({ package: 'acme/a', release: '1.0.0', blob: blobs[0]! })
    await until(() => hook.received.length === 1)
    const started = performance.now()
    for (let i = 1; i < 6; i++) await registry.push({ package: 'acme/a', release: `1.0.${i}`, blob: blobs[i]! })
    assert.ok(performance.now() - started < 2000, 'pushes ran while the endpoint hung')
    assert.is(hook.received.length, 1, 'nothing else is sent before the hanging delivery settles')
  } finally {
    await deliverer.stop()
    await hook.close()
  }
})

test('after maxAttempts failures an event becomes a dead letter and the endpoint goes on; dead letters are listed and dropped', async () => {
  // The first three attempts fail (all of event 1's), everything after succeeds.
  const hook = await receiver((n) => (n < 3 ? 'fail' : 'ok'))
  const reports: DeliveryReport[] = []
  const store = memoryStore()
  const registry = new Registry({ store, events: true })
  const deliverer = startWebhooks(registry, { ...fast, endpoints: [{ id: 'ci', url: hook.url, secret: 'k', maxAttempts: 3 }], onReport: (r) => reports.push(r) })
  try {
    await cursorReaches(store, 'ci', '0')
    await registry.push({ package: 'acme/dead', release: '1.0.0', blob: blobs[0]! })
    await registry.push({ package: 'acme/dead', release: '1.0.1', blob: blobs[1]! })
    await cursorReaches(store, 'ci', '2')
    assert.equal(
      hook.received.map((r) => r.delivery),
      ['ci:1', 'ci:1', 'ci:1', 'ci:2'],
    )
    assert.equal(
      reports.map((r) => [r.delivery, r.attempt, r.ok, r.gaveUp ?? false]),
      [
        ['ci:1', 1, false, false],
        ['ci:1', 2, false, false],
        ['ci:1', 3, false, true],
        ['ci:2', 1, true, false],
      ],
    )
    const [letter, ...more] = await listDeadLetters(store)
    assert.equal(more, [])
    assert.equal({ ...letter!, failedAt: undefined }, { endpoint: 'ci', delivery: 'ci:1', seq: 1, url: hook.url, attempts: 3, status: 500, failedAt: undefined, event: JSON.parse(hook.received[0]!.body) })
    assert.equal(await listDeadLetters(store, { endpoint: 'other' }), [])
    assert.equal(await listDeadLetters(store, { after: 'ci:1' }), [])
    assert.ok(isApprError(await listDeadLetters(store, { after: 'nope' }).catch((e: unknown) => e), 'invalid-parameters'))
    assert.ok(await dropDeadLetter(store, 'ci:1'))
    assert.not.ok(await dropDeadLetter(store, 'ci:1'))
    assert.equal(await listDeadLetters(store), [])
  } finally {
    await deliverer.stop()
    await hook.close()
  }
})

// Memory and level hint their own commits (one process each); Redis below hints across processes.
for (const [name, open] of [
  ['memory', async () => ({ store: memoryStore(), cleanup: async () => {} })],
  [
    'level',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'appr-webhooks-'))
      const store = levelStore({ path: join(dir, 'db') })
      return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
    },
  ],
] as const) {
  test(`${name}: an idle deliverer wakes on the store's change hint, not at its next poll`, async () => {
    const hook = await receiver()
    const { store, cleanup } = await open()
    const registry = new Registry({ store, events: true })
    // Ten minutes between polls: within until()'s bound only a change hint can start a delivery.
    const deliverer = startWebhooks(registry, { ...fast, pollMs: 600_000, endpoints: [{ id: 'ci', url: hook.url, secret: 'k' }] })
    try {
      assert.ok(store.capabilities.changeHints)
      await cursorReaches(store, 'ci', '0')
      await registry.push({ package: 'acme/hint', release: '1.0.0', blob: blobs[0]! })
      await until(() => hook.received.length === 1)
      await registry.push({ package: 'acme/hint', release: '1.0.1', blob: blobs[1]! })
      await until(() => hook.received.length === 2)
      assert.equal(seqs(hook.received), [1, 2])
    } finally {
      await deliverer.stop()
      await hook.close()
      await registry.close()
      await cleanup()
    }
  })
}

test('bad endpoints are refused', () => {
  const registry = new Registry({ store: memoryStore(), events: true })
  for (const endpoint of [
    { id: 'a b', url: 'http://x/', secret: 'k' },
    { id: 'a', url: 'ftp://x/', secret: 'k' },
    { id: 'a', url: 'http://x/', secret: '' },
    { id: 'a', url: 'http://x/', secret: 'k', maxAttempts: 0 },
    { id: 'a', url: 'http://x/', secret: 'k', maxAttempts: '5' as unknown as number },
  ]) {
    assert.throws(() => startWebhooks(registry, { endpoints: [endpoint] }), (e: unknown) => (e as { code?: string }).code === 'invalid-parameters')
  }
})

const redis = await startRedis({ suite: 'webhooks on redis' })
if (redis) {
  test('two deliverers on one Redis deliver each event once, and the second takes over when the first stops', async () => {
    const hook = await receiver()
    const prefix = `whk${process.pid}`
    const stores: KvStore[] = [redisStore({ url: redis.url, prefix }), redisStore({ url: redis.url, prefix })]
    const registries = stores.map((store) => new Registry({ store, events: true }))
    const endpoints = [{ id: 'ci', url: hook.url, secret: 'k' }]
    const first = startWebhooks(registries[0]!, { ...fast, endpoints })
    // A new endpoint starts from the feed's end: push once its cursor is saved.
    await cursorReaches(stores[0]!, 'ci', '0')
    const second = startWebhooks(registries[1]!, { ...fast, endpoints })
    try {
      for (let i = 0; i < 6; i++) await registries[i % 2]!.push({ package: 'acme/a', release: `1.0.${i}`, blob: blobs[i]! })
      await cursorReaches(stores[0]!, 'ci', '6')
      await first.stop()
      await registries[1]!.push({ package: 'acme/a', release: '2.0.0', blob: blobs[0]! })
      await until(() => hook.received.length >= 7)
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(seqs(hook.received), [1, 2, 3, 4, 5, 6, 7])
      assert.is(new Set(hook.received.map((r) => r.delivery)).size, 7)
    } finally {
      await first.stop()
      await second.stop()
      for (const r of registries) await r.close()
      await hook.close()
    }
  })
  test.after(() => redis.stop())
}

test.run()
