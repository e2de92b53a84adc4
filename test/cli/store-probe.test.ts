/**
 * serve's start-up probe on its own: a store that never answers fails within the attempt's
 * deadline, a configuration error is never retried, waiting retries until the store answers,
 * and every store opened by a failed attempt is closed.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ApprError, isApprError } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { reachStore } from '../../src/cli/store-probe.js'

test('a store that never answers: unavailable, naming the deadline; the store is closed', async () => {
  const store = memoryStore()
  let closed = 0
  const hanging = { ...store, get: () => new Promise<never>(() => {}), close: async () => void closed++ }
  const error = await reachStore({ open: async () => ({ store: hanging, label: 'hang' }), waitMs: 0, attemptMs: 30 }).catch((e: unknown) => e)
  assert.ok(isApprError(error, 'unavailable'), String(error))
  assert.match((error as Error).message, 'did not answer within 30 ms')
  assert.is(closed, 1)
})

test('a configuration error is never retried, even while waiting', async () => {
  let opens = 0
  const error = await reachStore({
    open: async () => {
      opens++
      throw new ApprError('invalid-parameters', "unknown store 'x'")
    },
    waitMs: 60_000,
  }).catch((e: unknown) => e)
  assert.ok(isApprError(error, 'invalid-parameters'))
  assert.is(opens, 1)
})

test('waiting: failed attempts are retried (and reported) until the store answers', async () => {
  const retries: number[] = []
  let opens = 0
  const reached = await reachStore({
    open: async () => {
      opens++
      if (opens < 3) throw new ApprError('unavailable', 'connection refused', { transient: true })
      return { store: memoryStore(), label: 'memory' }
    },
    waitMs: 60_000,
    onRetry: (reason, attempt) => {
      assert.is(reason, 'connection refused')
      retries.push(attempt)
    },
  })
  assert.is(reached.label, 'memory')
  assert.equal(retries, [1, 2])
  await reached.store.close()
})

test.run()
