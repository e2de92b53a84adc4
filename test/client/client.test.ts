/**
 * `appr-core/client` in Node against a real server (`harness.ts`): every case of `behaviour.ts`.
 */
import { test } from 'uvu'
import type { RunningServer } from 'appr-core/http/node'
import { chart } from '../http/helpers.js'
import { cases, context } from './behaviour.js'
import { startHarness } from './harness.js'

let server: RunningServer | undefined

test.before(async () => {
  server = await startHarness()
})

test.after(async () => {
  await server?.close()
})

for (const c of cases) {
  test(c.name, async () => {
    await c.run(context(server!.url, chart))
  })
}

test.run()
