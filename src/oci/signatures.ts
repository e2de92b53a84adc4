/**
 * appr signatures as OCI content. A signature of one format of a release (docs/trust.md: it signs
 * that format's appr manifest digest) becomes an OCI artifact manifest whose `subject` is the
 * format's OCI manifest, so the referrers API of the repository lists it beside the release:
 *
 * - `artifactType` {@link APPR_SIGNATURE_ARTIFACT};
 * - the empty config;
 * - one layer of the same media type holding the signature document
 *   `{"keyid","alg","digest","sig"}` (Go JSON, fields in that order);
 * - annotations {@link SIGNATURE_KEYID_ANNOTATION} and {@link SIGNATURE_DIGEST_ANNOTATION}, so a
 *   referrers listing tells whose signature of what it is without a download.
 *
 * Nothing else (no time) is in it: the same signature of the same subject is always the same bytes,
 * so pushing it twice writes nothing new and copies keep its digest.
 *
 * Registries without the referrers API (docker-registry 2.8) are served by the fallback the
 * distribution spec v1.1 defines: an OCI index of the referrers' descriptors at the tag
 * {@link referrersTagOf} (`sha256-<hex>` of the subject).
 * @module
 */
import { ApprError } from '../errors/index.js'
import { SignatureSchema } from '../model/schemas.js'
import type { Signature } from '../model/types.js'
import { goJsonBytes, sortedMap } from './canonical.js'
import { ociDigestOf, parseOciDigest } from './digest.js'
import { type ManifestBytes, manifestBytes } from './helm.js'
import { EMPTY_JSON, EMPTY_JSON_DIGEST, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from './media-types.js'
import type { DerivedBlob } from './projection.js'
import type { OciDescriptor, ParsedManifest } from './schemas.js'

/** The `artifactType` of an appr signature artifact, and the media type of its one layer. */
export const APPR_SIGNATURE_ARTIFACT = 'application/vnd.appr.signature.v1+json'
/** Annotation of a signature artifact: the signing key's id. */
export const SIGNATURE_KEYID_ANNOTATION = 'vnd.appr.signature.keyid'
/** Annotation of a signature artifact: the appr manifest digest it signs. */
export const SIGNATURE_DIGEST_ANNOTATION = 'vnd.appr.manifest-digest'

/** The manifest a signature artifact refers to: a format's OCI manifest. */
export interface SignatureSubject {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
}

/** A signature as OCI content: its manifest (with `subject`), its layer, and the config it names. */
export interface ProjectedSignature {
  readonly manifest: ManifestBytes
  /** The signature document, the manifest's one layer. */
  readonly layer: DerivedBlob
  /** The empty config (`{}`). */
  readonly config: DerivedBlob
}

const EMPTY_CONFIG: DerivedBlob = { mediaType: OCI_EMPTY, digest: EMPTY_JSON_DIGEST, size: EMPTY_JSON.byteLength, bytes: EMPTY_JSON }

const malformed = (message: string, details: Record<string, unknown> = {}): ApprError => new ApprError('invalid-parameters', message, { details })

function parseSignature(value: unknown): Signature {
  const parsed = SignatureSchema.safeParse(value)
  if (!parsed.success) throw malformed(`not a signature: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  return parsed.data
}

/** The bytes of a signature document: `{"keyid","alg","digest","sig"}` as Go marshals them. */
export function signatureDocument(signature: Signature): Uint8Array {
  const s = parseSignature(signature)
  return goJsonBytes({ keyid: s.keyid, alg: s.alg, digest: s.digest, sig: s.sig })
}

/**
 * The OCI artifact of `signature`, referring to `subject` (the OCI manifest of the format it
 * signs). Deterministic: same signature and subject, same bytes.
 * @throws ApprError `invalid-parameters` when `signature` is not a well-formed signature ; OciError `DIGEST_INVALID` when `subject` has no sha256 digest
 */
export function projectSignature(subject: SignatureSubject, signature: Signature): ProjectedSignature {
  parseOciDigest(subject.digest)
  const bytes = signatureDocument(signature)
  const layer: DerivedBlob = { mediaType: APPR_SIGNATURE_ARTIFACT, digest: ociDigestOf(bytes), size: bytes.byteLength, bytes }
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: APPR_SIGNATURE_ARTIFACT,
    config: { mediaType: OCI_EMPTY, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
    layers: [{ mediaType: APPR_SIGNATURE_ARTIFACT, digest: layer.digest, size: layer.size }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: sortedMap([
      [SIGNATURE_DIGEST_ANNOTATION, signature.digest],
      [SIGNATURE_KEYID_ANNOTATION, signature.keyid],
    ]),
  }
  return { manifest: manifestBytes(OCI_MANIFEST, goJsonBytes(manifest)), layer, config: EMPTY_CONFIG }
}

/** The signature layer of a manifest when it is an appr signature artifact, else `undefined`. */
export function signatureLayerOf(manifest: ParsedManifest): OciDescriptor | undefined {
  if (manifest.mediaType !== OCI_MANIFEST || manifest.artifactType !== APPR_SIGNATURE_ARTIFACT) return undefined
  return manifest.layers.find((l) => l.mediaType === APPR_SIGNATURE_ARTIFACT)
}

/**
 * Reads a signature document (a signature artifact's layer). It is not verified here: whoever
 * stores it checks it as any offered signature.
 * @throws ApprError `invalid-parameters` when the bytes are not a signature document
 */
export function readSignatureDocument(bytes: Uint8Array): Signature {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw malformed('a signature document is UTF-8 JSON')
  }
  return parseSignature(value)
}

/** The referrers tag schema (distribution spec v1.1) of a subject: `sha256:<hex>` → `sha256-<hex>`. */
export function referrersTagOf(subject: string): string {
  return `sha256-${parseOciDigest(subject)}`
}

/** True for a tag of the referrers tag schema (`sha256-<hex>`): not a release, not a channel. */
export function isReferrersTag(tag: string): boolean {
  return /^sha256-[0-9a-f]{64}$/.test(tag)
}

/** A referrer as a referrers listing (the API's index, or the fallback tag's) names it. */
export function referrerDescriptor(manifest: ManifestBytes, parsed: ParsedManifest): OciDescriptor {
  return {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    ...(parsed.artifactType === undefined ? {} : { artifactType: parsed.artifactType }),
    ...(Object.keys(parsed.annotations).length === 0 ? {} : { annotations: parsed.annotations }),
  }
}

/**
 * The referrers index of the tag schema: `descriptors` with `added` put in (replacing an entry of
 * the same digest), in order of digest so the same set always has the same bytes.
 */
export function referrersIndex(descriptors: readonly OciDescriptor[], added?: OciDescriptor): ManifestBytes {
  const byDigest = new Map(descriptors.map((d) => [d.digest, d]))
  if (added) byDigest.set(added.digest, added)
  const manifests = [...byDigest.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
  return manifestBytes(OCI_INDEX, goJsonBytes({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }))
}
