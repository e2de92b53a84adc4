/**
 * A KvStore wrapper that counts round trips and keys, so every registry row can say how much
 * storage work one operation does (and show that it does not grow with the registry).
 */
import type { KvStore } from '../../src/storage/kv.js'

export interface Counts {
  /** get + getMany + list calls. */
  reads: number
  keysRead: number
  commits: number
  keysWritten: number
  bytesWritten: number
}

export const zeroCounts = (): Counts => ({ reads: 0, keysRead: 0, commits: 0, keysWritten: 0, bytesWritten: 0 })

/** `a - b`, divided by `ops`. */
export function perOp(a: Counts, b: Counts, ops: number): Counts {
  const d = (k: keyof Counts) => (ops > 0 ? (a[k] - b[k]) / ops : Number.NaN)
  return { reads: d('reads'), keysRead: d('keysRead'), commits: d('commits'), keysWritten: d('keysWritten'), bytesWritten: d('bytesWritten') }
}

/** Wraps `store`; `counts` is live (copy it with `{ ...counts }` to take a snapshot). */
export function countingStore(store: KvStore): { store: KvStore; counts: Counts } {
  const counts = zeroCounts()
  const wrapped: KvStore = {
    name: store.name,
    capabilities: store.capabilities,
    get(key) {
      counts.reads++
      counts.keysRead++
      return store.get(key)
    },
    getMany(keys) {
      counts.reads++
      counts.keysRead += keys.length
      return store.getMany(keys)
    },
    async list(options) {
      counts.reads++
      const page = await store.list(options)
      counts.keysRead += page.length
      return page
    },
    commit(commit) {
      counts.commits++
      const puts = commit.puts ?? []
      counts.keysWritten += puts.length + (commit.deletes?.length ?? 0)
      for (const put of puts) counts.bytesWritten += put.value.byteLength
      return store.commit(commit)
    },
    close: () => store.close(),
  }
  return { store: wrapped, counts }
}
