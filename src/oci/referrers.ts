/**
 * Referrers on any OCI registry, with or without the referrers API: {@link pushReferrer} PUTs a
 * manifest that has a `subject` and, when the registry does not index it (no `OCI-Subject` in its
 * answer), keeps the referrers tag schema of distribution-spec v1.1 (an index at `sha256-<hex>`);
 * {@link listReferrers} reads the API, or that tag when the API answers 404. On top of them,
 * {@link pushSignature} and {@link pullSignatures} move appr signatures as OCI artifacts
 * (signatures.ts).
 *
 * The tag schema is read-modify-write: two clients adding referrers of one subject at the same
 * moment may lose one entry (the spec accepts this for registries without the API).
 * @module
 */
import type { Signature } from '../model/types.js'
import type { OciClient } from './client-types.js'
import { OciError } from './errors.js'
import type { ManifestBytes } from './helm.js'
import { OCI_INDEX } from './media-types.js'
import { type OciDescriptor, parseManifest } from './schemas.js'
import { APPR_SIGNATURE_ARTIFACT, projectSignature, readSignatureDocument, referrerDescriptor, referrersIndex, referrersTagOf, type SignatureSubject, signatureLayerOf } from './signatures.js'

/** Largest signature document read (a real one is about 250 bytes). */
const MAX_SIGNATURE_DOCUMENT = 4096

/** The referrers index at the tag schema's tag, or `[]`. */
async function taggedReferrers(client: OciClient, repository: string, subject: string): Promise<OciDescriptor[]> {
  const held = await client.getManifest(repository, referrersTagOf(subject))
  return held ? [...parseManifest(held.bytes, held.mediaType).manifests] : []
}

/**
 * Pushes a manifest that has a `subject` (by digest), so the repository's referrers of that
 * subject list it: through the registry's API, else through the referrers tag schema.
 * @throws OciError `MANIFEST_INVALID` when it has no subject; the registry's errors
 */
export async function pushReferrer(client: OciClient, repository: string, manifest: ManifestBytes): Promise<string> {
  const parsed = parseManifest(manifest.bytes, manifest.mediaType)
  const { digest, indexed } = await client.putReferrer(repository, manifest.bytes, manifest.mediaType)
  if (indexed || !parsed.subject) return digest
  const held = await taggedReferrers(client, repository, parsed.subject.digest)
  if (held.some((d) => d.digest === digest)) return digest
  const index = referrersIndex(held, referrerDescriptor(manifest, parsed))
  await client.putManifest(repository, referrersTagOf(parsed.subject.digest), index.bytes, OCI_INDEX)
  return digest
}

/**
 * The referrers of `subject` in `repository` (with `artifactType`, only those): from the
 * referrers API, else from the referrers tag schema.
 */
export async function listReferrers(client: OciClient, repository: string, subject: string, options: { readonly artifactType?: string } = {}): Promise<OciDescriptor[]> {
  const listed = (await client.referrers(repository, subject, options)) ?? (await taggedReferrers(client, repository, subject))
  return listed.filter((d) => options.artifactType === undefined || d.artifactType === options.artifactType)
}

/**
 * Pushes an appr signature as an OCI artifact referring to `subject` (the OCI manifest of the
 * format it signs), after its two blobs. Pushing it again changes nothing.
 */
export async function pushSignature(client: OciClient, repository: string, subject: SignatureSubject, signature: Signature): Promise<string> {
  const projected = projectSignature(subject, signature)
  await client.ensureBlob(repository, projected.config.bytes, { digest: projected.config.digest })
  await client.ensureBlob(repository, projected.layer.bytes, { digest: projected.layer.digest })
  return pushReferrer(client, repository, projected.manifest)
}

/** Reads a small body whole, refusing more than `limit` bytes. @throws OciError `SIZE_INVALID` */
export async function readSmall(body: AsyncIterable<Uint8Array>, limit: number, what: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let total = 0
  for await (const chunk of body) {
    total += chunk.byteLength
    if (total > limit) throw new OciError('SIZE_INVALID', `${what} is larger than ${limit} bytes`, { detail: { limit } })
    parts.push(chunk)
  }
  return new Uint8Array(Buffer.concat(parts))
}

/**
 * The appr signatures referring to `subject` (a format's OCI manifest digest) in `repository`,
 * read from their artifacts (each verified against its digest on the way, not checked as a
 * signature: the appr registry they are offered to does that). Referrers of the signature
 * artifactType whose manifest is not a signature artifact are skipped.
 * @throws ApprError `invalid-parameters` for a signature artifact whose document is not a signature
 */
export async function pullSignatures(client: OciClient, repository: string, subject: string): Promise<Signature[]> {
  const signatures: Signature[] = []
  for (const d of await listReferrers(client, repository, subject, { artifactType: APPR_SIGNATURE_ARTIFACT })) {
    const manifest = await client.getManifest(repository, d.digest)
    if (!manifest) continue
    const parsed = parseManifest(manifest.bytes, manifest.mediaType)
    const layer = signatureLayerOf(parsed)
    if (!layer || parsed.subject?.digest !== subject) continue
    const blob = await client.getBlob(repository, layer.digest)
    if (!blob) throw new OciError('BLOB_UNKNOWN', `${repository} names ${layer.digest}, which it does not have`, { detail: { digest: layer.digest } })
    signatures.push(readSignatureDocument(await readSmall(blob.body, MAX_SIGNATURE_DOCUMENT, `the signature document ${layer.digest}`)))
  }
  return signatures
}
