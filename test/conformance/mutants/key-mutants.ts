// Mutants of key handling and value size, in the shapes real backends get wrong: a
// case-insensitive collation, LIKE prefixes without escaping, a key column too short, a value
// column that truncates.
import { assertCommit, assertKey } from 'appr-core'
import type { KvCommit, KvEntry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { type Mutant, limits, wrap } from './_wrap.js'

/** A memory store whose keys pass through `stored` on the way in (results report the stored key). */
function mappedKeys(stored: (key: string) => string, onApplied: (c: KvCommit) => void = () => {}) {
  return wrap((inner) => {
    const map = (c: KvCommit): KvCommit => ({
      checks: (c.checks ?? []).map((x) => ({ ...x, key: stored(x.key) })),
      puts: (c.puts ?? []).map((p) => ({ ...p, key: stored(p.key) })),
      deletes: (c.deletes ?? []).map(stored),
    })
    return {
      get: async (key) => {
        assertKey(key, inner.capabilities)
        return inner.get(stored(key))
      },
      getMany: async (keys) => {
        for (const key of keys) assertKey(key, inner.capabilities)
        return inner.getMany(keys.map(stored))
      },
      async commit(c) {
        assertCommit(c, inner.capabilities)
        const r = await inner.commit(map(c))
        if (r.ok) onApplied(c)
        return r
      },
    }
  })
}

const encoder = new TextEncoder()

export const keyMutants: Mutant[] = [
  {
    name: 'case-folding-keys',
    bug: 'keys compare case-insensitively (a *_ci collation): "A" finds the row of "a", which keeps its first spelling',
    open: () => {
      const spelling = new Map<string, string>()
      return mappedKeys((key) => spelling.get(key.toLowerCase()) ?? key, (c) => {
        for (const p of c.puts ?? []) if (!spelling.has(p.key.toLowerCase())) spelling.set(p.key.toLowerCase(), p.key)
        for (const k of c.deletes ?? []) spelling.delete(k.toLowerCase())
      })
    },
  },
  {
    name: 'truncated-long-keys',
    bug: 'declares maxKeyBytes 1024 but stores keys in a 255-byte column: longer keys are cut, so keys sharing 255 bytes collide',
    open: () =>
      mappedKeys((key) => {
        let out = ''
        let bytes = 0
        for (const c of key) {
          bytes += encoder.encode(c).length
          if (bytes > 255) break
          out += c
        }
        return out
      }),
  },
  {
    name: 'like-wildcard-prefix',
    bug: "list(prefix) as SQL `key LIKE prefix || '%'` without escaping: `_` matches any character and `%` any run",
    open: () =>
      wrap((inner) => ({
        async list({ prefix, after, limit = 1000 }) {
          const pattern = new RegExp(`^${[...prefix].map((c) => (c === '_' ? '.' : c === '%' ? '.*' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('')}`, 'su')
          const rows: KvEntry[] = await inner.list({ prefix: '', ...(after === undefined ? {} : { after }), limit: 1_000_000 })
          return rows.filter((e) => pattern.test(e.key)).slice(0, limit)
        },
      })),
  },
  {
    name: 'truncates-at-64k',
    bug: 'declares no value limit but keeps at most 65,535 bytes of a value (a BLOB column)',
    open: () => {
      const inner = memoryStore({ limits: { maxOpsPerCommit: limits.maxOpsPerCommit, maxKeyBytes: limits.maxKeyBytes } })
      return wrap(() => ({ commit: (c) => inner.commit({ ...c, puts: (c.puts ?? []).map((p) => ({ key: p.key, value: p.value.subarray(0, 65_535) })) }) }), {}, inner)
    },
  },
]
