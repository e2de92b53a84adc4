/**
 * The worked example of docs/adapters.md: a complete KvStore that keeps the whole key space in
 * one JSON file. Small on purpose; it passes the full conformance suite (test/conformance/example.test.ts).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ApprError, assertCommit, assertKey, compareKeys } from 'appr-core'
import type { KvCapabilities, KvCommit, KvCommitResult, KvEntry, KvStore } from 'appr-core'

export interface FileStoreOptions {
  /** Directory of the store (created when missing). */
  readonly path: string
  /** Only for the mutant tests: break one guarantee on purpose. */
  readonly unsafe?: { readonly noLock?: boolean; readonly ackBeforeWrite?: boolean; readonly splitWrites?: boolean }
}

interface Row {
  readonly value: string // base64
  readonly version: number
}

export function fileStore(options: FileStoreOptions): KvStore {
  const capabilities: KvCapabilities = { persistent: true, multiProcess: false, maxValueBytes: 1 << 20, maxOpsPerCommit: 256, maxKeyBytes: 1024 }
  const file = join(options.path, 'store.json')
  const lock = join(options.path, 'LOCK')
  let rows: Map<string, Row> | undefined
  let counter = 0
  let closed = false

  // Opened on first use, like most adapters: take the lock, then load the file.
  const ready = (): Map<string, Row> => {
    if (closed) throw new ApprError('unavailable', 'the file store is closed')
    if (rows) return rows
    mkdirSync(options.path, { recursive: true })
    if (!options.unsafe?.noLock) takeLock(lock)
    const doc = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { counter: number; rows: [string, Row][] }) : { counter: 0, rows: [] }
    counter = doc.counter
    rows = new Map(doc.rows)
    return rows
  }
  // Buffer.from(base64) allocates: callers never share memory with what is stored.
  const entry = (key: string, row: Row | undefined): KvEntry | undefined => row && { key, value: Buffer.from(row.value, 'base64'), version: String(row.version) }
  const persist = (next: Map<string, Row>) => {
    // Write a new file and rename it over the old one: a crash leaves the old or the new state.
    writeFileSync(`${file}.tmp`, JSON.stringify({ counter, rows: [...next] }))
    renameSync(`${file}.tmp`, file)
  }

  // Only for the splitWrites mutant: the commit is applied in memory at once but reaches the
  // file four operations at a time, so a crash in between leaves part of it on disk.
  let writing: Promise<unknown> = Promise.resolve()
  const splitWrite = async (before: Map<string, Row>, next: Map<string, Row>, commit: KvCommit): Promise<KvCommitResult> => {
    rows = next
    const keys = [...(commit.puts ?? []).map((p) => p.key), ...(commit.deletes ?? [])]
    const step = async () => {
      const disk = new Map(before)
      for (let i = 0; i < keys.length; i += 4) {
        for (const key of keys.slice(i, i + 4)) next.has(key) ? disk.set(key, next.get(key)!) : disk.delete(key)
        persist(disk)
        await new Promise((r) => setImmediate(r))
      }
    }
    writing = writing.then(step)
    await writing
    return { ok: true }
  }

  return {
    name: 'file',
    capabilities,
    async get(key) {
      const map = ready()
      assertKey(key, capabilities)
      return entry(key, map.get(key))
    },
    async getMany(keys) {
      const map = ready()
      for (const key of keys) assertKey(key, capabilities)
      return keys.map((key) => entry(key, map.get(key)))
    },
    async list({ prefix, after, limit = 1000 }) {
      const map = ready()
      return [...map.keys()]
        .filter((key) => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0))
        .sort(compareKeys) // UTF-8 byte order, never JavaScript's `<`
        .slice(0, limit)
        .map((key) => entry(key, map.get(key))!)
    },
    // Everything below runs without an await, so no other call can interleave: atomic and linearizable.
    async commit(commit: KvCommit): Promise<KvCommitResult> {
      const map = ready()
      assertCommit(commit, capabilities) // limits, key validity, duplicate keys: before any write
      const conflicts = (commit.checks ?? []).filter((c) => (map.has(c.key) ? String(map.get(c.key)!.version) : null) !== c.version).map((c) => c.key)
      if (conflicts.length > 0) return { ok: false, conflicts }
      const next = new Map(map)
      // One counter for the whole store, persisted with the data: a version is never reused.
      for (const { key, value } of commit.puts ?? []) next.set(key, { value: Buffer.from(value).toString('base64'), version: ++counter })
      for (const key of commit.deletes ?? []) next.delete(key)
      if (options.unsafe?.splitWrites) return splitWrite(map, next, commit)
      if (options.unsafe?.ackBeforeWrite) {
        setTimeout(() => {
          try {
            persist(next)
          } catch {} // the directory may be gone by then
        }, 50)
      }
      else persist(next)
      rows = next
      return { ok: true }
    },
    async close() {
      if (closed) return
      closed = true
      await writing
      if (rows && !options.unsafe?.noLock) rmSync(lock, { force: true })
    },
  }
}

/** An exclusive lock file holding our pid; a lock whose process is gone (SIGKILL) is taken over. */
function takeLock(lock: string): void {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' })
    return
  } catch {}
  const holder = Number(readFileSync(lock, 'utf8'))
  if (holder !== process.pid && alive(holder)) throw new ApprError('unavailable', `the store is in use by process ${holder}`, { transient: true })
  writeFileSync(lock, String(process.pid))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
