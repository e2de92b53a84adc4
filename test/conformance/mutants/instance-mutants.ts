// A "multi-process" store whose instances share data but each keep a private read cache: a
// single instance is perfect, a second instance on the same location reads stale entries.
import { ApprError } from 'appr-core'
import type { KvEntry, KvStore } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { type Mutant, limits, wrap } from './_wrap.js'

const shared = new Map<string, KvStore>()

export const instanceMutants: Mutant[] = [
  {
    name: 'per-instance-read-cache',
    bug: 'each instance caches get() results and only invalidates them on its own writes',
    open: (location) => {
      const data = shared.get(location) ?? memoryStore({ limits })
      shared.set(location, data)
      const cache = new Map<string, KvEntry | undefined>()
      let closed = false
      const alive = () => {
        if (closed) throw new ApprError('unavailable', 'closed')
      }
      return wrap(
        () => ({
          async getMany(keys) {
            alive()
            return data.getMany(keys)
          },
          async list(o) {
            alive()
            return data.list(o)
          },
          async get(key) {
            alive()
            if (!cache.has(key)) cache.set(key, await data.get(key))
            const hit = cache.get(key)
            return hit && { ...hit, value: new Uint8Array(hit.value) }
          },
          async commit(c) {
            alive()
            const r = await data.commit(c)
            for (const key of [...(c.puts ?? []).map((p) => p.key), ...(c.deletes ?? [])]) cache.delete(key)
            return r
          },
          close: async () => {
            closed = true
          },
        }),
        { multiProcess: true },
        data,
      )
    },
    destroy: (location) => {
      shared.delete(location)
    },
  },
]
