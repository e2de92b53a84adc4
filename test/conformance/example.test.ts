import { runConformance } from 'appr-core/conformance'
import { destroy, newLocation, open } from './example/file-store.adapter.js'

await runConformance({ name: 'file (docs example)', open, newLocation, destroy, worker: new URL('./example/file-store.adapter.ts', import.meta.url) })
