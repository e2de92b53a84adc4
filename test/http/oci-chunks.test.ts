// OCI-Chunk-Min-Length (distribution-spec v1.1): sent on upload POST answers when the handler has a
// minimum; every chunk but the last must reach it (the last may come by PATCH or with the PUT);
// appr-core's OCI client sizes its PATCHes by it.
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import { ociClient, ociDigestOf } from 'appr-core/oci'
import { rejectsOci } from '../oci/helpers.js'

const MIN = 1000
let server: RunningServer
let base: string
test.before(async () => {
  server = await serve({ handler: createHandler(new Registry({ store: memoryStore() }), { ociChunkMinLength: MIN }), port: 0 })
  base = server.url
})
test.after(async () => {
  await server.close()
})

async function start(repo = 'acme/chunks'): Promise<{ location: string; minLength: string | null }> {
  const res = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } })
  assert.is(res.status, 202)
  return { location: new URL(res.headers.get('location')!, base).href, minLength: res.headers.get('oci-chunk-min-length') }
}

const patch = (location: string, body: Uint8Array<ArrayBuffer>, start: number) =>
  fetch(location, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${start + body.byteLength - 1}` }, body })
const put = (location: string, digest: string, body?: Uint8Array<ArrayBuffer>) => {
  const url = new URL(location)
  url.searchParams.set('digest', digest)
  return fetch(url, { method: 'PUT', ...(body ? { body, headers: { 'content-type': 'application/octet-stream' } } : {}) })
}
const codeOf = async (res: Response) => ((await res.json()) as { errors: { code: string }[] }).errors[0]!.code

test('POST answers OCI-Chunk-Min-Length; chunks of at least that, then a shorter last one by PATCH or with the PUT, make the blob', async () => {
  const data = new Uint8Array(randomBytes(2 * MIN - 2))
  const digest = ociDigestOf(data)
  const first = await start()
  assert.is(first.minLength, String(MIN))
  const one = await patch(first.location, data.subarray(0, MIN), 0)
  assert.is(one.status, 202)
  const two = await patch(new URL(one.headers.get('location')!, base).href, data.subarray(MIN), MIN)
  assert.is(two.status, 202)
  assert.is(two.headers.get('range'), `0-${data.byteLength - 1}`)
  assert.is((await put(new URL(two.headers.get('location')!, base).href, digest)).status, 201)
  const served = await fetch(`${base}/v2/acme/chunks/blobs/${digest}`)
  assert.equal(new Uint8Array(await served.arrayBuffer()), data)

  // The short last chunk in the PUT's body instead.
  const other = new Uint8Array(randomBytes(MIN + 7))
  const second = await start()
  assert.is((await patch(second.location, other.subarray(0, MIN), 0)).status, 202)
  assert.is((await put(second.location, ociDigestOf(other), other.subarray(MIN))).status, 201)
  // A single chunk shorter than the minimum is a whole (last) chunk.
  const small = new Uint8Array([1, 2, 3])
  const third = await start()
  assert.is((await patch(third.location, small, 0)).status, 202)
  assert.is((await put(third.location, ociDigestOf(small))).status, 201)
})

test('bytes after a chunk shorter than the minimum are BLOB_UPLOAD_INVALID and not kept; the upload can still close with the bytes it has', async () => {
  const data = new Uint8Array(randomBytes(3 * MIN))
  const { location } = await start()
  assert.is((await patch(location, data.subarray(0, 10), 0)).status, 202)
  const after = await patch(location, data.subarray(10, 10 + MIN), 10)
  assert.is(after.status, 400)
  assert.is(await codeOf(after), 'BLOB_UPLOAD_INVALID')
  const withPut = await put(location, ociDigestOf(data.subarray(0, 10 + MIN)), data.subarray(10, 10 + MIN))
  assert.is(withPut.status, 400)
  assert.is(await codeOf(withPut), 'BLOB_UPLOAD_INVALID')
  const status = await fetch(location)
  assert.is(status.status, 204)
  assert.is(status.headers.get('range'), '0-9', 'the refused bytes were not appended')
  assert.is((await put(location, ociDigestOf(data.subarray(0, 10)))).status, 201)
})

test('no minimum by default: no header, and any chunk sizes are accepted', async () => {
  const plain = await serve({ handler: createHandler(new Registry({ store: memoryStore() })), port: 0 })
  try {
    const res = await fetch(`${plain.url}/v2/acme/x/blobs/uploads/`, { method: 'POST' })
    assert.is(res.headers.get('oci-chunk-min-length'), null)
    const location = new URL(res.headers.get('location')!, plain.url).href
    const data = new Uint8Array([1, 2, 3, 4])
    assert.is((await patch(location, data.subarray(0, 1), 0)).status, 202)
    assert.is((await patch(location, data.subarray(1), 1)).status, 202)
    assert.is((await put(location, ociDigestOf(data))).status, 201)
  } finally {
    await plain.close()
  }
})

test("appr-core's client sends chunks of at least the registry's minimum, even with a smaller chunkBytes", async () => {
  const ranges: string[] = []
  const recording: typeof fetch = (input, init) => {
    if (init?.method === 'PATCH') ranges.push(new Headers(init.headers).get('content-range') ?? '')
    return fetch(input, init)
  }
  const client = ociClient({ url: base, chunkBytes: 100, fetch: recording })
  const data = new Uint8Array(randomBytes(2500))
  async function* pieces() {
    for (let i = 0; i < data.byteLength; i += 50) yield data.subarray(i, i + 50)
  }
  const info = await client.pushBlobStream('acme/client', pieces())
  assert.is(info.digest, ociDigestOf(data))
  assert.equal(ranges, ['0-999', '1000-1999', '2000-2499'])
  const read = await client.getBlob('acme/client', info.digest)
  const parts: Uint8Array[] = []
  for await (const chunk of read!.body) parts.push(chunk)
  assert.equal(new Uint8Array(Buffer.concat(parts)), data)
})

test('a minimum beyond what the client holds in memory is refused up front, and the upload it started is cancelled', async () => {
  const huge = await serve({ handler: createHandler(new Registry({ store: memoryStore() }), { ociChunkMinLength: 512 * 1024 * 1024 }), port: 0 })
  const deleted: string[] = []
  const recording: typeof fetch = (input, init) => {
    if (init?.method === 'DELETE') deleted.push(String(input))
    return fetch(input, init)
  }
  try {
    async function* one() {
      yield new Uint8Array([1])
    }
    await rejectsOci(ociClient({ url: huge.url, fetch: recording }).pushBlobStream('acme/huge', one()), 'BLOB_UPLOAD_INVALID')
    assert.is(deleted.length, 1)
    assert.match(deleted[0]!, '/v2/acme/huge/blobs/uploads/')
  } finally {
    await huge.close()
  }
})

test.run()
