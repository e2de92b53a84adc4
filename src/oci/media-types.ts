/**
 * Media types of the OCI image spec, Docker's v2 schema 2, Helm's chart artifacts and appr's
 * projection onto OCI.
 * @module
 */
import { contentMediaType, manifestMediaType } from '../model/media-type.js'

/** OCI image manifest. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
/** OCI image index. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
/** OCI image config. */
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
/** OCI gzip layer. */
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
/** The empty descriptor's media type (image spec 1.1): the two bytes `{}`. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json'
/** Docker image manifest, v2 schema 2. */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
/** Docker manifest list (multi-architecture). */
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
/** Docker image config. */
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'
/** Helm chart config (the Chart.yaml fields as JSON). */
export const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json'
/** Helm chart content: the chart `.tgz` bytes. */
export const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip'
/** Helm provenance file. */
export const HELM_PROVENANCE_LAYER = 'application/vnd.cncf.helm.chart.provenance.v1.prov'

/** Every manifest media type a registry serves, single manifests before indexes. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST]

/** The `Accept` header value a client sends to get any manifest type. */
export const ACCEPT_MANIFESTS: string = MANIFEST_MEDIA_TYPES.join(', ')

/** True for the index kinds (OCI image index, Docker manifest list). */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST
}

/** True for any of the four manifest media types. */
export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(mediaType)
}

/** The two bytes of the OCI empty descriptor, `{}`. */
export const EMPTY_JSON: Uint8Array = Uint8Array.of(0x7b, 0x7d)
/** `sha256:` digest of {@link EMPTY_JSON}. */
export const EMPTY_JSON_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'

/** The `artifactType` of an appr release of `format` projected as an OCI artifact. */
export function apprArtifactType(format: string): string {
  return manifestMediaType(format)
}

/** The layer media type of an appr release of `format`: its appr content media type. */
export function apprLayerMediaType(format: string): string {
  return contentMediaType(format)
}
