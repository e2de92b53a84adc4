// The suite's own reporting: a failure is always seen with its counterexample and replay line,
// even when work the property left in flight rejects after its store closed, and skipped
// properties name the option or capability that enables them.
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { memoryStore } from 'appr-core/adapters/memory'
import { type Group, checkConformance, kvGroups } from 'appr-core/conformance'

const strayAfterFailure: Group = {
  name: 'stray',
  properties: [
    {
      id: 'stray/fails-then-rejects-late',
      title: 'fails while a reader it started keeps running against the store',
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(fc.integer({ min: 0, max: 100 }), (n) =>
            ctx.withStore(async (store) => {
              // A floating reader, as in a concurrency property: it rejects once the store is closed.
              void (async () => {
                for (;;) {
                  await store.get('k')
                  await new Promise((r) => setTimeout(r, 1))
                }
              })()
              if (n >= 10) throw new Error(`n is ${n}`)
            }),
          ),
          50,
        )
      },
    },
  ],
}

const leaksRejection: Group = {
  name: 'leak',
  properties: [
    {
      id: 'leak/passes-but-leaves-a-rejection',
      title: 'passes, but a promise it started rejects unhandled',
      async run(ctx) {
        const store = await ctx.open()
        void store.get('').then(() => undefined) // rejects: an empty key is invalid
      },
    },
  ],
}

test('a failing property reports its counterexample and replay line although its reader rejects after the store closed', async () => {
  const report = await checkConformance({ name: 'memory', open: () => memoryStore(), seed: 42, log: () => {} }, { groups: [strayAfterFailure] })
  assert.is(report.failed, 1)
  const message = String((report.results[0]?.error as Error | undefined)?.message)
  assert.match(message, 'counterexample')
  assert.match(message, '[10]')
  assert.match(message, "replay: APPR_CONFORMANCE_SEED=42 APPR_CONFORMANCE_ONLY='stray/fails-then-rejects-late' APPR_CONFORMANCE_PATH=")
  assert.match(message, 'unhandled rejection(s) after the failure')
})

test('a property that passes but leaves an unhandled rejection fails, naming it', async () => {
  const report = await checkConformance({ name: 'memory', open: () => memoryStore(), seed: 7, log: () => {} }, { groups: [leaksRejection] })
  assert.is(report.failed, 1)
  const message = String((report.results[0]?.error as Error | undefined)?.message)
  assert.match(message, 'unhandled rejection(s) while it ran')
  assert.match(message, 'APPR_CONFORMANCE_SEED=7')
})

test('skipped properties name the option or capability that enables them', async () => {
  const report = await checkConformance({ name: 'memory', open: () => memoryStore(), log: () => {}, only: 'processes' }, { groups: kvGroups })
  const skipped = report.results.find((r) => r.id === 'concurrency/processes')
  assert.is(skipped?.status, 'skipped')
  assert.match(String(skipped?.missing), 'capabilities.multiProcess')
  assert.match(String(skipped?.missing), 'the worker option')
  assert.match(String(skipped?.missing), 'the newLocation option')
})

test.run()
