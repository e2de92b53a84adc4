import { runConformance } from 'appr-core/conformance'
import { startRedis } from '../helpers/servers.js'
import { open } from './redis.adapter.js'

const redis = await startRedis({ suite: 'redis conformance' })
let n = 0
if (redis) await runConformance({ name: 'redis', open, newLocation: () => `${redis.url}#c${process.pid}-${n++}`, worker: new URL('./redis.adapter.ts', import.meta.url), teardown: () => redis.stop() })
