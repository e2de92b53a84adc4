/**
 * `appr-core stats`: what a registry holds, from a store or a running server.
 * @module
 */
import type { RegistryStats } from '../../registry/types.js'
import { ADMIN_OPTIONS, ADMIN_USAGE, openTarget } from '../admin.js'
import { runCommand, UsageError } from '../args.js'
import { formatBytes, printJson } from '../output.js'

export const usage = `Usage: appr-core stats (--store <spec> | --registry <url>)

Counts packages, releases, manifests (release × format), channels, distinct blobs and their
bytes, and OCI repositories and blobs, in one scan of the records.

${ADMIN_USAGE}
`

export async function run(args: string[]): Promise<number> {
  return runCommand('stats', usage, async ({ parse }) => {
    const { values, positionals } = parse(args, ADMIN_OPTIONS)
    if (positionals.length > 0) throw new UsageError('stats takes no arguments')
    const target = await openTarget(values)
    try {
      const s: RegistryStats = target.kind === 'store' ? await target.registry.stats() : await target.client.admin.stats()
      if (values.json) {
        printJson(s)
        return 0
      }
      const rows: [string, string][] = [
        ['packages', String(s.packages)],
        ['releases', String(s.releases)],
        ['manifests', String(s.manifests)],
        ['channels', String(s.channels)],
        ['blobs', `${s.blobs} (${formatBytes(s.blobBytes)})`],
        ['OCI repositories', String(s.ociRepositories)],
        ['OCI blobs', `${s.ociBlobs} (${formatBytes(s.ociBlobBytes)})`],
      ]
      process.stdout.write(`${target.label}\n${rows.map(([k, v]) => `  ${k.padEnd(17)} ${v}`).join('\n')}\n`)
      return 0
    } finally {
      await target.close()
    }
  })
}
