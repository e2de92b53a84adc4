import { kvGroups, runConformance } from 'appr-core/conformance'
import { destroy, newLocation, open } from '../../examples/file-store/file-store.adapter.js'

// The docs' example adapter. Level A only: the whole-file rewrite per commit makes level B slow, and it adds nothing here.
await runConformance({ name: 'file (docs example)', open, newLocation, destroy, worker: new URL('../../examples/file-store/file-store.adapter.ts', import.meta.url) }, kvGroups)
