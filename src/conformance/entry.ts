/**
 * What `appr-core/conformance` loads at run time: it first checks that the suite's optional peer
 * dependencies (uvu, fast-check) are installed, so a missing one reads "npm install …" instead of
 * a resolution error from deep inside the suite, then loads the suite (`index.ts`, whose
 * declarations are the entry's types). `entry.test.ts` keeps the two export lists equal.
 * @module
 */
import { ApprError } from '../errors/index.js'
import { isMissingPackage } from '../storage/driver.js'

const peers = ['fast-check', 'uvu'] as const
const missing: string[] = []
for (const peer of peers) {
  try {
    await import(peer)
  } catch (cause) {
    if (!isMissingPackage(cause, peer)) throw cause
    missing.push(peer)
  }
}
if (missing.length > 0) {
  throw new ApprError('unsupported', `appr-core/conformance needs ${missing.join(' and ')}, not installed: npm install --save-dev ${missing.join(' ')}`, {
    details: { packages: missing },
  })
}

export const {
  hostileKeyChars,
  hostileKeysArb,
  keyArb,
  keyChars,
  prefixArb,
  specialValues,
  valueArb,
  BlobCtx,
  ConformanceFailure,
  Ctx,
  SuiteCtx,
  compareUtf8,
  KvModel,
  blobContent,
  pieces,
  readAll,
  kvCommands,
  applyRegistryOp,
  outcomeOf,
  RegistryModel,
  renderState,
  showOp,
  allGroups,
  blobGroups,
  checkBlobConformance,
  checkConformance,
  kvGroups,
  registryGroups,
  runBlobConformance,
  runConformance,
} = await import('./index.js')
