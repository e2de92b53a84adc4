/**
 * A JSON push means the same whatever the order of its members (RFC 8259: member order carries
 * no meaning; the reference accepts any): members after the blob are applied, the blob streams
 * whatever its place, and every order fails with the code and reason of the blob-first order.
 */
import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ApprError, type BlobStore, type KvStore, kvBlobStore, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import type { HandlerOptions, RegistryApi } from 'appr-core/http'
import { b64, call, chart, start, tarGz } from './helpers.js'

type Member = 'release' | 'media_type' | 'blob' | 'force' | 'metadata'

/** The JSON text of a push body with its members in `order`. */
function body(order: readonly Member[], values: Record<Member, unknown>): string {
  return `{${order.map((m) => `${JSON.stringify(m)}: ${JSON.stringify(values[m])}`).join(', ')}}`
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]))
}

const post = (url: string, text: string) => call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text })

/** Sends `head` and never ends the body; resolves with the response the server sends anyway. */
function sendUnfinished(url: string, head: string): Promise<{ status: number; body: { code?: string } }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy()
      reject(new Error('no answer before the body ended'))
    }, 5000)
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => {
        clearTimeout(timer)
        req.destroy()
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) })
      })
    })
    req.on('error', () => {}) // destroyed on purpose once answered
    req.write(head)
  })
}

async function serverOn(registry: RegistryApi, options: HandlerOptions = {}) {
  const server = await start(registry, options)
  return { server, A: `${server.url}/cnr/api/v1/packages` }
}

test('every order of release, media_type, blob, force, metadata pushes the same; force and metadata after the blob apply', async () => {
  const registry = new Registry({ store: memoryStore() })
  const { server, A } = await serverOn(registry)
  try {
    const blob = b64(await chart('web', '1.0.0'))
    const members: Member[] = ['release', 'media_type', 'blob', 'force', 'metadata']
    const orders = permutations(members)
    assert.is(orders.length, 120)
    for (const [i, order] of orders.entries()) {
      const r = await post(`${A}/acme/web`, body(order, { release: '1.0.0', media_type: 'helm', blob, force: 'true', metadata: { order: i } }))
      assert.is(r.status, 200, `${order.join(',')}: ${JSON.stringify(r.body)}`)
      const shown = await call(`${A}/acme/web/1.0.0/helm`)
      assert.equal(shown.body.metadata, { order: i }, order.join(','))
    }
    // Without force, in any order, the existing release is kept: force is what the body says.
    for (const order of permutations<Member>(['release', 'media_type', 'blob', 'metadata'])) {
      const r = await post(`${A}/acme/web`, body(order, { release: '1.0.0', media_type: 'helm', blob, force: false, metadata: 'late' }))
      assert.is(r.status, 409, `${order.join(',')}: ${JSON.stringify(r.body)}`)
      assert.is(r.body.code, 'package-exists')
    }
    assert.equal((await call(`${A}/acme/web/1.0.0/helm`)).body.metadata, { order: orders.length - 1 })
    // media_type after the blob picks the format; the package in the body after it names the package.
    let r = await post(`${A}/acme/web`, body(['blob', 'release', 'media_type'], { release: '2.0.0', media_type: 'kpm', blob, force: false, metadata: null }))
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.is((await call(`${A}/acme/web/2.0.0/kpm`)).status, 200)
    r = await post(A, `{"blob": "${blob}", "release": "1.0.0", "media_type": "helm", "package": "acme/other"}`)
    assert.is(r.status, 200, JSON.stringify(r.body))
    assert.is((await call(`${A}/acme/other/1.0.0/helm`)).status, 200)
  } finally {
    await server.close()
  }
})

test('a blob first streams: the server answers 413 for an over-limit blob before the body ends', async () => {
  const registry = new Registry({ store: memoryStore(), limits: { maxCompressedBytes: 64 * 1024 } })
  const { server, A } = await serverOn(registry, { maxBodyBytes: 1024 * 1024 })
  try {
    // Over the registry's compressed-size limit, and (second) over the body limit.
    for (const size of [200 * 1024, 1100 * 1024]) {
      const head = `{"blob": "${'H4sI'.padEnd((size / 4) * 4, 'A')}`
      const r = await sendUnfinished(`${A}/acme/big`, head)
      assert.is(r.status, 413, JSON.stringify(r.body))
      assert.is(r.body.code, 'payload-too-large')
    }
    assert.equal((await call(A)).body, [])
  } finally {
    await server.close()
  }
})

/** Wraps a store's default blob store so that every write fails after its first chunk, as in a backend outage. */
function failingBlobs(store: KvStore): BlobStore {
  const real = kvBlobStore(store)
  return {
    read: (id) => real.read(id),
    delete: (id) => real.delete(id),
    ids: () => real.ids(),
    async write(id, chunks) {
      await real.write(
        id,
        (async function* () {
          for await (const chunk of chunks) {
            yield chunk
            break
          }
          throw new ApprError('unavailable', 'the blob backend went away', { transient: true })
        })(),
      )
    },
  }
}

test('every push order fails with the code and reason of the blob-first order: 413, path-traversal, transient 503', async () => {
  const orders: Member[][] = [
    ['blob', 'release', 'media_type'],
    ['release', 'media_type', 'blob'],
    ['release', 'blob', 'media_type'],
  ]
  const big = b64(await tarGz({ 'big/Chart.yaml': 'name: big\nversion: 1.0.0\n', 'big/noise': randomBytes(150 * 1024).toString('base64') }))
  const evil = b64(await tarGz({ '../../evil': 'x', 'web/Chart.yaml': 'name: web\nversion: 1.0.0\n' }))
  const store = memoryStore()
  const registry = new Registry({ store, blobs: failingBlobs(store), limits: { maxCompressedBytes: 64 * 1024 } })
  const { server, A } = await serverOn(registry, { maxBodyBytes: 1024 * 1024 })
  try {
    const outcomes: string[] = []
    for (const order of orders) {
      const values = (blob: string) => ({ release: '1.0.0', media_type: 'helm', blob, force: false, metadata: null })
      const tooBig = await post(`${A}/acme/big`, body(order, values(big)))
      const traversal = await post(`${A}/acme/evil`, body(order, values(evil)))
      const mid = b64(await tarGz({ 'mid/Chart.yaml': 'name: mid\nversion: 1.0.0\n' }))
      const outage = await post(`${A}/acme/mid`, body(order, values(mid)))
      outcomes.push(
        JSON.stringify([
          [tooBig.status, tooBig.body.code],
          [traversal.status, traversal.body.code, traversal.body.details?.reason],
          [outage.status, outage.body.code, outage.headers.has('retry-after')],
        ]),
      )
      assert.is(tooBig.status, 413, `${order}: ${JSON.stringify(tooBig.body)}`)
      assert.is(tooBig.body.code, 'payload-too-large')
      assert.is(traversal.status, 400, `${order}: ${JSON.stringify(traversal.body)}`)
      assert.is(traversal.body.details.reason, 'path-traversal', `${order}: ${JSON.stringify(traversal.body)}`)
      assert.is(outage.status, 503, `${order}: ${JSON.stringify(outage.body)}`)
      assert.is(outage.body.code, 'unavailable')
    }
    assert.is(new Set(outcomes).size, 1, outcomes.join('\n'))
    assert.equal((await call(A)).body, [])
  } finally {
    await server.close()
  }
})

test.run()
