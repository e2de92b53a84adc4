/**
 * `appr-core sign NS/NAME[@RELEASE|:CHANNEL] --key KEY`: signs a release's manifest digest and
 * stores the signature with the release.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { ApprError } from '../../errors/index.js'
import { parseFormat } from '../../model/index.js'
import { manifestDigest } from '../../trust/manifest-digest.js'
import { signDigest } from '../../trust/signature.js'
import { CLIENT_OPTIONS, CLIENT_USAGE, runCommand, UsageError } from '../args.js'
import { printJson } from '../output.js'
import { parseRef, selectorOf } from '../refs.js'

export const usage = `Usage: appr-core sign NAMESPACE/NAME[@RELEASE|:CHANNEL] --key KEY [options]

Signs a release: recomputes its manifest digest from what the registry shows (and refuses when
the registry announces another), signs it with KEY (an Ed25519 or ECDSA P-256 private key, PEM
or JWK), and stores the signature with the release. See docs/trust.md.

Options:
  --key <file>   the private key
  --format <f>   helm, kpm, … (default -: the release's only format)
  --print        print the signature record and store nothing
${CLIENT_USAGE}
`

export async function run(args: string[]): Promise<number> {
  return runCommand('sign', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      ...CLIENT_OPTIONS,
      key: { type: 'string' },
      format: { type: 'string', default: '-' },
      print: { type: 'boolean', default: false },
    })
    if (positionals.length !== 1) throw new UsageError('sign takes one package reference')
    if (values.key === undefined) throw new UsageError('--key is required')
    const ref = parseRef(positionals[0])
    if (ref.digest !== undefined) throw new UsageError('sign takes a release or a channel, not a blob digest')
    const key = await readFile(values.key, 'utf8').catch((e: Error) => {
      throw new UsageError(`cannot read key ${values.key}: ${e.message}`)
    })
    const { client } = cli.connect(values)
    const manifest = await client.show(ref.package.full, selectorOf(ref, values.format === '-' ? '-' : parseFormat(values.format)))
    const digest = manifestDigest(manifest)
    if (manifest.manifest_digest !== undefined && manifest.manifest_digest !== digest) {
      throw new ApprError('invalid-parameters', 'the registry announces another manifest digest than the manifest it shows: not signing', {
        details: { announced: manifest.manifest_digest, computed: digest },
      })
    }
    const signature = signDigest(digest, key)
    const format = parseFormat(manifest.mediaType)
    if (!values.print) {
      await client.signatures.add(ref.package.full, manifest.release, format, [signature])
    }
    if (values.json || values.print) printJson(signature)
    else process.stdout.write(`signed ${ref.package.full}@${manifest.release} (${format}) ${digest} with ${signature.keyid}\n`)
    return 0
  })
}
