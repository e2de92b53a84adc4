/**
 * The in-memory reference adapter: byte-ordered, per-key versions, atomic commits.
 * Not persistent; one process. Used by tests, by the conformance suite as its model, and by
 * programs that want a registry without disk.
 * @module
 */
import type { KvCapabilities, KvCommit, KvCommitResult, KvEntry, KvListOptions, KvStore } from '../../src/storage/kv.js'
import { assertCommit, assertKey, closedError, compareKeys, copyBytes } from '../../src/storage/util.js'

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Limits to declare and enforce (to imitate a constrained backend in tests). */
  readonly limits?: Pick<KvCapabilities, 'maxValueBytes' | 'maxOpsPerCommit' | 'maxKeyBytes'>
}

interface Slot {
  value: Uint8Array
  version: string
}

/**
 * Creates an empty in-memory {@link KvStore}.
 * @example
 * ```ts
 * const registry = new Registry({ store: memoryStore() })
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): KvStore {
  const capabilities: KvCapabilities = { persistent: false, multiProcess: false, ...options.limits }
  const slots = new Map<string, Slot>()
  // Keys kept sorted by UTF-8 byte order so list() is a binary search plus a slice.
  const sorted: string[] = []
  let counter = 0
  let closed = false

  const position = (key: string): number => {
    let lo = 0
    let hi = sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareKeys(sorted[mid]!, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const entry = (key: string, slot: Slot): KvEntry => ({ key, value: copyBytes(slot.value), version: slot.version })
  const open = (): void => {
    if (closed) throw closedError('memory')
  }

  return {
    name: 'memory',
    capabilities,
    async get(key) {
      open()
      assertKey(key, capabilities)
      const slot = slots.get(key)
      return slot && entry(key, slot)
    },
    async getMany(keys) {
      open()
      return keys.map((key) => {
        assertKey(key, capabilities)
        const slot = slots.get(key)
        return slot && entry(key, slot)
      })
    },
    async list({ prefix, after, limit }: KvListOptions) {
      open()
      const max = limit ?? 1000
      let i = after !== undefined && compareKeys(after, prefix) >= 0 ? position(after) : position(prefix)
      if (after !== undefined && sorted[i] === after) i++
      const out: KvEntry[] = []
      for (; i < sorted.length && out.length < max; i++) {
        const key = sorted[i]!
        if (!key.startsWith(prefix)) break
        out.push(entry(key, slots.get(key)!))
      }
      return out
    },
    async commit(commit: KvCommit): Promise<KvCommitResult> {
      open()
      assertCommit(commit, capabilities)
      const conflicts = (commit.checks ?? [])
        .filter(({ key, version }) => (slots.get(key)?.version ?? null) !== version)
        .map(({ key }) => key)
      if (conflicts.length > 0) return { ok: false, conflicts }
      for (const { key, value } of commit.puts ?? []) {
        if (!slots.has(key)) sorted.splice(position(key), 0, key)
        slots.set(key, { value: copyBytes(value), version: String(++counter) })
      }
      for (const key of commit.deletes ?? []) {
        if (slots.delete(key)) sorted.splice(position(key), 1)
      }
      return { ok: true }
    },
    async close() {
      closed = true
    },
  }
}
