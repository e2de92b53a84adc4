/**
 * `appr-core delete-package NS/NAME@RELEASE [--format F]`: deletes one format of a release, as
 * `appr delete-package` does.
 * @module
 */
import { parseFormat } from '../../model/index.js'
import { CLIENT_OPTIONS, CLIENT_USAGE, UsageError, runCommand, usageChecked } from '../args.js'
import { printJson } from '../output.js'
import { parseRef } from '../refs.js'

export const usage = `Usage: appr-core delete-package NAMESPACE/NAME@RELEASE [options]

Deletes one format of a release from the registry (its channels drop it; the package goes
when its last release does). RELEASE is exact: no queries, channels or digests.

Options:
  --format <f>  helm, kpm, … (default: the release's only format; a release with several
                needs --format)
${CLIENT_USAGE}
`

export async function run(args: string[]): Promise<number> {
  return runCommand('delete-package', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, { ...CLIENT_OPTIONS, format: { type: 'string' } })
    if (positionals.length !== 1) throw new UsageError('delete-package takes one NAMESPACE/NAME@RELEASE')
    const ref = parseRef(positionals[0])
    if (ref.release === undefined || ref.channel !== undefined || ref.digest !== undefined) {
      throw new UsageError('give the release to delete: NAMESPACE/NAME@RELEASE')
    }
    const requested = values.format === undefined ? undefined : usageChecked(() => parseFormat(values.format!))
    const { client } = cli.connect(values)
    const pkg = ref.package.full
    // The release must be exact: resolving a query here would delete a release the user never named.
    const manifests = await client.manifests(pkg, ref.release)
    const exact = manifests.filter((m) => m.release === ref.release)
    if (exact.length === 0) throw new UsageError(`${ref.release} is not an exact release of ${pkg} (queries are not deleted)`)
    let format = requested
    if (format === undefined) {
      const formats = exact.map((m) => parseFormat(m.mediaType))
      if (formats.length > 1) throw new UsageError(`${pkg}@${ref.release} has several formats (${formats.join(', ')}): give --format`)
      format = formats[0]!
    }
    const result = await client.delete(pkg, ref.release, format)
    if (values.json) printJson({ ...result, format })
    else process.stdout.write(`deleted ${pkg}@${ref.release} (${format})\n`)
    return 0
  })
}
