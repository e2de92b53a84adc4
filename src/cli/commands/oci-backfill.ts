/**
 * `appr-core oci-backfill`: writes the OCI view of releases stored before it existed, in a store.
 * @module
 */
import type { OciBackfillResult } from '../../registry/types.js'
import { ADMIN_OPTIONS, openTarget } from '../admin.js'
import { runCommand, UsageError } from '../args.js'
import { printJson } from '../output.js'

export const usage = `Usage: appr-core oci-backfill --store <spec> [--after <package>]

Writes the OCI view (/v2/) of releases stored by a version of appr-core that did not write it,
exactly as a push would have: one commit per release, safe while the registry is in use. Formats
already shown are left alone, so running it again writes nothing. Every 1,000 packages a line on
stderr names the last one: a run cut short resumes from there with --after, or from the start.

Options:
  --store <spec>     the store itself, as serve takes it (level:<dir>, redis://…, etcd://…);
                     a level directory must not be open in a running server
  --blobs <spec>     blob bytes kept elsewhere, as serve's --blobs (charts are read for their Chart.yaml)
  --after <package>  start after this package (<namespace>/<name>)
  --json             machine-readable output on stdout
  -h, --help         this text
`

export async function run(args: string[]): Promise<number> {
  return runCommand('oci-backfill', usage, async ({ parse }) => {
    const { values, positionals } = parse(args, { ...ADMIN_OPTIONS, after: { type: 'string' } })
    if (positionals.length > 0) throw new UsageError('oci-backfill takes no arguments')
    if (values.store === undefined) throw new UsageError('oci-backfill runs against a store: give --store <spec>')
    const target = await openTarget(values)
    if (target.kind !== 'store') throw new UsageError('oci-backfill runs against a store: give --store <spec>')
    try {
      const result: OciBackfillResult = await target.registry.ociBackfill({
        ...(values.after === undefined ? {} : { after: values.after }),
        onProgress: (p) => {
          if (p.packages % 1000 === 0) process.stderr.write(`oci-backfill: ${p.packages} packages, ${p.releases} releases written, last ${p.last}\n`)
        },
      })
      if (values.json) printJson(result)
      else {
        process.stdout.write(
          `oci-backfill: ${result.releases} releases (${result.formats} formats) written in ${target.label}; ${result.shown} shown already; ${result.packages} packages read, ${result.notOci} without an OCI name\n`,
        )
      }
      return 0
    } finally {
      await target.close()
    }
  })
}
