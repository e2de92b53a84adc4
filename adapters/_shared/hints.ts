/**
 * The listeners of a store's change hints (`KvStore.subscribe`), by key prefix. The memory and
 * level adapters call them after their own commits (the only commits there are: one process);
 * the redis adapter after a message from the server. Listeners run on a later microtask, never inside the commit that woke them.
 * @module
 */

import type { Unsubscribe } from '../../src/storage/kv.js'

export interface HintListeners {
  /** Adds `listener` for keys starting with `prefix`; returns its removal. */
  add(prefix: string, listener: () => void): () => void
  /** {@link add} as `KvStore.subscribe` returns it: idempotent, and silent once `closed()`. */
  subscription(prefix: string, listener: () => void, closed: () => boolean): Unsubscribe
  /** Calls (once each) the listeners whose prefix starts one of `keys`. */
  notify(keys: Iterable<string>): void
  /** True when nobody listens (a writer can skip collecting keys). */
  readonly idle: boolean
}

export function hintListeners(): HintListeners {
  const listeners = new Set<{ readonly prefix: string; readonly listener: () => void }>()
  const add = (prefix: string, listener: () => void): (() => void) => {
    const entry = { prefix, listener }
    listeners.add(entry)
    return () => {
      listeners.delete(entry)
    }
  }
  return {
    add,
    subscription(prefix, listener, closed) {
      const remove = add(prefix, () => {
        if (!closed()) listener()
      })
      return async () => remove()
    },
    notify(keys) {
      if (listeners.size === 0) return
      const woken = new Set<() => void>()
      for (const key of keys) {
        for (const { prefix, listener } of listeners) if (key.startsWith(prefix)) woken.add(listener)
      }
      for (const listener of woken) queueMicrotask(listener)
    },
    get idle() {
      return listeners.size === 0
    },
  }
}
