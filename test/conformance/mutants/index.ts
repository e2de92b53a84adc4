// Every deliberately broken adapter. test/conformance/mutants.test.ts asserts the suite fails each.
import type { Mutant } from './_wrap.js'
import { commitMutants } from './commit-mutants.js'
import { fileMutants } from './file-mutants.js'
import { instanceMutants } from './instance-mutants.js'
import { keyMutants } from './key-mutants.js'
import { lifecycleMutants } from './lifecycle-mutants.js'
import { readMutants } from './read-mutants.js'
import { versionMutants } from './version-mutants.js'

export type { Mutant }
export const mutants: readonly Mutant[] = [...commitMutants, ...versionMutants, ...readMutants, ...keyMutants, ...lifecycleMutants, ...instanceMutants, ...fileMutants]
