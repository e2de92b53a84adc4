/**
 * A release by its manifest digest (see docs/trust.md). The digest is computed from the stored
 * manifests, never stored itself, so a force push that changes a manifest makes its old digest
 * resolve to nothing at once.
 * @module
 */
import { ApprError } from '../errors/index.js'
import type { ManifestWithChannels } from '../model/types.js'
import { isManifestDigest, manifestDigest } from '../trust/manifest-digest.js'
import type { RegistryContext } from './context.js'
import { lookupName, readPackage } from './packages.js'
import { getManifests, manifestKeys, shown } from './read.js'

/**
 * The manifest of `pkg` whose manifest digest is `digest`, as show gives it. Looks through the
 * package's manifests (cached by package-record version), so its cost grows with the number of
 * releases of that one package.
 * @throws package-not-found, package-release-not-found (no manifest has that digest)
 */
export async function showByDigest(ctx: RegistryContext, pkg: string, digest: string): Promise<ManifestWithChannels> {
  const name = lookupName(pkg)
  const { record, version } = await readPackage(ctx, name)
  const notFound = () =>
    new ApprError('package-release-not-found', `no release of ${name.full} has manifest digest ${String(digest).slice(0, 80)}`, {
      details: { package: name.full, digest: String(digest).slice(0, 80) },
    })
  if (!isManifestDigest(digest)) throw notFound()
  for (const manifest of await getManifests(ctx, name, version, manifestKeys(name, record))) {
    let candidate: string
    try {
      candidate = manifestDigest(manifest)
    } catch {
      continue // metadata stored before digests existed that is not I-JSON: it has no digest
    }
    if (candidate === digest) return shown(record, manifest)
  }
  throw notFound()
}
