import { runConformance } from 'appr-core/conformance'
import { startRedis } from '../helpers/servers.js'
import { open } from '../helpers/redis-open.js'

const server = await startRedis({ suite: 'redis conformance' })
// The harness kills the server when this process exits (the suites run after this module returns).
if (server) {
  process.env.APPR_TEST_REDIS_URL = server.url // read by the worker module in child processes
  await runConformance({ name: 'redis', open, worker: new URL('../helpers/redis-open.ts', import.meta.url) })
}
