/**
 * A stream of commits run against a store while a server is restarted or killed, and the check
 * that follows: every acknowledged commit is present, every failure is a typed ApprError, and a
 * failure that says `applied: false` left nothing behind.
 */
import * as assert from 'uvu/assert'
import { isApprError } from 'appr-core'
import type { KvStore } from '../../src/storage/kv.js'

export interface StreamOutcome {
  acked: string[]
  /** Failed with `applied: false`: must be absent. */
  notApplied: string[]
  /** Failed with an unknown outcome (the server stayed unreachable while settling). */
  unknown: string[]
  /** Non-ApprError failures (must be none). */
  untyped: unknown[]
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Runs `writers` sequential streams of create-if-absent commits (key `<tag>/<writer>/<n>`) until
 * `stop` resolves, pausing `pauseMs` between commits.
 */
export async function commitStream(store: KvStore, tag: string, stop: Promise<unknown>, writers = 2, pauseMs = 5): Promise<StreamOutcome> {
  const out: StreamOutcome = { acked: [], notApplied: [], unknown: [], untyped: [] }
  let done = false
  void stop.then(() => {
    done = true
  })
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let n = 0; !done; n++) {
        const key = `${tag}/${w}/${String(n).padStart(6, '0')}`
        try {
          const r = await store.commit({ checks: [{ key, version: null }], puts: [{ key, value: new TextEncoder().encode(key) }] })
          if (r.ok) out.acked.push(key)
          else out.untyped.push(new Error(`false conflict on a fresh key ${key}: ${r.conflicts.join(',')}`))
        } catch (e) {
          if (!isApprError(e)) out.untyped.push(e)
          else if (e.details.applied === false) out.notApplied.push(key)
          else out.unknown.push(key)
          await sleep(50)
        }
        await sleep(pauseMs)
      }
    }),
  )
  return out
}

/** Asserts the stream's guarantees against what the store holds now. */
export async function verifyStream(store: KvStore, tag: string, outcome: StreamOutcome): Promise<void> {
  assert.equal(outcome.untyped.map(String), [], 'every failure is a typed ApprError and no fresh key reports a conflict')
  const present = new Set<string>()
  let after: string | undefined
  for (;;) {
    const page = await store.list(after === undefined ? { prefix: `${tag}/`, limit: 500 } : { prefix: `${tag}/`, after, limit: 500 })
    for (const e of page) present.add(e.key)
    if (page.length < 500) break
    after = page[page.length - 1]!.key
  }
  const lost = outcome.acked.filter((k) => !present.has(k))
  assert.equal(lost, [], 'every acknowledged commit is present')
  const leaked = outcome.notApplied.filter((k) => present.has(k))
  assert.equal(leaked, [], 'a commit reported as not applied left nothing behind')
}

/** A one-line summary for the test log. */
export function summary(name: string, o: StreamOutcome, ms: number): string {
  return `${name}: ${o.acked.length} acked, ${o.notApplied.length} failed (not applied), ${o.unknown.length} unknown, ${o.untyped.length} untyped, ${ms} ms`
}
