/**
 * appr manifest records: the appr manifest of one format of a release (package, release, media
 * type, the content descriptor with its appr digest, metadata, `created_at`) kept in an OCI
 * registry as a referrer of the format's OCI manifest, `artifactType`
 * {@link APPR_MANIFEST_ARTIFACT}, the manifest JSON its one layer. The OCI projection carries
 * neither the appr content digest nor `metadata`, and both are in the appr manifest digest that
 * signatures sign: the record lets the trust mirror see what an OCI registry already holds, and
 * lets `oci copy` bring `metadata` back, so signatures still verify after a round trip. A record
 * is a claim, not a proof: whoever reads it checks it (the mirror against the source, an appr
 * registry against the blob it stores).
 * @module
 */
import { type Manifest, ManifestSchema, parseFormat } from '../model/index.js'
import { goJsonBytes, sortedMap } from './canonical.js'
import type { OciClient } from './client-types.js'
import { ociDigestOf } from './digest.js'
import { type ManifestBytes, manifestBytes } from './helm.js'
import { EMPTY_JSON, EMPTY_JSON_DIGEST, OCI_EMPTY, OCI_MANIFEST } from './media-types.js'
import { FORMAT_ANNOTATION } from './projection.js'
import { listReferrers, pushReferrer, readSmall } from './referrers.js'
import { parseManifest } from './schemas.js'
import type { SignatureSubject } from './signatures.js'

/** The `artifactType` of an appr manifest record, and the media type of its one layer. */
export const APPR_MANIFEST_ARTIFACT = 'application/vnd.appr.manifest.v1+json'

/** Largest appr manifest record read back (appr's own limit on metadata is well below). */
const MAX_RECORD_BYTES = 1024 * 1024

/**
 * The appr manifest record of one format: an artifact referring to `subject` whose layer is the
 * manifest's JSON (`package`, `release`, `mediaType`, `content`, `metadata`, `created_at`, in
 * that order). Deterministic.
 */
export function projectManifestRecord(subject: SignatureSubject, manifest: Manifest): { manifest: ManifestBytes; layer: { digest: string; size: number; bytes: Uint8Array } } {
  const { content } = manifest
  const bytes = goJsonBytes({
    package: manifest.package,
    release: manifest.release,
    mediaType: manifest.mediaType,
    content: { mediaType: content.mediaType, size: content.size, digest: content.digest, urls: content.urls },
    metadata: manifest.metadata ?? null,
    created_at: manifest.created_at,
  })
  const layer = { digest: ociDigestOf(bytes), size: bytes.byteLength, bytes }
  const record = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: APPR_MANIFEST_ARTIFACT,
    config: { mediaType: OCI_EMPTY, digest: EMPTY_JSON_DIGEST, size: EMPTY_JSON.byteLength },
    layers: [{ mediaType: APPR_MANIFEST_ARTIFACT, digest: layer.digest, size: layer.size }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: sortedMap([[FORMAT_ANNOTATION, parseFormat(manifest.mediaType)]]),
  }
  return { manifest: manifestBytes(OCI_MANIFEST, goJsonBytes(record)), layer }
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return undefined
  }
}

/** Pushes the record of `manifest` as a referrer of `subject` (its format's OCI manifest), unless the repository has it. */
export async function pushManifestRecord(client: OciClient, repository: string, subject: SignatureSubject, manifest: Manifest): Promise<void> {
  const record = projectManifestRecord(subject, manifest)
  if (await client.headManifest(repository, record.manifest.digest)) return
  await client.ensureBlob(repository, EMPTY_JSON, { digest: EMPTY_JSON_DIGEST })
  await client.ensureBlob(repository, record.layer.bytes, { digest: record.layer.digest })
  await pushReferrer(client, repository, record.manifest)
}

/** The appr manifest record referring to `subject` (a format's OCI manifest digest), or `undefined` when there is none that reads as a manifest. */
export async function pullManifestRecord(client: OciClient, repository: string, subject: string): Promise<Manifest | undefined> {
  for (const d of await listReferrers(client, repository, subject, { artifactType: APPR_MANIFEST_ARTIFACT })) {
    const m = await client.getManifest(repository, d.digest)
    const parsed = m && parseManifest(m.bytes, m.mediaType)
    const layer = parsed?.subject?.digest === subject ? parsed.layers.find((l) => l.mediaType === APPR_MANIFEST_ARTIFACT) : undefined
    const blob = layer && (await client.getBlob(repository, layer.digest))
    if (!blob) continue
    const record = ManifestSchema.safeParse(parseJson(await readSmall(blob.body, MAX_RECORD_BYTES, `the appr manifest record ${layer.digest}`)))
    if (record.success) return record.data
  }
  return undefined
}
