/**
 * What every subcommand shares about its command line: strict option parsing with `-h`/`--help`,
 * the registry options of the client commands (and the client they make), and the exit codes
 * and messages of a command's outcome.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { type ApprClient, apiBase, createClient } from '../client/index.js'
import { isApprError } from '../errors/index.js'
import { keySet, type PublicKey } from '../trust/keys.js'

/** A mistake on the command line: the command prints its usage and exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** `-h`/`--help` was given: the command prints its usage and exits with 0. */
class HelpRequested extends Error {}

const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const satisfies Options

type Options = NonNullable<ParseArgsConfig['options']>

/** Options every client command takes. */
export const CLIENT_OPTIONS = {
  registry: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const satisfies Options

export const CLIENT_USAGE = `Registry options:
  --registry <url>  the appr registry (default http://127.0.0.1:5000; env APPR_REGISTRY)
  --token <t>       sent as "Authorization: <t>" (env APPR_TOKEN)
  --json            machine-readable output on stdout
  -h, --help        this text`

/** `parseArgs` in strict mode (plus `-h`/`--help`), with its errors turned into {@link UsageError}. */
export function parse<O extends Options>(
  args: string[],
  options: O,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: O & typeof HELP; allowPositionals: true; strict: true }>>
  try {
    parsed = parseArgs({ args, options: { ...options, ...HELP }, allowPositionals: true, strict: true })
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  if ((parsed.values as { help?: boolean }).help) throw new HelpRequested()
  return parsed as never
}

/**
 * Runs a command body: prints `usage` for `--help` (exit 0) and usage errors (exit 2), an appr error as
 * `code: message` (exit 1), and returns the body's exit code otherwise.
 */
export async function runCommand(name: string, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body()
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`)
      return 0
    }
    if (e instanceof UsageError) {
      process.stderr.write(`appr-core ${name}: ${e.message}\n\n${usage.endsWith('\n') ? usage : `${usage}\n`}`)
      return 2
    }
    if (isApprError(e)) {
      const details = Object.keys(e.details).length > 0 ? ` ${JSON.stringify(e.details)}` : ''
      process.stderr.write(`appr-core ${name}: ${e.code}: ${e.message}${details}\n`)
      return 1
    }
    const cause = (e as { cause?: { code?: string; message?: string } }).cause
    const reason = cause?.code ?? cause?.message
    process.stderr.write(`appr-core ${name}: ${(e as Error).message ?? String(e)}${reason ? ` (${reason})` : ''}\n`)
    return 1
  }
}

/**
 * The `appr-core/client` of the common options and the environment (the CLI may read it; the
 * library never does).
 */
export function clientFrom(values: { registry?: string | undefined; token?: string | undefined }): ApprClient {
  const registry = values.registry ?? process.env.APPR_REGISTRY ?? 'http://127.0.0.1:5000'
  try {
    apiBase(registry)
  } catch {
    throw new UsageError(URL.canParse(registry) ? `--registry must be http(s): ${registry}` : `--registry is not a URL: ${registry}`)
  }
  const token = values.token ?? process.env.APPR_TOKEN
  return createClient({ registry, ...(token ? { token } : {}), headers: { 'User-Agent': 'appr-core-cli' } })
}

/** The public keys in the given files (PEM or JWK), by key id; an unreadable file is a {@link UsageError}. */
export async function readKeys(paths: readonly string[]): Promise<ReadonlyMap<string, PublicKey>> {
  const texts = await Promise.all(
    paths.map((p) =>
      readFile(p, 'utf8').catch((e: Error) => {
        throw new UsageError(`cannot read key ${p}: ${e.message}`)
      }),
    ),
  )
  return keySet(texts)
}
