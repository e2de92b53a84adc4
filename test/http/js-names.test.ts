/**
 * JavaScript's own property names over HTTP (the cases outside testing found): a format named
 * `constructor` that a release lacks is 404, a list by that media type lists nothing, and a
 * channel named `__proto__` is stored, listed, backed up and follows deletes.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { b64, call, chart, postJson, start } from './helpers.js'

test('constructor and __proto__ as format and channel names over HTTP', async () => {
  const registry = new Registry({ store: memoryStore() })
  const server = await start(registry)
  const A = `${server.url}/cnr/api/v1/packages`
  try {
    const blob = b64(await chart('pkg', '1.0.0'))
    assert.is((await postJson(`${A}/ns/pkg`, { release: '1.0.0', media_type: 'helm', blob })).status, 200)

    let r = await call(`${A}/ns/pkg/1.0.0/constructor`, { method: 'DELETE' })
    assert.is(r.status, 404, JSON.stringify(r.body))
    assert.is(r.body.code, 'package-not-found')
    r = await call(`${A}/ns/pkg/1.0.0/constructor`)
    assert.is(r.status, 404, JSON.stringify(r.body))
    r = await call(`${A}/ns/pkg/1.0.0/constructor/pull`)
    assert.is(r.status, 404, JSON.stringify(r.body))
    assert.equal((await call(`${A}?media_type=constructor`)).body, [])
    assert.equal((await call(`${A}/ns/pkg?media_type=constructor`)).body, [])
    assert.is((await call(`${A}?media_type=helm`)).body.length, 1)

    r = await call(`${A}/ns/pkg/channels/__proto__/1.0.0`, { method: 'POST' })
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body, { name: '__proto__', current: '1.0.0', releases: ['1.0.0'] })
    assert.equal((await call(`${A}/ns/pkg/channels`)).body, [{ name: '__proto__', current: '1.0.0', releases: ['1.0.0'] }])
    assert.equal((await call(`${A}/ns/pkg/1.0.0/helm`)).body.channels, ['__proto__'])
    assert.equal((await registry.backup()).channels, [{ package: 'ns/pkg', name: '__proto__', current: '1.0.0' }])

    // The channel follows the delete of its only release (the package goes with it).
    assert.is((await postJson(`${A}/ns/pkg`, { release: '2.0.0', media_type: 'helm', blob })).status, 200)
    assert.is((await call(`${A}/ns/pkg/1.0.0/helm`, { method: 'DELETE' })).status, 200)
    assert.equal((await call(`${A}/ns/pkg/channels`)).body, [])
    assert.is((await call(`${A}/ns/pkg/channels/__proto__`)).status, 404)
    assert.equal((await registry.backup()).channels, [])
  } finally {
    await server.close()
  }
})

test.run()
