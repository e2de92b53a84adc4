// How the suite opens fileBlobStore: one temp directory per location. Also the worker module.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileBlobStore } from 'appr-core/adapters/level'

/** Read size of the store under test; the suite aims object sizes around it. */
export const chunkBytes = 64 * 1024
export const openBlobs = (path: string) => fileBlobStore({ path, readChunkBytes: chunkBytes })
export const newLocation = () => mkdtempSync(join(tmpdir(), 'appr-conformance-file-blobs-'))
export const destroy = (path: string) => rmSync(path, { recursive: true, force: true })
