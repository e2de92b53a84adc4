// The redis adapter on a 3-master Redis Cluster through an injected ioredis Cluster client: every
// key of a store hashes to one slot (its hash tag), so each commit script runs on one node.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Cluster } from 'ioredis'
import { redisStore } from 'appr-core/adapters/redis'
import { kvContract } from '../helpers/kv-contract.js'
import { startRedisCluster } from '../helpers/servers.js'

const cluster = process.env.APPR_TEST_REDIS_URL ? undefined : await startRedisCluster({ suite: 'redis cluster' })
const test = suite('redis adapter on Redis Cluster')

if (cluster) {
  const client = new Cluster([...cluster.nodes], { redisOptions: { maxRetriesPerRequest: 2 } })
  client.on('error', () => {})
  test.after(async () => {
    client.disconnect()
    await cluster.stop()
  })
  let n = 0
  kvContract(test, () => redisStore({ client, prefix: `c${n++}` }))

  test('stores with different prefixes land on different nodes, each whole on one', async () => {
    const owners = new Set<number>()
    for (let i = 0; i < 12; i++) {
      const prefix = `spread${i}`
      const store = redisStore({ client, prefix })
      await store.commit({ puts: [{ key: 'a', value: new Uint8Array([i]) }, { key: 'b/c', value: new Uint8Array([i]) }] })
      assert.is((await store.list({ prefix: '' })).length, 2)
      const nodes = client.nodes('master')
      const holding: number[] = []
      const slots = new Set<number>()
      for (const key of ['idx', 'val', 'ver', 'seq']) slots.add(Number(await nodes[0]!.call('CLUSTER', 'KEYSLOT', `{${prefix}}:${key}`)))
      assert.is(slots.size, 1)
      const [slot] = slots
      for (const [j, node] of nodes.entries()) if (Number(await node.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot))) > 0) holding.push(j)
      assert.is(holding.length, 1, `store ${prefix} lives on one node`)
      owners.add(holding[0]!)
      await store.close()
    }
    assert.ok(owners.size > 1, 'stores spread over the cluster')
  })
}

test.run()
