// How the suite opens the level adapter: one temp directory per location. Also the worker
// module: child processes import `open` from here to reopen the same directory.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { levelStore } from 'appr-core/adapters/level'
import { openBlobsOver } from './kv-blobs.js'

const root = join(tmpdir(), 'appr-conformance-level')
// Declared limits so the limit properties exercise the adapter's enforcement too.
export const open = (path: string) => levelStore({ path, limits: { maxValueBytes: 1024 * 1024, maxOpsPerCommit: 256, maxKeyBytes: 1024 } })
export const newLocation = () => mkdtempSync(`${root}-`)
export const destroy = (path: string) => rmSync(path, { recursive: true, force: true })
/** For the BlobStore part's child processes: kvBlobStore over the store at `location`. */
export const openBlobs = openBlobsOver(open)
