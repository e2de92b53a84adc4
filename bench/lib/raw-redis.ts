/**
 * Raw Redis baseline through ioredis: GET, MULTI/EXEC of SETs (plus one ZADD so keys can be
 * listed in order, which any ordered store on Redis needs), ZRANGEBYLEX + MGET for a page.
 */
import { Redis } from 'ioredis'
import type { RawDriver } from './raw.js'

const INDEX = 'raw:index'

export function redisRaw(url: string): RawDriver {
  const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })
  return {
    conditional: false,
    async get(key) {
      const v = await client.getBuffer(key)
      return v ?? undefined
    },
    async write(puts) {
      const multi = client.multi()
      for (const { key, value } of puts) multi.set(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength))
      multi.zadd(INDEX, ...puts.flatMap(({ key }) => [0, key]))
      const result = await multi.exec()
      const failed = result?.find(([e]) => e)
      if (!result || failed) throw failed?.[0] ?? new Error('redis MULTI aborted')
    },
    async scan(prefix, after, limit) {
      const keys = await client.zrangebylex(INDEX, `(${after}`, `(${prefix}\xff`, 'LIMIT', 0, limit)
      if (keys.length === 0) return []
      return (await client.mgetBuffer(...keys)).filter((value): value is Buffer => value !== null)
    },
    async close() {
      client.disconnect()
    },
  }
}
