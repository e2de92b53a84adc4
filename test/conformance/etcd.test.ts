import { runConformance } from 'appr-core/conformance'
import { startEtcd } from '../helpers/servers.js'
import { open } from './etcd.adapter.js'

const etcd = await startEtcd({ suite: 'etcd conformance' })
let n = 0
if (etcd) await runConformance({ name: 'etcd', open, newLocation: () => `${etcd.endpoints.join(',')}#c${process.pid}-${n++}/`, worker: new URL('./etcd.adapter.ts', import.meta.url), teardown: () => etcd.stop() })
