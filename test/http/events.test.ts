// GET /api/v1/events: the change feed over HTTP — pages with a cursor, long-polling, typed errors,
// and who may read it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
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

test.run()
