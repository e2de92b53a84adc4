// A "multi-process" store whose instances share data but each keep a private read cache: a
// single instance is perfect, a second instance on the same location reads stale entries.
import { randomUUID } from 'node:crypto'
import type { KvEntry, KvStore } from 'appr-core'
import { instanceOn, type Mutant } from './_wrap.js'

const shared = new Map<string, KvStore>()

export const instanceMutants: Mutant[] = [
  {
    name: 'per-instance-read-cache',
    bug: 'each instance caches get() results and only invalidates them on its own writes',
    open: (location) =>
      instanceOn(shared, location, { multiProcess: true }, (data) => {
        const cache = new Map<string, KvEntry | undefined>()
        return {
          async get(key) {
            if (!cache.has(key)) cache.set(key, await data.get(key))
            const hit = cache.get(key)
            return hit && { ...hit, value: new Uint8Array(hit.value) }
          },
          async commit(c) {
            const r = await data.commit(c)
            for (const key of [...(c.puts ?? []).map((p) => p.key), ...(c.deletes ?? [])]) cache.delete(key)
            return r
          },
        }
      }),
    newLocation: () => `instance-${randomUUID()}`,
    destroy: (location) => {
      shared.delete(location)
    },
  },
]
