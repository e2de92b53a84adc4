/**
 * `appr-core logout [REGISTRY]`: forgets the token `appr-core login` stored for a registry.
 * @module
 */
import { UsageError, runCommand } from '../args.js'
import { credentialsPath, forgetLogin } from '../credentials.js'
import { printJson } from '../output.js'

export const usage = `Usage: appr-core logout [REGISTRY] [options]

Removes the token stored for REGISTRY (default --registry, APPR_REGISTRY or
http://127.0.0.1:5000) from $XDG_CONFIG_HOME/appr-core/credentials.json. Exit 0 also when
there was none.

Options:
  --registry <url>  the registry, instead of REGISTRY
  --json            print {registry, removed} as JSON
  -h, --help        this text
`

export async function run(args: string[]): Promise<number> {
  return runCommand('logout', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, { registry: { type: 'string' }, json: { type: 'boolean', default: false } })
    if (positionals.length > 1) throw new UsageError('logout takes at most one registry')
    if (positionals[0] !== undefined && values.registry !== undefined) throw new UsageError('give the registry once: as REGISTRY or with --registry')
    // connect() checks the URL; no token is needed to forget one.
    const { registry } = cli.connect({ registry: positionals[0] ?? values.registry, token: '' })
    const removed = forgetLogin(registry, credentialsPath())
    if (values.json) printJson({ registry, removed })
    else process.stdout.write(removed ? `logged out of ${registry}\n` : `no stored login for ${registry}\n`)
    return 0
  })
}
