import { runConformance } from 'appr-core/conformance'
import { destroy, newLocation, open } from './level.adapter.js'

await runConformance({ name: 'level', open, newLocation, destroy, worker: new URL('./level.adapter.ts', import.meta.url) })
