// Shared plumbing of the deliberately broken adapters: each mutant wraps the (correct) memory
// adapter and breaks exactly one guarantee.
import { memoryStore } from 'appr-core/adapters/memory'
import { ApprError } from 'appr-core'
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

/** What {@link instanceOn} lets a mutant replace: calls on the shared data, and a hook run at the first close. */
type InstanceCalls = Partial<Pick<KvStore, 'get' | 'getMany' | 'list' | 'commit'>> & { readonly onClose?: () => Promise<unknown> }

/**
 * One open instance of a store whose data lives at `location` (one memory store per location in
 * `stores`, kept across opens, as a disk or a server would). Every call fails once this instance
 * is closed; `calls` replace the plain delegation to the shared data.
 */
export function instanceOn(stores: Map<string, KvStore>, location: string, capabilities: Partial<KvCapabilities>, calls: (data: KvStore) => InstanceCalls): KvStore {
  const data = stores.get(location) ?? memoryStore({ limits })
  stores.set(location, data)
  const o = calls(data)
  let closed = false
  const alive = () => {
    if (closed) throw new ApprError('unavailable', 'closed')
  }
  return wrap(
    () => ({
      async get(key) {
        alive()
        return o.get ? o.get(key) : data.get(key)
      },
      async getMany(keys) {
        alive()
        return o.getMany ? o.getMany(keys) : data.getMany(keys)
      },
      async list(options) {
        alive()
        return o.list ? o.list(options) : data.list(options)
      },
      async commit(commit) {
        alive()
        return o.commit ? o.commit(commit) : data.commit(commit)
      },
      async close() {
        if (closed) return
        closed = true
        await o.onClose?.()
      },
    }),
    capabilities,
    data,
  )
}
