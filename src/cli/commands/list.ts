/**
 * `appr-core list`: the packages of a registry.
 * @module
 */
import { CLIENT_OPTIONS, CLIENT_USAGE, UsageError, runCommand } from '../args.js'
import { printJson } from '../output.js'

export const usage = `Usage: appr-core list [options]

Lists the packages of a registry: name, default (highest) release, formats, releases.

Options:
  --namespace <ns>  only this namespace
  --query <text>    only names containing this text
  --format <f>      only packages whose default release has this format
${CLIENT_USAGE}
`

export async function run(args: string[]): Promise<number> {
  return runCommand('list', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      ...CLIENT_OPTIONS,
      namespace: { type: 'string' },
      query: { type: 'string' },
      format: { type: 'string' },
    })
    if (positionals.length > 0) throw new UsageError('list takes no arguments')
    const { client } = cli.connect(values)
    const packages = await client.list({
      ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
      ...(values.query === undefined ? {} : { query: values.query }),
      ...(values.format === undefined ? {} : { format: values.format }),
    })
    if (values.json) {
      printJson(packages)
      return 0
    }
    if (packages.length === 0) {
      process.stdout.write('no packages\n')
      return 0
    }
    const width = Math.max(4, ...packages.map((p) => p.name.length))
    const rows = [`${'NAME'.padEnd(width)}  ${'DEFAULT'.padEnd(12)}  ${'FORMATS'.padEnd(12)}  RELEASES`]
    for (const p of packages) {
      rows.push(`${p.name.padEnd(width)}  ${p.default.padEnd(12)}  ${p.manifests.join(',').padEnd(12)}  ${p.releases.join(', ')}`)
    }
    process.stdout.write(`${rows.join('\n')}\n`)
    return 0
  })
}
