// The example adapter as the suite opens it: one temp directory per location (also the worker module).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileStore } from './file-store.js'

export const open = (path: string) => fileStore({ path })
export const newLocation = () => mkdtempSync(join(tmpdir(), 'file-store-'))
export const destroy = (path: string) => rmSync(path, { recursive: true, force: true })
