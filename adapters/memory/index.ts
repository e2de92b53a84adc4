/**
 * The in-memory reference adapter: byte-ordered, per-key versions, atomic commits.
 * Not persistent; one process. Used by tests, by the conformance suite as its model, and by
 * programs that want a registry without disk.
 * @module
 */
import type { KvCapabilities, KvCommit, KvCommitResult, KvEntry, KvListOptions, KvStore } from '../../src/storage/kv.js'
import { assertCommit, assertKey, closedError, compareKeys } from '../../src/storage/util.js'
import { hintListeners } from '../_shared/hints.js'
import { SlabValues } from './slab-values.js'
import { sortedKeys } from './sorted-keys.js'

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Limits to declare and enforce (to imitate a constrained backend in tests). */
  readonly limits?: Pick<KvCapabilities, 'maxValueBytes' | 'maxOpsPerCommit' | 'maxKeyBytes'>
}

/**
 * Creates an empty in-memory {@link KvStore}.
 * @example
 * ```ts
 * const registry = new Registry({ store: memoryStore() })
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): KvStore {
  const capabilities: KvCapabilities = { persistent: false, multiProcess: false, changeHints: true, ...options.limits }
  // Key → slot number in `values`, which holds every value and version off the object heap (a
  // stored key adds no object besides its string: see slab-values.ts). Reads and writes copy, so
  // callers never share bytes with the store.
  const slots = new Map<string, number>()
  const values = new SlabValues()
  // Keys in UTF-8 byte order, so list() is a search plus an ordered scan.
  const keys = sortedKeys()
  let counter = 0
  let closed = false
  const hints = hintListeners()

  const entry = (key: string, slot: number): KvEntry => ({ key, value: values.read(slot), version: String(values.version(slot)) })
  const versionOf = (key: string): string | null => {
    const slot = slots.get(key)
    return slot === undefined ? null : String(values.version(slot))
  }
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
      return slot === undefined ? undefined : entry(key, slot)
    },
    async getMany(keys) {
      open()
      return keys.map((key) => {
        assertKey(key, capabilities)
        const slot = slots.get(key)
        return slot === undefined ? undefined : entry(key, slot)
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
        .filter(({ key, version }) => versionOf(key) !== version)
        .map(({ key }) => key)
      if (conflicts.length > 0) return { ok: false, conflicts }
      for (const { key, value } of commit.puts ?? []) {
        const slot = slots.get(key)
        if (slot === undefined) {
          keys.insert(key)
          slots.set(key, values.add(value, ++counter))
        } else values.set(slot, value, ++counter)
      }
      for (const key of commit.deletes ?? []) {
        const slot = slots.get(key)
        if (slot === undefined) continue
        slots.delete(key)
        values.free(slot)
        keys.remove(key)
      }
      if (!hints.idle && commit.puts) hints.notify(commit.puts.map((p) => p.key))
      return { ok: true }
    },
    async subscribe(prefix, listener) {
      open()
      return hints.subscription(prefix, listener, () => closed)
    },
    async close() {
      closed = true
    },
  }
}
