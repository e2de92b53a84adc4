import { ApprError } from '../errors/index.js'
import type { KvCapabilities, KvCommit, KvEntry, KvStore } from './kv.js'

/**
 * Compares two keys by the byte order of their UTF-8 encodings, which equals code point order.
 * JavaScript's `<` compares UTF-16 code units and disagrees for astral characters.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    // A surrogate (0xD800–0xDFFF) stands for a code point above 0xFFFF, which sorts after
    // every BMP character, including 0xE000–0xFFFF.
    const xs = x >= 0xd800 && x <= 0xdfff
    const ys = y >= 0xd800 && y <= 0xdfff
    if (xs !== ys) return xs ? 1 : -1
    return x < y ? -1 : 1
  }
  return a.length - b.length
}

const encoder = new TextEncoder()

/** UTF-8 length of a string without allocating for ASCII. */
export function utf8Length(s: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII fast path
  return /^[\x00-\x7f]*$/.test(s) ? s.length : encoder.encode(s).length
}

/** Throws `invalid-parameters` unless `key` is a non-empty, well-formed string within limits. */
export function assertKey(key: string, capabilities: KvCapabilities): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new ApprError('invalid-parameters', 'a storage key must be a non-empty string')
  }
  if (!key.isWellFormed()) {
    throw new ApprError('invalid-parameters', 'a storage key must be well-formed Unicode', { details: { key } })
  }
  if (capabilities.maxKeyBytes !== undefined && utf8Length(key) > capabilities.maxKeyBytes) {
    throw new ApprError('invalid-parameters', `key exceeds ${capabilities.maxKeyBytes} bytes`, {
      details: { limit: capabilities.maxKeyBytes },
    })
  }
}

/**
 * Validates a commit against the contract and the adapter's declared limits, before any write.
 * Every adapter calls this first so limits and duplicate keys fail the same way everywhere.
 */
export function assertCommit(commit: KvCommit, capabilities: KvCapabilities): void {
  const checks = commit.checks ?? []
  const puts = commit.puts ?? []
  const deletes = commit.deletes ?? []
  const ops = checks.length + puts.length + deletes.length
  if (capabilities.maxOpsPerCommit !== undefined && ops > capabilities.maxOpsPerCommit) {
    throw new ApprError('invalid-parameters', `commit has ${ops} operations, over the limit of ${capabilities.maxOpsPerCommit}`, {
      details: { limit: capabilities.maxOpsPerCommit, operations: ops },
    })
  }
  const written = new Set<string>()
  for (const check of checks) assertKey(check.key, capabilities)
  for (const { key, value } of puts) {
    assertKey(key, capabilities)
    if (!(value instanceof Uint8Array)) throw new ApprError('invalid-parameters', 'a stored value must be a Uint8Array', { details: { key } })
    if (capabilities.maxValueBytes !== undefined && value.byteLength > capabilities.maxValueBytes) {
      throw new ApprError('invalid-parameters', `value of ${value.byteLength} bytes exceeds the limit of ${capabilities.maxValueBytes}`, {
        details: { key, limit: capabilities.maxValueBytes },
      })
    }
    if (written.has(key)) throw new ApprError('invalid-parameters', 'a key appears twice in one commit', { details: { key } })
    written.add(key)
  }
  for (const key of deletes) {
    assertKey(key, capabilities)
    if (written.has(key)) throw new ApprError('invalid-parameters', 'a key appears twice in one commit', { details: { key } })
    written.add(key)
  }
}

/** The error every adapter throws once closed. */
export function closedError(adapter: string): ApprError {
  return new ApprError('unavailable', `the ${adapter} store is closed`, { details: { adapter } })
}

/** Wraps a backend failure so it is never mistaken for absence. */
export function backendError(adapter: string, cause: unknown): ApprError {
  if (cause instanceof ApprError) return cause
  const message = cause instanceof Error ? cause.message : String(cause)
  return new ApprError('unavailable', `${adapter} backend failed: ${message}`, { cause, transient: true, details: { adapter } })
}

/** Every entry under `prefix`, page by page, never holding more than one page. */
export async function* listAll(store: KvStore, prefix: string, pageSize = 500): AsyncGenerator<KvEntry> {
  let after: string | undefined
  for (;;) {
    const page = await store.list(after === undefined ? { prefix, limit: pageSize } : { prefix, after, limit: pageSize })
    for (const entry of page) yield entry
    if (page.length < pageSize) return
    after = page[page.length - 1]!.key
  }
}

/** A copy that shares no memory with `bytes`. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}
