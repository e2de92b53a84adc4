/**
 * `appr-core pull NS/NAME[@RELEASE|:CHANNEL|@sha256:DIGEST]`: downloads a package, checked.
 * @module
 */
import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { analyzeBlob } from '../../archive/validate.js'
import type { Download } from '../../client/index.js'
import { ApprError } from '../../errors/index.js'
import { parseFormat } from '../../model/index.js'
import { verifyManifest } from '../../trust/verify.js'
import { CLIENT_OPTIONS, CLIENT_USAGE, UsageError, readKeys, runCommand, stallGuard } from '../args.js'
import { DOWNLOAD_LIMITS, formatBytes, nodeReadable, printJson, progress } from '../output.js'
import { parseRef, selectorOf } from '../refs.js'

export const usage = `Usage: appr-core pull NAMESPACE/NAME[@RELEASE|:CHANNEL|@sha256:DIGEST] [options]

Downloads a package tarball. RELEASE may be a query (">=1.0,<2", "1", "default"); :CHANNEL
takes the channel's current release. The bytes are checked while they arrive: a valid
gzipped tar whose appr digest is the one the registry announced, else nothing is kept.

Options:
  --format <f>         helm, kpm, … (default -: the release's only format)
  --verify-key <file>  trust only releases signed by this public key (PEM or JWK; repeatable):
                       the signature must sign the manifest digest recomputed from what the
                       registry shows, checked before anything is downloaded (docs/trust.md)
  -o, --output <file>  where to write (default <ns>_<name>_<release>.tar.gz, as the registry
                       names it; - for standard output)
${CLIENT_USAGE}
`

export async function run(args: string[]): Promise<number> {
  return runCommand('pull', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      ...CLIENT_OPTIONS,
      format: { type: 'string', default: '-' },
      output: { type: 'string', short: 'o' },
      'verify-key': { type: 'string', multiple: true },
    })
    if (positionals.length !== 1) throw new UsageError('pull takes one package reference')
    if (values.output === '-' && values.json) throw new UsageError('--json cannot share standard output with -o -')
    const ref = parseRef(positionals[0])
    const { client, registry, timeoutMs } = cli.connect(values)
    const format = values.format === '-' ? '-' : parseFormat(values.format)
    const verifyKeys = values['verify-key'] === undefined ? undefined : await readKeys(values['verify-key'])
    if (verifyKeys !== undefined && ref.digest !== undefined) throw new UsageError('--verify-key needs a release or a channel (a blob digest has no manifest to verify)')

    let download: Download
    let expected: string
    let release: string
    // The bar's total is known only once the answer's headers are in.
    let bar: ReturnType<typeof progress> | undefined
    // A large download may take long: what is bounded is silence (no byte for --timeout seconds).
    const guard = stallGuard(timeoutMs, `pull from ${registry}`)
    const transfer = guard.callOptions(({ loaded }) => bar?.update(loaded))
    try {
      if (ref.digest !== undefined) {
        download = await client.blob(ref.package.full, ref.digest, transfer)
        expected = ref.digest
        release = ref.digest.slice(0, 8)
      } else {
        const manifest = await client.show(ref.package.full, selectorOf(ref, format))
        if (verifyKeys !== undefined) {
          const verdict = verifyManifest(manifest, verifyKeys)
          if (!verdict.ok) {
            throw new ApprError('forbidden', `refusing ${ref.package.full}@${manifest.release}: ${verdict.message}`, {
              details: { reason: verdict.reason, manifest_digest: verdict.digest },
            })
          }
        }
        // Verified (when asked) before a byte of the package is downloaded.
        guard.touch()
        download = await client.pullRelease(ref.package.full, manifest.release, parseFormat(manifest.mediaType), transfer)
        release = manifest.release
        expected = manifest.content.digest
      }
      const name = download.filename ?? `${ref.package.namespace}_${ref.package.name}_${release}.tar.gz`
      bar = progress(`pull ${ref.package.full}@${release}`, download.size)

      const { chunks, facts } = analyzeBlob(nodeReadable(download.body), DOWNLOAD_LIMITS)
      const toStdout = values.output === '-'
      const file = toStdout ? undefined : resolve(values.output ?? name)
      const temp = file === undefined ? undefined : join(dirname(file), `.appr-pull-${process.pid}-${Date.now()}.tmp`)
      try {
        await pipeline(Readable.from(chunks), temp === undefined ? process.stdout : createWriteStream(temp), { end: !toStdout })
        bar.done()
        const blob = await facts
        if (blob.digest !== expected) {
          throw new ApprError('internal-error', 'the downloaded package does not have the digest the registry announced', {
            details: { expected, actual: blob.digest },
          })
        }
        if (temp !== undefined && file !== undefined) await rename(temp, file)
        const result = { file: file ?? '-', package: ref.package.full, release, digest: blob.digest, size: blob.size }
        if (values.json) printJson(result)
        else if (!toStdout) process.stdout.write(`${file} (${result.package}@${release}, ${formatBytes(blob.size)}, digest ${blob.digest})\n`)
        return 0
      } finally {
        if (temp !== undefined) await rm(temp, { force: true })
      }
    } finally {
      guard.stop()
    }
  })
}
