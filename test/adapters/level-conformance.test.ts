// The exported conformance suite against the level adapter, on real LevelDB directories. This
// file is also the suite's worker module (it exports `open`); the suite runs only when this file
// is the entry point, not when a worker imports it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { levelStore } from 'appr-core/adapters/level'
import { runConformance } from 'appr-core/conformance'

// Declared limits (as the memory suite does) so the limit properties run against level too.
const limits = { maxValueBytes: 64 * 1024, maxOpsPerCommit: 128, maxKeyBytes: 1024 }
export const open = (location: string) => levelStore({ path: location, limits })

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runConformance({
    name: 'level',
    open,
    newLocation: () => mkdtempSync(join(tmpdir(), 'appr-level-conf-')),
    destroy: (location) => rmSync(location, { recursive: true, force: true }),
    worker: fileURLToPath(import.meta.url),
  })
}
