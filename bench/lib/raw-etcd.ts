/**
 * Raw etcd baseline through etcd3: range get, one Txn (the put-if-absent a push needs: compare
 * the manifest key's version to 0, then put every key), and a limited range read for a page.
 */
import { Etcd3 } from 'etcd3'
import type { RawDriver } from './raw.js'

const buffer = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)

export function etcdRaw(hosts: string[]): RawDriver {
  const client = new Etcd3({ hosts })
  return {
    conditional: true,
    async get(key) {
      const v = await client.get(key).buffer()
      return v ?? undefined
    },
    async write(puts, absent) {
      if (absent === undefined && puts.length === 1) {
        await client.put(puts[0]!.key).value(buffer(puts[0]!.value))
        return
      }
      // A Txn is etcd's only multi-key atomic write; unconditional writes compare a version to >= 0.
      const r = await client
        .if(absent ?? puts[0]!.key, 'Version', absent === undefined ? '>' : '==', absent === undefined ? -1 : 0)
        .then(...puts.map(({ key, value }) => client.put(key).value(buffer(value))))
        .commit()
      if (!r.succeeded) throw new Error(`raw write: ${absent} exists`)
    },
    async scan(prefix, after, limit) {
      const end = Buffer.from(prefix)
      end[end.length - 1]! += 1
      const r = await client.getAll().inRange({ start: `${after}\0`, end }).limit(limit).buffers()
      return Object.values(r)
    },
    async close() {
      client.close()
    },
  }
}
