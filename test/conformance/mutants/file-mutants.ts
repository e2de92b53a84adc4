// Mutants of the docs' example file store that only child processes expose: no lock between
// processes, and an acknowledgement sent before the write reaches the file. A location is
// `<dir>#<bug>`, so the worker (this module) opens the same broken variant.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileStore } from '../../../examples/file-store/file-store.js'
import type { Mutant } from './_wrap.js'

export const open = (location: string) => {
  const [path, bug] = location.split('#') as [string, 'noLock' | 'ackBeforeWrite' | 'splitWrites']
  return fileStore({ path, unsafe: { [bug]: true } })
}

const variant = (name: string, bug: 'noLock' | 'ackBeforeWrite' | 'splitWrites', what: string): Mutant => ({
  name,
  bug: what,
  open,
  newLocation: () => `${mkdtempSync(join(tmpdir(), 'file-mutant-'))}#${bug}`,
  destroy: (location) => rmSync(location.split('#')[0]!, { recursive: true, force: true }),
  worker: new URL('./file-mutants.ts', import.meta.url),
})

export const fileMutants: Mutant[] = [
  variant('file-store-no-lock', 'noLock', 'a single-process file store that lets a second process open it'),
  variant('file-store-ack-before-write', 'ackBeforeWrite', 'acknowledges a commit 50 ms before writing it to the file'),
  variant('file-store-split-writes', 'splitWrites', 'applies a commit in memory at once but writes it to the file four operations at a time'),
]
