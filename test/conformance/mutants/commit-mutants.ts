// Mutants of commit: atomicity, checks, versions, duplicates, limits.
import { ApprError, assertCommit } from 'appr-core'
import type { KvCommit, KvEntry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { type Mutant, limits, tick, wrap } from './_wrap.js'

const checksHold = async (inner: { getMany: (k: string[]) => Promise<(KvEntry | undefined)[]> }, c: KvCommit) => {
  const checks = c.checks ?? []
  const current = await inner.getMany(checks.map((x) => x.key))
  return checks.filter((x, i) => (current[i]?.version ?? null) !== x.version).map((x) => x.key)
}

export const commitMutants: Mutant[] = [
  {
    name: 'non-atomic-commit',
    bug: 'applies a commit one key at a time, yielding between writes',
    open: () =>
      wrap((inner) => ({
        async commit(c) {
          assertCommit(c, inner.capabilities)
          const conflicts = await checksHold(inner, c)
          if (conflicts.length) return { ok: false, conflicts }
          for (const put of c.puts ?? []) {
            await inner.commit({ puts: [put] })
            await tick()
          }
          for (const key of c.deletes ?? []) await inner.commit({ deletes: [key] })
          return { ok: true }
        },
      })),
  },
  {
    name: 'ignored-checks',
    bug: 'applies every commit, ignoring its checks',
    open: () => wrap((inner) => ({ commit: (c) => inner.commit({ puts: c.puts ?? [], deletes: c.deletes ?? [] }) })),
  },
  {
    name: 'racy-cas',
    bug: 'evaluates checks, awaits, then writes (check-then-act across an await)',
    open: () =>
      wrap((inner) => ({
        async commit(c) {
          assertCommit(c, inner.capabilities)
          const conflicts = await checksHold(inner, c)
          if (conflicts.length) return { ok: false, conflicts }
          await tick()
          return inner.commit({ puts: c.puts ?? [], deletes: c.deletes ?? [] })
        },
      })),
  },
  {
    name: 'half-puts-under-contention',
    bug: 'when a check fails, still applies the first half of the puts',
    open: () =>
      wrap((inner) => ({
        async commit(c) {
          const r = await inner.commit(c)
          const puts = c.puts ?? []
          if (!r.ok && puts.length >= 2) await inner.commit({ puts: puts.slice(0, puts.length >> 1) })
          return r
        },
      })),
  },
  {
    name: 'drops-deletes',
    bug: 'a commit with puts and deletes applies only the puts',
    open: () => wrap((inner) => ({ commit: (c) => inner.commit(c.puts?.length ? { checks: c.checks ?? [], puts: c.puts } : c) })),
  },
  {
    name: 'duplicate-keys-accepted',
    bug: 'the same key twice in one commit is coalesced (last wins) instead of refused',
    open: () =>
      wrap((inner) => ({
        commit(c) {
          const puts = new Map((c.puts ?? []).map((p) => [p.key, p]))
          const deletes = (c.deletes ?? []).filter((k) => !puts.has(k))
          return inner.commit({ checks: c.checks ?? [], puts: [...puts.values()], deletes })
        },
      })),
  },
  {
    name: 'duplicate-deletes-coalesced',
    bug: 'a key deleted twice in one commit is deleted once (a set of deletes) instead of refused; put+put and put+delete are refused',
    open: () => wrap((inner) => ({ commit: (c) => inner.commit({ ...c, deletes: [...new Set(c.deletes ?? [])] }) })),
  },
  {
    name: 'snapshot-isolation',
    bug: 'checks of keys the commit writes hold at its instant, checks of keys it only reads are evaluated earlier (REPEATABLE READ): write skew',
    open: () =>
      wrap((inner) => ({
        async commit(c) {
          assertCommit(c, inner.capabilities)
          const written = new Set([...(c.puts ?? []).map((p) => p.key), ...(c.deletes ?? [])])
          const readOnly = (c.checks ?? []).filter((x) => !written.has(x.key))
          const conflicts = await checksHold(inner, { checks: readOnly })
          if (conflicts.length) return { ok: false, conflicts }
          await tick()
          return inner.commit({ checks: (c.checks ?? []).filter((x) => written.has(x.key)), puts: c.puts ?? [], deletes: c.deletes ?? [] })
        },
      })),
  },
  {
    name: 'limit-after-write',
    bug: 'maxOpsPerCommit is enforced while applying: puts up to the limit land, then it throws',
    open: () => {
      const inner = memoryStore({ limits: { maxValueBytes: limits.maxValueBytes, maxKeyBytes: limits.maxKeyBytes } })
      return wrap(
        () => ({
          async commit(c) {
            const ops = (c.checks?.length ?? 0) + (c.puts?.length ?? 0) + (c.deletes?.length ?? 0)
            if (ops <= limits.maxOpsPerCommit) return inner.commit(c)
            await inner.commit({ puts: (c.puts ?? []).slice(0, limits.maxOpsPerCommit) })
            throw new ApprError('invalid-parameters', 'too many operations')
          },
        }),
        { maxOpsPerCommit: limits.maxOpsPerCommit },
        inner,
      )
    },
  },
  {
    name: 'truncating-limit',
    bug: 'values over maxValueBytes are silently truncated instead of refused',
    open: () => {
      const inner = memoryStore({ limits: { maxOpsPerCommit: limits.maxOpsPerCommit, maxKeyBytes: limits.maxKeyBytes } })
      return wrap(
        () => ({ commit: (c) => inner.commit({ ...c, puts: (c.puts ?? []).map((p) => ({ key: p.key, value: p.value.subarray(0, limits.maxValueBytes) })) }) }),
        { maxValueBytes: limits.maxValueBytes },
        inner,
      )
    },
  },
  {
    name: 'utf16-key-limit',
    bug: 'maxKeyBytes is checked against UTF-16 code units, not UTF-8 bytes',
    open: () => {
      const inner = memoryStore({ limits: { maxOpsPerCommit: limits.maxOpsPerCommit, maxValueBytes: limits.maxValueBytes } })
      return wrap(
        () => ({
          commit(c) {
            for (const p of c.puts ?? []) if (p.key.length > limits.maxKeyBytes) throw new ApprError('invalid-parameters', 'key too long')
            return inner.commit(c)
          },
        }),
        { maxKeyBytes: limits.maxKeyBytes },
        inner,
      )
    },
  },
]
