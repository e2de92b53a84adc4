// A 5 MiB object through kvBlobStore on both networked adapters (etcd: chunked under its value
// and request limits).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { kvBlobStore } from 'appr-core'
import type { KvStore } from 'appr-core'
import { redisStore } from 'appr-core/adapters/redis'
import { etcdStore } from 'appr-core/adapters/etcd'
import { startEtcd, startRedis } from '../helpers/servers.js'

const redis = await startRedis({ suite: 'redis blobs' })
const etcd = await startEtcd({ suite: 'etcd blobs' })
const test = suite('5 MiB blobs on redis and etcd')
test.after(async () => {
  await redis?.stop()
  await etcd?.stop()
})

const data = new Uint8Array(randomBytes(5 * 1024 * 1024 + 17))
data.set([0x00, 0xff, 0x00, 0xff], 0)
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
async function* pieces(size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size)
}

const stores: [string, () => KvStore][] = []
if (redis) stores.push(['redis', () => redisStore({ url: redis.url, prefix: 'blobs' })])
if (etcd) stores.push(['etcd', () => etcdStore({ hosts: etcd.endpoints, prefix: 'blobs/' })])

for (const [name, open] of stores) {
  test(`${name}: a 5 MiB object round-trips byte for byte, and delete removes every chunk`, async () => {
    const store = open()
    const blobs = kvBlobStore(store)
    await blobs.write('abc/upload-1', pieces(300 * 1024 + 7))
    const stream = await blobs.read('abc/upload-1')
    assert.ok(stream)
    const hash = createHash('sha256')
    let size = 0
    let largest = 0
    for await (const chunk of stream) {
      hash.update(chunk)
      size += chunk.byteLength
      largest = Math.max(largest, chunk.byteLength)
    }
    assert.is(size, data.length)
    assert.is(hash.digest('hex'), sha(data))
    if (store.capabilities.maxValueBytes !== undefined) assert.ok(largest <= store.capabilities.maxValueBytes)
    const chunks = await store.list({ prefix: '', limit: 1000 })
    if (name === 'etcd') assert.ok(chunks.length > 5, `chunked into ${chunks.length} keys`)
    const ids: string[] = []
    for await (const id of blobs.ids()) ids.push(id)
    assert.equal(ids, ['abc/upload-1'])
    await blobs.delete('abc/upload-1')
    assert.is(await blobs.read('abc/upload-1'), undefined)
    assert.equal(await store.list({ prefix: '' }), [])
    await store.close()
  })
}

test.run()
