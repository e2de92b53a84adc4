#!/usr/bin/env node
/**
 * The `appr-core` command. Each subcommand is a module loaded on demand (`serve` here,
 * the others in `./commands/<name>.js`), exporting `usage` and `run(args) → exit code`.
 * @module
 */
import { VERSION } from '../http/version.js'

interface Command {
  readonly usage: string
  run(args: string[]): Promise<number>
}

/** Subcommands with a one-line summary, in the order `--help` lists them. */
const COMMANDS: Record<string, string> = {
  serve: 'run an appr registry server (HTTP API v1)',
  pack: 'pack a directory into a package tarball',
  inspect: 'show the files, digest and size of a package tarball',
  push: 'push a package to a registry',
  pull: 'pull a package from a registry',
  'delete-package': 'delete one format of a release from a registry',
  show: 'show a release manifest',
  list: 'list the packages of a registry',
  channel: 'list, show, add to or remove from channels',
  oci: 'push or pull a package to or from an OCI registry (Helm chart or appr artifact)',
  mirror: 'copy packages from an appr server, verifying every byte',
  sign: 'sign a release (its manifest digest) and store the signature',
  verify: 'verify a release: signature, manifest digest, package digest',
  backup: 'back up a registry (store or server) as NDJSON or appr JSON',
  restore: 'restore a backup into a store or a server (NDJSON resumes)',
  gc: 'delete blob bytes no record points at',
  stats: 'count packages, releases, channels and blobs',
  'oci-backfill': 'write the OCI view (/v2/) of releases stored before it existed',
  login: 'log in to a registry and store its token for the other commands',
  logout: "forget a registry's stored token",
  webhooks: "list or drop the webhook deliveries serve gave up on (dead letters)",
}

const help = `Usage: appr-core <command> [options]

The App Registry (appr) protocol: a registry server and package tools.

Commands:
${Object.entries(COMMANDS)
  .map(([name, summary]) => `  ${name.padEnd(15)} ${summary}`)
  .join('\n')}

Options:
  -h, --help     this text ("appr-core <command> --help" for a command's options)
  -v, --version  print the version

Example:
  appr-core serve --port 5000 --store level:./appr-data
`

async function load(name: string): Promise<Command | undefined> {
  const specifier = name === 'serve' ? './serve.js' : `./commands/${name}.js`
  let mod: Partial<Command>
  try {
    mod = (await import(specifier)) as Partial<Command>
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(name)) return undefined
    throw error
  }
  return typeof mod.run === 'function' ? (mod as Command) : undefined
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined) {
    // No command is a usage error: the usage goes where errors go, and the exit code says so.
    process.stderr.write(help)
    return 2
  }
  if (first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined
    if (topic !== undefined && Object.hasOwn(COMMANDS, topic)) return main([topic, '--help'])
    process.stdout.write(help)
    return 0
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  if (!Object.hasOwn(COMMANDS, first)) {
    process.stderr.write(`appr-core: unknown command '${first}'\n\n${help}`)
    return 2
  }
  const command = await load(first)
  if (command === undefined) {
    process.stderr.write(`appr-core: the '${first}' command is not available in this build\n`)
    return 1
  }
  if ((rest.includes('--help') || rest.includes('-h')) && typeof command.usage === 'string') {
    process.stdout.write(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`)
    return 0
  }
  return command.run(rest)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
    // A client library that forgot to unref a handle must not keep a stopped server alive.
    setTimeout(() => process.exit(code), 2000).unref()
  },
  (error: unknown) => {
    process.stderr.write(`appr-core: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  },
)
