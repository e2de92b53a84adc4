/**
 * Signatures of release manifests and the per-namespace signature policies: where a release's
 * signatures live in its package record, the checks push and channels call, and the operations
 * of `Registry.signatures`. Every change is one commit of the package record, so a force push or
 * a delete (which rewrite that record) drops the signatures of what they replace in the same write.
 * @module
 */
import { ApprError } from '../errors/index.js'
import { parseFormat } from '../model/media-type.js'
import { parseRelease } from '../model/release.js'
import { SignatureSchema } from '../model/schemas.js'
import type { Manifest, Signature } from '../model/types.js'
import { keySet, type PublicKey } from '../trust/keys.js'
import { manifestDigest } from '../trust/manifest-digest.js'
import { checkSignature } from '../trust/signature.js'
import type { RegistryContext } from './context.js'
import { decodePackage, lookupFormat, lookupName, packageNotFound, readPackage } from './packages.js'
import { getManifests } from './read.js'
import { decode, encode, keys, ManifestRecordType, nameMap, own, type PackageRecord } from './records.js'
import { eventReadKeys, recordEvent } from './events/record.js'
import { transact } from './transaction.js'
import type { SignaturePolicy } from './types.js'

/** Most signatures one manifest carries. */
export const MAX_SIGNATURES = 16

/** A policy with its keys read once. */
export interface CompiledPolicy {
  readonly keys: ReadonlyMap<string, PublicKey>
  readonly require: 'push' | 'channel'
}

/** Reads the keys of every policy (at construction, so a bad key fails early). */
export function compilePolicies(policies: Readonly<Record<string, SignaturePolicy>> | undefined): ReadonlyMap<string, CompiledPolicy> {
  const out = new Map<string, CompiledPolicy>()
  for (const [namespace, policy] of Object.entries(policies ?? {})) {
    if (policy.require !== 'push' && policy.require !== 'channel') {
      throw new ApprError('invalid-parameters', `signature policy of ${namespace}: require must be 'push' or 'channel'`, { details: { namespace } })
    }
    out.set(namespace, { keys: keySet(policy.keys), require: policy.require })
  }
  return out
}

/** The policy of a namespace: its own, else `'*'`. */
export function policyFor(ctx: RegistryContext, namespace: string): CompiledPolicy | undefined {
  return ctx.policies.get(namespace) ?? ctx.policies.get('*')
}

/** The signatures stored for one manifest (`[]` when none). */
export function releaseSignatures(record: PackageRecord, release: string, format: string): Signature[] {
  return own(own(record.signatures, release), format) ?? []
}

/** Sets (or, with `[]`, drops) the signatures of one manifest in a fresh record. */
export function setReleaseSignatures(record: PackageRecord, release: string, format: string, list: readonly Signature[]): void {
  // Null-prototype copies: releases and formats are user-given names (`constructor`, `__proto__`).
  const all = nameMap(record.signatures)
  const byFormat = nameMap(own(all, release))
  if (list.length > 0) byFormat[format] = [...list]
  else delete byFormat[format]
  if (Object.keys(byFormat).length > 0) all[release] = byFormat
  else delete all[release]
  if (Object.keys(all).length > 0) record.signatures = all
  else delete record.signatures
}

const signatureError = (message: string, details: Record<string, unknown>): ApprError => new ApprError('invalid-parameters', message, { details })

/**
 * Parses signatures offered for `manifest` (push, add, restore): each well-formed, signing this
 * manifest's digest, one per key; under a policy, each a valid signature by one of its keys.
 * @throws invalid-parameters
 */
export function acceptSignatures(ctx: RegistryContext, manifest: Manifest, offered: readonly unknown[]): Signature[] {
  const details = { package: manifest.package, release: manifest.release }
  if (offered.length === 0) return []
  if (offered.length > MAX_SIGNATURES) throw signatureError(`at most ${MAX_SIGNATURES} signatures per release`, details)
  const digest = manifestDigest(manifest)
  const policy = policyFor(ctx, manifest.package.split('/')[0]!)
  const byKey = new Map<string, Signature>()
  for (const raw of offered) {
    const parsed = SignatureSchema.safeParse(raw)
    if (!parsed.success) throw signatureError(`not a signature: ${parsed.error.issues[0]?.message ?? 'invalid'}`, details)
    const signature = parsed.data
    if (signature.digest !== digest) {
      throw signatureError('the signature is of another manifest digest', { ...details, digest, signed: signature.digest })
    }
    if (policy) {
      const check = checkSignature(signature, digest, policy.keys)
      if (!check.ok) throw signatureError(`the signature is not valid under this namespace's policy (${check.reason})`, { ...details, keyid: signature.keyid })
    }
    byKey.set(signature.keyid, signature)
  }
  return [...byKey.values()]
}

/** True when `list` holds a valid signature of `manifest` by one of the policy's keys. */
function trusted(policy: CompiledPolicy, manifest: Manifest, list: readonly Signature[]): boolean {
  if (list.length === 0) return false
  const digest = manifestDigest(manifest)
  return list.some((s) => checkSignature(s, digest, policy.keys).ok)
}

const unsigned = (details: Record<string, unknown>, what: string): ApprError =>
  new ApprError('forbidden', `${what} needs a valid signature by a key of this namespace's policy`, { details: { ...details, reason: 'signature-required' } })

/**
 * Under a `'push'` policy, a push must carry a trusted signature of the manifest it creates.
 * @throws forbidden
 */
export function assertPushAllowed(ctx: RegistryContext, manifest: Manifest, accepted: readonly Signature[]): void {
  const policy = policyFor(ctx, manifest.package.split('/')[0]!)
  if (policy?.require === 'push' && !trusted(policy, manifest, accepted)) {
    throw unsigned({ package: manifest.package, release: manifest.release }, 'a push into this namespace')
  }
}

/** Under either policy, every format of `release` must be signed before a channel points at it. @throws forbidden */
export async function assertChannelAllowed(ctx: RegistryContext, namespace: string, record: PackageRecord, version: string, release: string): Promise<void> {
  const policy = policyFor(ctx, namespace)
  if (policy === undefined) return
  const name = lookupName(record.name)
  const formats = Object.keys(record.releases[release] ?? {}).sort()
  const manifests = await getManifests(ctx, name, version, formats.map((f) => keys.man(name, release, f)))
  for (const manifest of manifests) {
    const format = parseFormat(manifest.mediaType)
    if (!trusted(policy, manifest, releaseSignatures(record, release, format))) {
      throw unsigned({ package: name.full, release, media_type: format }, 'pointing a channel at this release')
    }
  }
}

// ── Registry.signatures ─────────────────────────────────────────────────────────────────────

/** The signatures of one `(package, release, format)`. @throws package-not-found */
export async function listSignatures(ctx: RegistryContext, pkg: string, release: string, format: string): Promise<Signature[]> {
  const name = lookupName(pkg)
  const details = { package: name.full, release: String(release).slice(0, 300) }
  const fmt = lookupFormat(format, details)
  const { record } = await readPackage(ctx, name)
  if (record.releases[release]?.[fmt] === undefined) throw packageNotFound({ ...details, media_type: fmt })
  return releaseSignatures(record, release, fmt)
}

/**
 * Adds signatures to one `(package, release, format)` (one per key: a key's new signature replaces
 * its old one). Returns all its signatures afterwards.
 * @throws package-not-found, invalid-parameters (malformed, of another digest, invalid under the policy, too many)
 */
export async function addSignatures(ctx: RegistryContext, pkg: string, release: string, format: string, offered: readonly unknown[]): Promise<Signature[]> {
  const name = lookupName(pkg)
  const exact = parseRelease(release)
  const details = { package: name.full, release: exact }
  const fmt = lookupFormat(format, details)
  return transact(ctx, { ...details, media_type: fmt }, async (tx) => {
    const [pkgEntry, manEntry] = await tx.getMany([keys.pkg(name), keys.man(name, exact, fmt), ...eventReadKeys(ctx, name)])
    if (pkgEntry === undefined || manEntry === undefined) throw packageNotFound({ ...details, media_type: fmt })
    const record = decodePackage(pkgEntry, name)
    const manifest = decode(ManifestRecordType, manEntry.value, details)
    const accepted = acceptSignatures(ctx, manifest, offered)
    const merged = new Map(releaseSignatures(record, exact, fmt).map((s) => [s.keyid, s]))
    for (const s of accepted) merged.set(s.keyid, s)
    if (merged.size > MAX_SIGNATURES) throw signatureError(`at most ${MAX_SIGNATURES} signatures per release`, details)
    setReleaseSignatures(record, exact, fmt, [...merged.values()])
    const keyids = accepted.map((s) => s.keyid)
    await recordEvent(ctx, tx, name, { type: 'signature.added', release: exact, format: fmt, digest: manifest.content.digest, keyids }, record)
    tx.put(keys.pkg(name), encode(record))
    return [...merged.values()]
  })
}

/** Removes the signature of `keyid` from one `(package, release, format)`; true when there was one. @throws package-not-found */
export async function removeSignature(ctx: RegistryContext, pkg: string, release: string, format: string, keyid: string): Promise<boolean> {
  const name = lookupName(pkg)
  const details = { package: name.full, release: String(release).slice(0, 300) }
  const fmt = lookupFormat(format, details)
  return transact(ctx, { ...details, media_type: fmt }, async (tx) => {
    const [pkgEntry] = await tx.getMany([keys.pkg(name), ...eventReadKeys(ctx, name)])
    if (pkgEntry === undefined) throw packageNotFound(details)
    const record = decodePackage(pkgEntry, name)
    const digest = record.releases[release]?.[fmt]
    if (digest === undefined) throw packageNotFound({ ...details, media_type: fmt })
    const before = releaseSignatures(record, release, fmt)
    const after = before.filter((s) => s.keyid !== keyid)
    if (after.length === before.length) return false
    setReleaseSignatures(record, release, fmt, after)
    await recordEvent(ctx, tx, name, { type: 'signature.removed', release, format: fmt, digest, keyid }, record)
    tx.put(keys.pkg(name), encode(record))
    return true
  })
}
