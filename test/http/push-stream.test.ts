/**
 * Streamed JSON pushes: the registry stages the blob while the body is still arriving (whatever
 * the member order; see push-order.test.ts); every way such a push can fail stores nothing.
 */
import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BlobInput } from 'appr-core'
import type { RegistryApi } from 'appr-core/http'
import { type JsonBody, b64, call, chart, makeRegistry, postJson, start, tarGz } from './helpers.js'

/** A registry that reports when stage is called (with the blob it streams). */
async function watched() {
  const { registry } = await makeRegistry()
  const calls: { input: { blob: BlobInput }; at: number }[] = []
  const wrapped = new Proxy(registry, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown
      if (key === 'stage') {
        return (blob: BlobInput) => {
          calls.push({ input: { blob }, at: Date.now() })
          return target.stage(blob)
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  }) as RegistryApi
  return { registry: wrapped, calls }
}

/** Sends `head`, waits for `gate`, then sends `tail`; resolves with the response. */
function sendInTwo(url: string, head: string, gate: Promise<unknown>, tail: string): Promise<{ status: number; body: JsonBody }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.write(head)
    gate.then(
      () => req.end(tail),
      (error: unknown) => {
        req.destroy()
        reject(error)
      },
    )
  })
}

const within = <T>(ms: number, p: Promise<T>, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))])

test('release and media_type before blob: the blob is staged before the body ends', async () => {
  const { registry, calls } = await watched()
  const server = await start(registry)
  try {
    const blob = b64(await chart('web', '1.0.0'))
    const half = Math.floor(blob.length / 8) * 4
    const started = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (calls.length > 0) {
          clearInterval(timer)
          resolve()
        }
      }, 5)
      timer.unref()
    })
    const head = `{"release": "1.0.0", "media_type": "helm", "metadata": {"a": 1}, "blob": "${blob.slice(0, half)}`
    const r = await sendInTwo(`${server.url}/cnr/api/v1/packages/acme/web`, head, within(3000, started, 'staging before the body ended'), `${blob.slice(half)}"}`)
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.is(calls.length, 1)
    assert.ok(!(calls[0]!.input.blob instanceof Uint8Array), 'the blob was handed over as a stream')
    const shown = await call(`${server.url}/cnr/api/v1/packages/acme/web/1.0.0/helm`)
    assert.equal(shown.body.metadata, { a: 1 })
    const pulled = await call(`${server.url}/cnr/api/v1/packages/acme/web/1.0.0/helm/pull/json`)
    assert.is(pulled.body.blob, blob)
  } finally {
    await server.close()
  }
})

test("the appr client's body shape (package and organization after blob) stores, read whole when small and streamed when not", async () => {
  const { registry, calls } = await watched()
  const server = await start(registry)
  try {
    const small = b64(await chart('web', '2.0.0'))
    // Incompressible noise makes a body past the 256 KiB under which a JSON push is read whole.
    const large = b64(await tarGz({ 'web/Chart.yaml': 'name: web\nversion: 3.0.0\n', 'web/noise': randomBytes(220 * 1024).toString('base64') }))
    for (const [release, blob, streamed] of [['2.0.0', small, false], ['3.0.0', large, true]] as const) {
      // appr's push command, then client.push adding organization and package after the blob.
      const body = `{"manifest_name": "web", "name": "web", "release": "${release}", "metadata": null, "media_type": "helm", "blob": "${blob}", "organization": "acme", "package": "acme/web"}`
      const r = await call(`${server.url}/cnr/api/v1/packages/acme/web?force=false`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      assert.is(r.status, 200, JSON.stringify(r.body))
      assert.is(!(calls.at(-1)!.input.blob instanceof Uint8Array), streamed, `${release}: streamed`)
      assert.is((await call(`${server.url}/cnr/api/v1/packages/acme/web/${release}/helm`)).status, 200)
    }
  } finally {
    await server.close()
  }
})

test('streamed pushes that fail store nothing: bad JSON after the blob, bad base64, early registry refusal, 413', async () => {
  const { registry } = await makeRegistry()
  const server = await start(registry, { maxBodyBytes: 256 * 1024 })
  const A = `${server.url}/cnr/api/v1/packages`
  const raw = (path: string, body: string) => call(`${A}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  try {
    const blob = b64(await chart('web', '1.0.0'))
    let r = await raw('acme/broken', `{"release": "1.0.0", "media_type": "helm", "blob": "${blob}", }`)
    assert.is(r.status, 400)
    assert.is(r.body.code, 'invalid-usage')
    r = await raw('acme/broken', `{"release": "1.0.0", "media_type": "helm", "blob": "${blob.slice(0, 40)}!!${blob.slice(40)}"}`)
    assert.is(r.status, 422)
    assert.is(r.body.code, 'invalid-parameters')
    // The registry refuses the name before reading the blob; the rest of the body is not awaited.
    const big = 'A'.repeat(200 * 1024)
    r = await within(5000, raw('_bad/name', `{"release": "1.0.0", "media_type": "helm", "blob": "${big}"}`), 'an early refusal')
    assert.is(r.status, 422, JSON.stringify(r.body))
    r = await raw('acme/huge', `{"release": "1.0.0", "media_type": "helm", "blob": "${'A'.repeat(300 * 1024)}"}`)
    assert.is(r.status, 413)
    r = await raw('acme/notgzip', `{"release": "1.0.0", "media_type": "helm", "blob": "${b64(new TextEncoder().encode('plain text'))}"}`)
    assert.is(r.status, 400)
    assert.equal((await call(A)).body, [])
    // And the same server still takes a good push.
    r = await postJson(`${A}/acme/good`, { release: '1.0.0', media_type: 'helm', blob })
    assert.is(r.status, 200)
  } finally {
    await server.close()
  }
})

test.run()
