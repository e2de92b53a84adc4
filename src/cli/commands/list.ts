/**
 * `appr-core list`: the packages of a registry.
 * @module
 */
import { CLIENT_OPTIONS, CLIENT_USAGE, clientFrom, getJson, parse, printJson, runCommand, UsageError } from './shared.js'

export const usage = `Usage: appr-core list [options]

Lists the packages of a registry: name, default (highest) release, formats, releases.

Options:
  --namespace <ns>  only this namespace
  --query <text>    only names containing this text
  --format <f>      only packages whose default release has this format
${CLIENT_USAGE}
`

interface Summary {
  readonly name: string
  readonly default: string
  readonly releases: readonly string[]
  readonly manifests: readonly string[]
}

export async function run(args: string[]): Promise<number> {
  return runCommand('list', usage, async () => {
    const { values, positionals } = parse(args, {
      ...CLIENT_OPTIONS,
      namespace: { type: 'string' },
      query: { type: 'string' },
      format: { type: 'string' },
    })
    if (positionals.length > 0) throw new UsageError('list takes no arguments')
    const client = clientFrom(values)
    const params = new URLSearchParams()
    if (values.namespace !== undefined) params.set('namespace', values.namespace)
    if (values.query !== undefined) params.set('query', values.query)
    if (values.format !== undefined) params.set('media_type', values.format)
    const query = params.size > 0 ? `?${params}` : ''
    const packages = await getJson<Summary[]>(client, `${client.api}/packages${query}`)
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
