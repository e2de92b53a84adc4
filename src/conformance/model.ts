/**
 * The reference model of the {@link KvStore} contract: a byte-ordered map whose "versions" are
 * write generations. Exported so that other suites (and adapter authors) can reuse it.
 * @module
 */
import type { KvCommit } from '../storage/kv.js'

const encoder = new TextEncoder()

/** Compares two keys by their UTF-8 bytes (memcmp order; a prefix sorts first). Never JavaScript's `<`. */
export function compareUtf8(a: string, b: string): number {
  const x = encoder.encode(a)
  const y = encoder.encode(b)
  const n = Math.min(x.length, y.length)
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!
  return x.length - y.length
}

/** True when `key` starts with `prefix` as bytes (the same as a string prefix for well-formed strings). */
export function hasPrefix(key: string, prefix: string): boolean {
  return key.startsWith(prefix)
}

/** One record of the model: bytes plus the generation of the write that produced them. */
export interface ModelEntry {
  readonly key: string
  readonly value: Uint8Array
  /** Unique across the whole model's history: a new write (even of the same bytes, even after a delete) gets a new generation. */
  readonly generation: number
}

/** A commit check stated in generations: the key's current generation, or absence when `null`. */
export interface ModelCheck {
  readonly key: string
  readonly generation: number | null
}

/**
 * A deliberately simple model of a KvStore: a plain map plus a sort on every listing, so it is
 * obviously right rather than fast.
 */
export class KvModel {
  readonly #entries = new Map<string, ModelEntry>()
  #generation = 0

  /** The entry at `key`, or `undefined`. */
  get(key: string): ModelEntry | undefined {
    return this.#entries.get(key)
  }

  /** The keys that would fail these checks (empty: the commit applies). */
  conflicts(checks: readonly ModelCheck[]): string[] {
    return checks.filter((c) => (this.#entries.get(c.key)?.generation ?? null) !== c.generation).map((c) => c.key)
  }

  /** Applies a commit whose checks are stated in generations; returns whether it applied. */
  commit(checks: readonly ModelCheck[], puts: KvCommit['puts'] = [], deletes: KvCommit['deletes'] = []): boolean {
    if (this.conflicts(checks).length > 0) return false
    for (const { key, value } of puts) this.#entries.set(key, { key, value: new Uint8Array(value), generation: ++this.#generation })
    for (const key of deletes) this.#entries.delete(key)
    return true
  }

  /** One page of entries under `prefix`, strictly after `after`, ascending by UTF-8 bytes. */
  list(prefix: string, after?: string, limit = Number.POSITIVE_INFINITY): ModelEntry[] {
    return this.all()
      .filter((e) => hasPrefix(e.key, prefix) && (after === undefined || compareUtf8(e.key, after) > 0))
      .slice(0, limit)
  }

  /** Every entry, ascending. */
  all(): ModelEntry[] {
    return [...this.#entries.values()].sort((a, b) => compareUtf8(a.key, b.key))
  }

  get size(): number {
    return this.#entries.size
  }
}
