// GET /api/v1/events: the change feed over HTTP — pages with a cursor, long-polling, typed errors,
// and who may read it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, type KvStore, Registry } from 'appr-core'
import { createHandler } from 'appr-core/http'
import { levelStore } from 'appr-core/adapters/level'
import { memoryStore } from 'appr-core/adapters/memory'
import { b64, call, chart, postJson, start } from './helpers.js'

test('the feed is served with its cursor, long-polls and answers typed errors', async () => {
  const registry = new Registry({ store: memoryStore(), events: { retention: { maxEvents: 3 } } })
  const server = await start(registry, { events: true })
  const base = `${server.url}/api/v1/events`
  try {
    await registry.push({ package: 'web/a', release: '1.0.0', blob: await chart('a', '1.0.0') })
    await registry.channels.add('web/a', 'stable', '1.0.0')
    const first = await call(`${base}?limit=1`)
    assert.is(first.status, 200)
    assert.is(first.headers.get('cache-control'), 'no-store')
    assert.equal(
      first.body.events.map((e: { type: string; seq: number }) => [e.type, e.seq]),
      [['release.pushed', 1]],
    )
    assert.is(first.body.cursor, '1')
    const rest = await call(`${base}?after=1`)
    assert.equal(
      rest.body.events.map((e: { type: string; channel: string }) => [e.type, e.channel]),
      [['channel.added', 'stable']],
    )
    // Long-poll: held until the next change comes.
    const started = Date.now()
    const waiting = call(`${base}?after=2&wait=10`)
    setTimeout(() => void registry.channels.delete('web/a', 'stable'), 300)
    const waited = await waiting
    assert.ok(Date.now() - started >= 250, 'the request waited for the change')
    assert.equal(
      waited.body.events.map((e: { type: string }) => e.type),
      ['channel.deleted'],
    )
    // Nothing new within `wait`: an empty page, the cursor unchanged.
    const empty = await call(`${base}?after=3&wait=1`)
    assert.equal(empty.body, { events: [], cursor: '3' })
    // Trimmed past the cursor: 410 cursor-expired.
    await registry.push({ package: 'web/a', release: '1.0.1', blob: await chart('a', '1.0.1') })
    await registry.push({ package: 'web/a', release: '1.0.2', blob: await chart('a', '1.0.2') })
    const expired = await call(`${base}?after=0`)
    assert.is(expired.status, 410)
    assert.is(expired.body.code, 'cursor-expired')
    assert.is((await call(`${base}?after=zz`)).status, 422)
    assert.is((await call(`${base}?wait=31`)).status, 422)
  } finally {
    await server.close()
  }
})

test('the feed needs a principal when authenticate is set, and is absent unless asked for', async () => {
  const registry = new Registry({ store: memoryStore(), events: true })
  const server = await start(registry, { events: true, authenticate: (r) => (r.headers.get('authorization') === 'sesame' ? 'user' : undefined) })
  const off = await start(registry)
  try {
    assert.is((await call(`${server.url}/api/v1/events`)).status, 401)
    assert.is((await call(`${server.url}/api/v1/events`, { headers: { authorization: 'sesame' } })).status, 200)
    // Other reads stay open.
    assert.is((await call(`${server.url}/api/v1/packages`)).status, 200)
    assert.is((await call(`${off.url}/api/v1/events`)).status, 404)
  } finally {
    await server.close()
    await off.close()
  }
})

test('a poll interval that is not a positive number of ms is refused when the handler is made', () => {
  const registry = new Registry({ store: memoryStore(), events: true })
  for (const pollMs of [Number.NaN, 0, -5, Number.POSITIVE_INFINITY]) {
    try {
      createHandler(registry, { events: { pollMs } })
      assert.unreachable(`pollMs ${pollMs} was accepted`)
    } catch (error) {
      assert.ok(isApprError(error) && error.code === 'invalid-parameters', String(error))
    }
  }
  assert.type(createHandler(registry, { events: { pollMs: 1000 } }), 'function')
})

test("a write's events name its principal as actor (HandlerOptions.actor); anonymous writes name none", async () => {
  const registry = new Registry({ store: memoryStore(), events: true })
  const users: Record<string, { name: string; admin: boolean }> = { a: { name: 'alice', admin: true }, b: { name: 'bob', admin: false } }
  const server = await start(registry, { events: true, authenticate: (r) => users[r.headers.get('authorization') ?? ''] })
  const custom = await start(registry, {
    authenticate: (r) => users[r.headers.get('authorization') ?? ''],
    actor: (p) => ((p as { admin: boolean }).admin ? undefined : `user:${(p as { name: string }).name}`),
  })
  const open = await start(registry)
  try {
    const push = (url: string, release: string, authorization?: string) =>
      chart('a', release).then((blob) => postJson(`${url}/api/v1/packages/web/a`, { blob: b64(blob), release, media_type: 'helm' }, authorization ? { authorization } : {}))
    assert.is((await push(server.url, '1.0.0', 'a')).status, 200)
    assert.is((await push(server.url, '1.0.1', 'b')).status, 200)
    assert.is((await call(`${server.url}/api/v1/packages/web/a/channels/stable/1.0.1`, { method: 'POST', headers: { authorization: 'b' } })).status, 200)
    assert.is((await push(custom.url, '1.0.2', 'b')).status, 200)
    assert.is((await push(custom.url, '1.0.3', 'a')).status, 200)
    assert.is((await push(open.url, '1.0.4')).status, 200)
    const feed = await call(`${server.url}/api/v1/events`, { headers: { authorization: 'a' } })
    assert.equal(
      feed.body.events.map((e: { type: string; actor?: string }) => [e.type, e.actor]),
      [
        ['release.pushed', 'alice'],
        ['release.pushed', 'bob'],
        ['channel.added', 'bob'],
        ['release.pushed', 'user:bob'],
        ['release.pushed', undefined],
        ['release.pushed', undefined],
      ],
    )
  } finally {
    await server.close()
    await custom.close()
    await open.close()
  }
})

/**
 * `store` as is, but `subscribed()` resolves once a change-hint subscription made after the call
 * is in place: the long poll's watch subscribes and then reads the feed, so an event committed
 * after that is one its first read may miss and only a hint (or the next poll) brings.
 */
function observeSubscriptions(store: KvStore): { store: KvStore; subscribed(): Promise<void> } {
  let notify = () => {}
  const observed = new Proxy(store, {
    get(target, key) {
      if (key === 'subscribe' && target.subscribe) {
        const subscribe = target.subscribe.bind(target)
        return async (...args: Parameters<typeof subscribe>) => {
          const end = await subscribe(...args)
          notify()
          return end
        }
      }
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return {
    store: observed,
    subscribed: () =>
      new Promise<void>((resolve) => {
        notify = resolve
      }),
  }
}

const hinted: { name: string; open(): { store: KvStore; cleanup(): Promise<void> } }[] = [
  {
    name: 'memory',
    open() {
      const store = memoryStore()
      return { store, cleanup: () => store.close() }
    },
  },
  {
    name: 'level',
    open() {
      const dir = mkdtempSync(join(tmpdir(), 'appr-http-events-'))
      const store = levelStore({ path: join(dir, 'db') })
      return {
        store,
        cleanup: async () => {
          await store.close()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  },
]

for (const backend of hinted) {
  test(`on ${backend.name}, a long poll answers with another Registry's push by the store's change hint, not at its next poll`, async () => {
    const { store, cleanup } = backend.open()
    const observed = observeSubscriptions(store)
    const reader = new Registry({ store: observed.store, ownsStore: false, events: true })
    const writer = new Registry({ store, ownsStore: false, events: true })
    // Ten minutes between polls and a 25 s wait: only a hint can answer the long poll before its
    // wait runs out (when it runs out, the route reads the feed once more and would find the event).
    const server = await start(reader, { events: { pollMs: 600_000 } })
    try {
      await writer.push({ package: 'web/a', release: '1.0.0', blob: await chart('a', '1.0.0') })
      const subscribed = observed.subscribed()
      const sent = Date.now()
      const waiting = call(`${server.url}/api/v1/events?after=1&wait=25`)
      // A watch that never subscribes (hints ignored) is given a few seconds to have read the feed.
      await Promise.race([subscribed, new Promise((resolve) => setTimeout(resolve, 3000).unref())])
      await writer.push({ package: 'web/a', release: '1.0.1', blob: await chart('a', '1.0.1') })
      const answer = await waiting
      const seconds = (Date.now() - sent) / 1000
      assert.ok(seconds < 20, `answered after ${seconds} s: woken by the wait running out, not by a hint`)
      assert.is(answer.status, 200)
      assert.equal(
        answer.body.events.map((e: { seq: number; release: string }) => [e.seq, e.release]),
        [[2, '1.0.1']],
      )
    } finally {
      await server.close()
      await cleanup()
    }
  })
}

test.run()
