/**
 * `appr-core gc`: deletes blob bytes no record points at, in a store or a running server.
 * @module
 */
import type { GcResult } from '../../registry/types.js'
import { ADMIN_OPTIONS, ADMIN_USAGE, openTarget } from '../admin.js'
import { runCommand, UsageError } from '../args.js'
import { printJson } from '../output.js'

export const usage = `Usage: appr-core gc (--store <spec> | --registry <url>)

Deletes blob bytes no record points at: uploads abandoned longer than the upload timeout and
bytes a crash separated from their records. Safe while the registry is in use.

${ADMIN_USAGE}
`

export async function run(args: string[]): Promise<number> {
  return runCommand('gc', usage, async ({ parse }) => {
    const { values, positionals } = parse(args, ADMIN_OPTIONS)
    if (positionals.length > 0) throw new UsageError('gc takes no arguments')
    const target = await openTarget(values)
    try {
      const result: GcResult = target.kind === 'store' ? await target.registry.gc() : await target.client.admin.gc()
      if (values.json) printJson(result)
      else process.stdout.write(`gc: deleted ${result.deletedBlobs} blob objects in ${target.label}\n`)
      return 0
    } finally {
      await target.close()
    }
  })
}
