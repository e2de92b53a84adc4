import type { KvStore } from './kv.js'

/** What a {@link countingStore} has seen pass through. */
export interface StoreCounts {
  /** `get`, `getMany` and `list` calls. */
  reads: number
  /** Keys asked for by `get`/`getMany`, plus entries returned by `list`. */
  keysRead: number
  commits: number
  /** Commits that reported a conflict. */
  conflicts: number
  /** Keys named by the checks of commits. */
  keysChecked: number
  /** Keys put or deleted by commits. */
  keysWritten: number
  /** Bytes of the values put by commits. */
  bytesWritten: number
}

/** Zeroed {@link StoreCounts}. */
export const zeroCounts = (): StoreCounts => ({ reads: 0, keysRead: 0, commits: 0, conflicts: 0, keysChecked: 0, keysWritten: 0, bytesWritten: 0 })

/**
 * Wraps `store` so every round trip and key is counted: how a test proves an operation's cost
 * does not grow with the registry, and how the benchmarks report storage work per operation.
 * `counts` is live; copy it (`{ ...counts }`) for a snapshot.
 */
export function countingStore(store: KvStore): { store: KvStore; counts: StoreCounts } {
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
    async commit(commit) {
      counts.commits++
      const puts = commit.puts ?? []
      counts.keysChecked += commit.checks?.length ?? 0
      counts.keysWritten += puts.length + (commit.deletes?.length ?? 0)
      for (const put of puts) counts.bytesWritten += put.value.byteLength
      const result = await store.commit(commit)
      if (!result.ok) counts.conflicts++
      return result
    },
    close: () => store.close(),
  }
  return { store: wrapped, counts }
}
