import { ApprError } from '../errors/index.js'

/**
 * Formats (`helm`, `kpm`, `docker-compose`, `appr` …) and their appr media types:
 * manifest `application/vnd.appr.package-manifest.<format>.v0.json`, content
 * `application/vnd.appr.package.<format>.v0.tar+gzip`. Any `vN` is accepted on input (stored
 * data in the wild uses v1), and so is the older `vnd.cnr` vendor prefix.
 * @module
 */

const FORMAT = /^[a-z0-9][a-z0-9_-]{0,63}$/
const MEDIA_TYPE = /^application\/vnd\.(?:appr|cnr)\.(package-manifest|package)\.([a-z0-9][a-z0-9_-]{0,63})\.v(\d{1,4})\.(json|tar\+gzip)$/

/** The format appr assumes when a push names none. */
export const DEFAULT_FORMAT = 'kpm'

/**
 * The short format name of `input`: a format (`helm`, any case) or a manifest or content media type.
 * @throws ApprError `invalid-parameters`
 */
export function parseFormat(input: string): string {
  const lowered = typeof input === 'string' ? input.trim().toLowerCase() : ''
  if (FORMAT.test(lowered)) return lowered
  const m = MEDIA_TYPE.exec(lowered)
  if (m && (m[1] === 'package-manifest') === (m[4] === 'json')) return m[2]!
  throw new ApprError('invalid-parameters', `invalid format or media type '${String(input).slice(0, 200)}'`, {
    details: { media_type: String(input).slice(0, 200) },
  })
}

/** `application/vnd.appr.package-manifest.<format>.v0.json` */
export function manifestMediaType(format: string): string {
  return `application/vnd.appr.package-manifest.${format}.v0.json`
}

/** `application/vnd.appr.package.<format>.v0.tar+gzip` */
export function contentMediaType(format: string): string {
  return `application/vnd.appr.package.${format}.v0.tar+gzip`
}
