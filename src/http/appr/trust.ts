/**
 * appr-core's additions to the appr API for trust (docs/trust.md): manifest digests on every
 * manifest answer, a release by its manifest digest, and the signatures of a release.
 * @module
 */
import { ApprError } from '../../errors/index.js'
import type { Manifest } from '../../model/types.js'
import { manifestDigest } from '../../trust/manifest-digest.js'
import { readBody } from '../middleware/body-limit.js'
import type { RegistryApi } from '../options.js'
import { jsonReply } from '../reply.js'
import type { Endpoint } from '../router.js'

/**
 * A manifest with its `manifest_digest`. A manifest whose stored metadata is not I-JSON (possible
 * only for data stored before digests existed) has no digest and goes out without the field.
 */
export function withDigest<M extends Manifest>(manifest: M): M & { manifest_digest?: string } {
  try {
    return { ...manifest, manifest_digest: manifestDigest(manifest) }
  } catch {
    return manifest
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
export function trustEndpoints(registry: RegistryApi, maxBody: number) {
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
