// Shared plumbing of the deliberately broken adapters: each mutant wraps the (correct) memory
// adapter and breaks exactly one guarantee.
import { memoryStore } from 'appr-core/adapters/memory'
import type { KvCapabilities, KvStore } from 'appr-core'

export const limits = { maxValueBytes: 64 * 1024, maxOpsPerCommit: 128, maxKeyBytes: 1024 }

/** A memory store with `overrides` replacing some of its methods (the rest delegate). */
export function wrap(overrides: (inner: KvStore) => Partial<KvStore>, capabilities?: Partial<KvCapabilities>, inner = memoryStore({ limits })): KvStore {
  const o = overrides(inner)
  return {
    name: 'mutant',
    capabilities: { ...inner.capabilities, ...capabilities },
    get: o.get ?? ((k) => inner.get(k)),
    getMany: o.getMany ?? ((ks) => inner.getMany(ks)),
    list: o.list ?? ((opts) => inner.list(opts)),
    commit: o.commit ?? ((c) => inner.commit(c)),
    close: o.close ?? (() => inner.close()),
  }
}

/** A mutant: a name, the bug it plants, and how to open it. */
export interface Mutant {
  readonly name: string
  readonly bug: string
  readonly open: (location: string) => KvStore
  readonly destroy?: (location: string) => void
  readonly newLocation?: () => string
  /** Module exporting `open`, for the child-process properties. */
  readonly worker?: URL
}

export const tick = () => new Promise<void>((resolve) => setImmediate(resolve))
