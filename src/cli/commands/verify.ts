/**
 * `appr-core verify NS/NAME[@RELEASE|:CHANNEL] --key KEY.pub`: checks signature → manifest
 * digest → blob digest for a release in a registry.
 * @module
 */
import { analyzeBlob } from '../../archive/validate.js'
import { parseFormat } from '../../model/index.js'
import { verifyManifest } from '../../trust/verify.js'
import { CLIENT_OPTIONS, CLIENT_USAGE, readKeys, runCommand, stallGuard, UsageError } from '../args.js'
import { DOWNLOAD_LIMITS, nodeReadable, printJson } from '../output.js'
import { parseRef, selectorOf } from '../refs.js'

export const usage = `Usage: appr-core verify NAMESPACE/NAME[@RELEASE|:CHANNEL] --key KEY.pub [options]

Verifies a release end to end, trusting only the given public keys: a signature by one of them
signs the manifest digest recomputed from what the registry shows (which must also equal the
digest the registry announces), and the package downloaded has the manifest's blob digest.
Exits 1 on any mismatch. See docs/trust.md.

Options:
  --key <file>   a trusted public key (PEM or JWK); repeatable
  --format <f>   helm, kpm, … (default -: the release's only format)
${CLIENT_USAGE}
`

export async function run(args: string[]): Promise<number> {
  return runCommand('verify', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      ...CLIENT_OPTIONS,
      key: { type: 'string', multiple: true },
      format: { type: 'string', default: '-' },
    })
    if (positionals.length !== 1) throw new UsageError('verify takes one package reference')
    if (values.key === undefined || values.key.length === 0) throw new UsageError('--key is required')
    const ref = parseRef(positionals[0])
    if (ref.digest !== undefined) throw new UsageError('verify takes a release or a channel, not a blob digest')
    const keys = await readKeys(values.key)
    const { client, registry, timeoutMs } = cli.connect(values)
    const manifest = await client.show(ref.package.full, selectorOf(ref, values.format === '-' ? '-' : parseFormat(values.format)))
    const format = parseFormat(manifest.mediaType)
    const verdict = verifyManifest(manifest, keys)
    let blob: { ok: boolean; digest?: string } = { ok: false }
    if (verdict.ok) {
      const guard = stallGuard(timeoutMs, `pull from ${registry}`)
      let actual: Awaited<ReturnType<typeof analyzeBlob>['facts']>
      try {
        const { body } = await client.pullRelease(ref.package.full, manifest.release, format, guard.callOptions())
        const { chunks, facts } = analyzeBlob(nodeReadable(body), DOWNLOAD_LIMITS)
        for await (const _ of chunks) {
          // only the digest matters
        }
        actual = await facts
      } finally {
        guard.stop()
      }
      blob = { ok: actual.digest === manifest.content.digest && actual.size === manifest.content.size, digest: actual.digest }
    }
    const ok = verdict.ok && blob.ok
    const result = {
      ok,
      package: ref.package.full,
      release: manifest.release,
      format,
      manifest_digest: verdict.digest,
      ...(verdict.ok ? { keyids: verdict.signatures.map((s) => s.keyid) } : { reason: verdict.reason, message: verdict.message }),
      ...(verdict.ok && { blob_digest: blob.digest, blob_ok: blob.ok }),
    }
    if (values.json) printJson(result)
    else if (ok) process.stdout.write(`verified ${result.package}@${result.release} (${format}) ${verdict.digest} signed by ${verdict.ok ? verdict.signatures.map((s) => s.keyid).join(', ') : ''}\n`)
    else {
      const why = verdict.ok ? `the package's digest ${blob.digest} is not the manifest's ${manifest.content.digest}` : `${verdict.reason}: ${verdict.message}`
      process.stdout.write(`NOT verified ${result.package}@${result.release} (${format}): ${why}\n`)
    }
    return ok ? 0 : 1
  })
}
