// Mutants of lifecycle and durability: close semantics, and a "persistent" store that loses
// the last write on reopen.
import type { KvStore } from 'appr-core'
import { instanceOn, type Mutant, wrap } from './_wrap.js'

// The "disk" of the persistent mutant: one memory store per location, living across opens.
const disks = new Map<string, KvStore>()

export const lifecycleMutants: Mutant[] = [
  {
    name: 'close-ignored',
    bug: 'close() does nothing: calls after close still succeed',
    open: () => wrap(() => ({ close: async () => {} })),
  },
  {
    name: 'close-strands-queued-writes',
    bug: 'commits are queued for a flush timer; close() cancels the timer, so queued commits never settle',
    open: () => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const queue: (() => void)[] = []
      return wrap((inner) => ({
        commit: (c) =>
          new Promise((resolve, reject) => {
            queue.push(() => inner.commit(c).then(resolve, reject))
            timer ??= setTimeout(() => {
              timer = undefined
              for (const run of queue.splice(0)) run()
            }, 1)
          }),
        async close() {
          clearTimeout(timer)
          await inner.close()
        },
      }))
    },
  },
  {
    name: 'reopen-loses-last-write',
    bug: 'a "persistent" store whose close() forgets the most recent commit (an unflushed write buffer)',
    open: (location) =>
      instanceOn(disks, location, { persistent: true }, (disk) => {
        let undo: (() => Promise<unknown>) | undefined
        return {
          async commit(c) {
            const touched = [...(c.puts ?? []).map((p) => p.key), ...(c.deletes ?? [])]
            const before = await disk.getMany(touched)
            const r = await disk.commit(c)
            if (r.ok) {
              undo = () =>
                disk.commit({
                  puts: before.flatMap((e) => (e ? [{ key: e.key, value: e.value }] : [])),
                  deletes: touched.filter((_, i) => before[i] === undefined),
                })
            }
            return r
          },
          onClose: async () => undo?.(),
        }
      }),
    destroy: (location) => {
      disks.delete(location)
    },
  },
]
