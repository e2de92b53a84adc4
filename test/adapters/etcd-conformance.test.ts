import { runConformance } from 'appr-core/conformance'
import { startEtcd } from '../helpers/servers.js'
import { open } from '../helpers/etcd-open.js'

const server = await startEtcd({ suite: 'etcd conformance' })
// The harness kills the server when this process exits (the suites run after this module returns).
if (server) {
  process.env.APPR_TEST_ETCD_ENDPOINTS = server.endpoints.join(',') // read by the worker module in child processes
  await runConformance({ name: 'etcd', open, worker: new URL('../helpers/etcd-open.ts', import.meta.url) })
}
