/**
 * appr-core's additions to the appr API for trust (docs/trust.md): manifest digests on every
 * manifest answer, a release by its manifest digest, and the signatures of a release.
 * @module
 */
import { ApprError } from '../../errors/index.js'
import type { Manifest } from '../../model/types.js'
import { LruMap } from '../../registry/lru.js'
import { manifestDigest } from '../../trust/manifest-digest.js'
import { readBody } from '../middleware/body-limit.js'
import type { RegistryApi } from '../options.js'
import { jsonReply } from '../reply.js'
import type { Endpoint } from '../router.js'

/** Adds `manifest_digest` to manifests ({@link digestAdder}). */
export type WithDigest = <M extends Manifest>(manifest: M) => M & { manifest_digest?: string }

/**
 * A function giving a manifest with its `manifest_digest`. A manifest whose stored metadata is
 * not I-JSON (possible only for data stored before digests existed) has no digest and goes out
 * without the field. Digests are remembered (up to `entries`) by the digested fields' plain
 * `JSON.stringify`, which is a fraction of the canonical JSON and SHA-256 they save on every show:
 * equal texts are equal fields, so equal digests.
 */
export function digestAdder(entries = 4096): WithDigest {
  const known = new LruMap<string, string | null>(entries)
  return (manifest) => {
    const { content } = manifest
    const key = JSON.stringify([manifest.package, manifest.release, manifest.mediaType, content.mediaType, content.size, content.digest, content.urls, manifest.metadata])
    let digest = known.get(key)
    if (digest === undefined) {
      try {
        digest = manifestDigest(manifest)
      } catch {
        digest = null
      }
      known.set(key, digest)
    }
    return digest === null ? manifest : { ...manifest, manifest_digest: digest }
  }
}

/** Signatures in a request body: `{ "signatures": [...] }`, an array, or one signature object. */
function signaturesOf(bytes: Uint8Array): unknown[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new ApprError('invalid-usage', 'the request body is not valid JSON')
  }
  if (Array.isArray(parsed)) return parsed
  if (typeof parsed === 'object' && parsed !== null) {
    const list = (parsed as { signatures?: unknown }).signatures
    if (Array.isArray(list)) return list
    return [parsed]
  }
  throw new ApprError('invalid-usage', 'expected {"signatures": [...]}, an array of signatures or one signature')
}

/** The endpoints of the trust routes (listed in the appr route table). */
export function trustEndpoints(registry: RegistryApi, maxBody: number, withDigest: WithDigest) {
  return {
    showDigest: {
      operation: 'show',
      run: async ({ pkg, params }) => jsonReply(withDigest(await registry.showByDigest(pkg, params.digest!))),
    },
    signatureList: {
      operation: 'signature-list',
      run: async ({ pkg, params }) => jsonReply(await registry.signatures.list(pkg, params.release!, params.format!)),
    },
    signatureAdd: {
      operation: 'signature-add',
      run: async ({ pkg, params, req }) => {
        // Signatures are small: a body over 64 KiB is not a list of at most 16 of them.
        const offered = signaturesOf(await readBody(req, Math.min(maxBody, 64 * 1024)))
        return jsonReply(await registry.signatures.add(pkg, params.release!, params.format!, offered))
      },
    },
    signatureRemove: {
      operation: 'signature-remove',
      run: async ({ pkg, params }) => {
        const removed = await registry.signatures.remove(pkg, params.release!, params.format!, params.keyid!)
        if (!removed) {
          throw new ApprError('resource-not-found', `no signature by ${params.keyid} on ${pkg} ${params.release} (${params.format})`, {
            details: { package: pkg, release: params.release, media_type: params.format, keyid: params.keyid },
          })
        }
        return jsonReply({ status: 'deleted', package: pkg, release: params.release, keyid: params.keyid })
      },
    },
  } satisfies Record<string, Endpoint>
}
