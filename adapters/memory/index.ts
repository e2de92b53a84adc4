/**
 * The in-memory reference adapter: byte-ordered, per-key versions, atomic commits.
 * Not persistent; one process. Used by tests, by the conformance suite as its model, and by
 * programs that want a registry without disk.
 * @module
 */
import type { KvCapabilities, KvCommit, KvCommitResult, KvEntry, KvListOptions, KvStore } from '../../src/storage/kv.js'
import { assertCommit, assertKey, closedError, compareKeys, copyBytes } from '../../src/storage/util.js'
import { sortedKeys } from './sorted-keys.js'

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
  // Keys in UTF-8 byte order, so list() is a search plus an ordered scan.
  const keys = sortedKeys()
  let counter = 0
  let closed = false

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
      const fromAfter = after !== undefined && compareKeys(after, prefix) >= 0
      const out: KvEntry[] = []
      if (max <= 0) return out
      for (const key of keys.scan(fromAfter ? after : prefix, fromAfter)) {
        if (!key.startsWith(prefix)) break
        out.push(entry(key, slots.get(key)!))
        if (out.length >= max) break
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
        if (!slots.has(key)) keys.insert(key)
        slots.set(key, { value: copyBytes(value), version: String(++counter) })
      }
      for (const key of commit.deletes ?? []) {
        if (slots.delete(key)) keys.remove(key)
      }
      return { ok: true }
    },
    async close() {
      closed = true
    },
  }
}
