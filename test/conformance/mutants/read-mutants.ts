// Mutants of reads and listing: order, cursors, prefixes, caches, aliasing.
import type { KvEntry } from 'appr-core'
import { type Mutant, tick, wrap } from './_wrap.js'

const all = { prefix: '', limit: 1_000_000 }

export const readMutants: Mutant[] = [
  {
    name: 'utf16-list-order',
    bug: 'list sorts keys with JavaScript string comparison (UTF-16 code units)',
    open: () =>
      wrap((inner) => ({
        async list({ prefix, after, limit = 1000 }) {
          const keys = (await inner.list(all)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
          return keys.filter((e) => e.key.startsWith(prefix) && (after === undefined || e.key > after)).slice(0, limit)
        },
      })),
  },
  {
    name: 'inclusive-after',
    bug: 'the `after` cursor is inclusive (off by one), so each page repeats the last key of the previous one',
    open: () =>
      wrap((inner) => ({
        async list({ prefix, after, limit = 1000 }) {
          const page = await inner.list({ prefix, ...(after === undefined ? {} : { after }), limit })
          const at = after === undefined ? undefined : await inner.get(after)
          return (at?.key.startsWith(prefix) ? [at, ...page] : page).slice(0, limit)
        },
      })),
  },
  {
    name: 'prefix-range-uffff',
    bug: 'prefix listing as the UTF-16 range [prefix, prefix + "\\uffff"), which misses astral characters and U+FFFF',
    open: () =>
      wrap((inner) => ({
        async list({ prefix, after, limit = 1000 }) {
          const page = await inner.list({ prefix, ...(after === undefined ? {} : { after }), limit: 1_000_000 })
          return page.filter((e) => e.key < `${prefix}\uffff`).slice(0, limit)
        },
      })),
  },
  {
    name: 'list-returns-deleted',
    bug: 'a listing index not cleaned on delete: list still returns deleted keys (get does not)',
    open: () => {
      const ghosts = new Map<string, KvEntry>()
      return wrap((inner) => ({
        async commit(c) {
          const doomed = await inner.getMany(c.deletes ?? [])
          const r = await inner.commit(c)
          if (r.ok) {
            for (const e of doomed) if (e) ghosts.set(e.key, e)
            for (const p of c.puts ?? []) ghosts.delete(p.key)
          }
          return r
        },
        async list({ prefix, after, limit = 1000 }) {
          const live = await inner.list({ prefix, ...(after === undefined ? {} : { after }), limit })
          const extra = [...ghosts.values()].filter((e) => e.key.startsWith(prefix) && (after === undefined || Buffer.compare(Buffer.from(e.key), Buffer.from(after)) > 0))
          return [...live, ...extra].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key))).slice(0, limit)
        },
      }))
    },
  },
  {
    name: 'stale-read-cache',
    bug: 'get() caches entries and the cache is refreshed on puts but not invalidated on deletes',
    open: () => {
      const cache = new Map<string, KvEntry>()
      return wrap((inner) => ({
        async get(key) {
          const hit = cache.get(key)
          if (hit) return { ...hit, value: new Uint8Array(hit.value) }
          const e = await inner.get(key)
          if (e) cache.set(key, e)
          return e
        },
        async commit(c) {
          const r = await inner.commit(c)
          if (r.ok) for (const p of c.puts ?? []) cache.delete(p.key)
          return r
        },
      }))
    },
  },
  {
    name: 'stitched-list-pages',
    bug: 'list fetches the backend 64 keys at a time and stitches the pages, so one call is not one snapshot',
    open: () =>
      wrap((inner) => ({
        async list({ prefix, after, limit = 1000 }) {
          const out: KvEntry[] = []
          let cursor = after
          while (out.length < limit) {
            const page = await inner.list({ prefix, ...(cursor === undefined ? {} : { after: cursor }), limit: Math.min(64, limit - out.length) })
            out.push(...page)
            if (page.length < Math.min(64, limit - out.length + page.length)) break
            cursor = page[page.length - 1]!.key
            await tick()
          }
          return out
        },
      })),
  },
  {
    name: 'getmany-sorted',
    bug: 'getMany returns the entries in key order instead of the order asked',
    open: () =>
      wrap((inner) => ({
        async getMany(keys) {
          const sorted = [...keys].sort()
          return inner.getMany(sorted)
        },
      })),
  },
  {
    name: 'aliased-buffers',
    bug: 'keeps the caller\'s Uint8Array and returns the same object from get (no copies)',
    open: () => {
      const held = new Map<string, Uint8Array>()
      return wrap((inner) => ({
        async get(key) {
          const e = await inner.get(key)
          return e && { ...e, value: held.get(key) ?? e.value }
        },
        async commit(c) {
          const r = await inner.commit(c)
          if (r.ok) {
            for (const p of c.puts ?? []) held.set(p.key, p.value)
            for (const k of c.deletes ?? []) held.delete(k)
          }
          return r
        },
      }))
    },
  },
]
