// Mutants of versions: tokens derived from content, or reset by a delete.
import { assertCommit } from 'appr-core'
import type { KvCommit, KvEntry, KvStore } from 'appr-core'
import { type Mutant, wrap } from './_wrap.js'

/**
 * Versions computed by `versionOf` instead of the inner store's; checks compare against them.
 * The check and the write happen without an await in between, so only the version rule is broken.
 */
function customVersions(versionOf: (key: string, entry: KvEntry, state: Map<string, number>) => string, onWrite: (c: KvCommit, state: Map<string, number>) => void): KvStore {
  const state = new Map<string, number>()
  return wrap((inner) => {
    const map = (e: KvEntry | undefined) => e && { ...e, version: versionOf(e.key, e, state) }
    return {
      get: async (k) => map(await inner.get(k)),
      getMany: async (ks) => (await inner.getMany(ks)).map(map),
      list: async (o) => (await inner.list(o)).map((e) => map(e)!),
      async commit(c) {
        assertCommit(c, inner.capabilities)
        const checks = c.checks ?? []
        const current = await inner.getMany(checks.map((x) => x.key))
        const conflicts = checks.filter((x, i) => (map(current[i])?.version ?? null) !== x.version).map((x) => x.key)
        if (conflicts.length) return { ok: false, conflicts }
        onWrite(c, state)
        return inner.commit({ puts: c.puts ?? [], deletes: c.deletes ?? [] })
      },
    }
  })
}

const digest = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('') || 'empty'

export const versionMutants: Mutant[] = [
  {
    name: 'version-is-content',
    bug: 'the version is the value itself, so rewriting the same bytes keeps it (ABA)',
    open: () =>
      customVersions(
        (_, e) => `v-${digest(e.value)}`,
        () => {},
      ),
  },
  {
    name: 'version-reused-after-delete',
    bug: 'a per-key write counter that restarts at 1 when the key is deleted',
    open: () =>
      customVersions(
        (key, _, state) => String(state.get(key) ?? 0),
        (c, state) => {
          for (const p of c.puts ?? []) state.set(p.key, (state.get(p.key) ?? 0) + 1)
          for (const k of c.deletes ?? []) state.delete(k)
        },
      ),
  },
]

