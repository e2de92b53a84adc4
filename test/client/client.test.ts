/**
 * `appr-core/client` in Node against a real server (`harness.ts`): every case of `behaviour.ts`.
 */
import { createServer } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createClient, isApprError } from 'appr-core/client'
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

test('a registry that cannot be reached is unavailable, naming the URL and the reason', async () => {
  // A port that was just free on loopback: connecting to it is refused.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
  const error = await createClient({ registry: `http://127.0.0.1:${port}` })
    .list()
    .then(
      () => undefined,
      (e: unknown) => e,
    )
  assert.ok(isApprError(error, 'unavailable'), String(error))
  assert.ok(error.transient)
  assert.match(error.message, `cannot reach http://127.0.0.1:${port}/cnr/api/v1/packages: connection refused (ECONNREFUSED)`)
  assert.is(error.details.url, `http://127.0.0.1:${port}/cnr/api/v1/packages`)
})

test.run()
