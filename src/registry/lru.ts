/**
 * A Map kept in least-recently-set order, for the registry's bounded caches.
 *
 * Why not `map.keys().next()` to find the oldest entry: V8 leaves a deleted entry as a hole at
 * the front of a Map's table until the table is rehashed, and every new iterator walks all of
 * them, so evicting that way costs more the longer a full cache runs (measured: 1 → 30 µs per
 * eviction over 100k pushes). One long-lived iterator passes each hole once. Map iterators are
 * live: entries set after it was created (or moved to the end by a re-set) are reached later,
 * in order.
 * @module
 */
export class LruMap<K, V> {
  readonly #map = new Map<K, V>()
  #oldest: Iterator<K> | undefined

  /** @param maxEntries entries kept by `set` (the oldest go first); `Infinity` leaves eviction to the caller. */
  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.#map.size
  }

  /** The value at `key`; with `touch`, it becomes the most recently used. */
  get(key: K, touch = false): V | undefined {
    const value = this.#map.get(key)
    if (touch && value !== undefined) {
      this.#map.delete(key)
      this.#map.set(key, value)
    }
    return value
  }

  has(key: K): boolean {
    return this.#map.has(key)
  }

  /** Sets `key` as the most recently used, evicting the oldest beyond `maxEntries`. */
  set(key: K, value: V): void {
    if (this.maxEntries < 1) return
    this.#map.delete(key)
    this.#map.set(key, value)
    while (this.#map.size > this.maxEntries) this.evictOldest()
  }

  /** Removes and returns the least recently set entry. */
  evictOldest(): [K, V] | undefined {
    for (let fresh = 0; fresh < 2; fresh++) {
      this.#oldest ??= this.#map.keys()
      const next = this.#oldest.next()
      if (!next.done) {
        const value = this.#map.get(next.value) as V
        this.#map.delete(next.value)
        return [next.value, value]
      }
      this.#oldest = undefined // an exhausted iterator stays exhausted: start again
    }
    return undefined
  }
}
