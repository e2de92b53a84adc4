/**
 * What every subcommand shares about its command line: strict option parsing with `-h`/`--help`,
 * the registry options of the client commands (and the client they make), and the exit codes
 * and messages of a command's outcome.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { type ApprClient, apiBase, createClient, type Progress } from '../client/index.js'
import { ApprError, isApprError } from '../errors/index.js'
import { keySet, type PublicKey } from '../trust/keys.js'
import { credentialsPath, storedLogin } from './credentials.js'

/** A mistake on the command line: the command prints its usage and exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Runs a parser of user input (a name, a channel), its error becoming a {@link UsageError}. */
export function usageChecked<T>(parseInput: () => T): T {
  try {
    return parseInput()
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
}

/** `-h`/`--help` was given: the command prints its usage and exits with 0. */
class HelpRequested extends Error {}

const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const satisfies Options

type Options = NonNullable<ParseArgsConfig['options']>

/** Options every client command takes. */
export const CLIENT_OPTIONS = {
  registry: { type: 'string' },
  token: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const satisfies Options

export const CLIENT_USAGE = `Registry options:
  --registry <url>  the appr registry (default http://127.0.0.1:5000; env APPR_REGISTRY)
  --token <t>       sent as "Authorization: <t>" (env APPR_TOKEN; default: the token
                    \`appr-core login\` stored for the registry)
  --timeout <s>     give up when the registry sends or takes nothing for <s> seconds
                    (default 30; env APPR_TIMEOUT; 0 = wait forever)
  --json            machine-readable output on stdout; an error is then one JSON
                    document on stderr: {"error": {"code", "message", "details"}}
  -h, --help        this text`

/** Seconds of silence a client command waits for by default (`--timeout`). */
const DEFAULT_TIMEOUT_S = 30

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

/** The registry options of a command line, resolved with the environment and stored logins. */
export interface Connection {
  readonly client: ApprClient
  /** The registry as the user named it. */
  readonly registry: string
  /** Where the token came from (`--token`, `APPR_TOKEN`, the stored login), or undefined when none is sent. */
  readonly tokenSource: string | undefined
  /** `--timeout` in ms (0: none). */
  readonly timeoutMs: number
}

/**
 * The `appr-core/client` of the common options, the environment and the stored logins (the CLI
 * may read them; the library never does). Precedence: `--token`, `APPR_TOKEN`, the login stored
 * for the registry.
 */
export function connect(values: { registry?: string | undefined; token?: string | undefined; timeout?: string | undefined }): Connection {
  const registry = values.registry ?? process.env.APPR_REGISTRY ?? 'http://127.0.0.1:5000'
  try {
    apiBase(registry)
  } catch {
    throw new UsageError(URL.canParse(registry) ? `--registry must be http(s): ${registry}` : `--registry is not a URL: ${registry}`)
  }
  const timeoutText = values.timeout ?? process.env.APPR_TIMEOUT
  const seconds = timeoutText === undefined ? DEFAULT_TIMEOUT_S : Number(timeoutText)
  if (timeoutText !== undefined && (timeoutText.trim() === '' || !Number.isFinite(seconds) || seconds < 0)) {
    throw new UsageError(`--timeout (APPR_TIMEOUT) must be a number of seconds ≥ 0: ${timeoutText}`)
  }
  const timeoutMs = Math.round(seconds * 1000)
  let token: string | undefined
  let tokenSource: string | undefined
  if (values.token !== undefined) [token, tokenSource] = [values.token, '--token']
  else if (process.env.APPR_TOKEN) [token, tokenSource] = [process.env.APPR_TOKEN, 'APPR_TOKEN']
  else {
    const stored = storedLogin(registry)
    if (stored !== undefined) [token, tokenSource] = [stored.token, `the login stored in ${credentialsPath()}`]
  }
  const client = createClient({ registry, timeoutMs, ...(token ? { token } : {}), headers: { 'User-Agent': 'appr-core-cli' } })
  return { client, registry, tokenSource: token ? tokenSource : undefined, timeoutMs }
}

/** {@link connect}'s client alone. */
export function clientFrom(values: { registry?: string | undefined; token?: string | undefined; timeout?: string | undefined }): ApprClient {
  return connect(values).client
}

/**
 * A bound on silence for a transfer whose total time has no sensible limit (a large push or
 * pull): `signal` aborts when {@link StallGuard.touch} has not been called for `timeoutMs`.
 * Pass the signal to the call and touch the guard from its progress callback.
 */
export interface StallGuard {
  readonly signal: AbortSignal | undefined
  touch(): void
  stop(): void
  /** A call's options: the signal, and an `onProgress` that touches the guard before calling `then`. */
  callOptions(then?: (progress: Progress) => void): { signal?: AbortSignal; onProgress(progress: Progress): void }
}

/** A {@link StallGuard} for the transfer `what` (named in its error); none when `timeoutMs` is 0. */
export function stallGuard(timeoutMs: number, what: string): StallGuard {
  if (timeoutMs <= 0) return { signal: undefined, touch() {}, stop() {}, callOptions: (then) => ({ onProgress: (p) => then?.(p) }) }
  const controller = new AbortController()
  const expire = () => {
    const seconds = timeoutMs / 1000
    controller.abort(
      new ApprError('unavailable', `${what}: nothing sent or received for ${seconds} s (--timeout ${seconds})`, { details: { timeoutMs }, transient: true }),
    )
  }
  let timer = setTimeout(expire, timeoutMs)
  const touch = () => {
    clearTimeout(timer)
    timer = setTimeout(expire, timeoutMs)
  }
  return {
    signal: controller.signal,
    touch,
    stop: () => clearTimeout(timer),
    callOptions: (then) => ({
      signal: controller.signal,
      onProgress(progress) {
        touch()
        then?.(progress)
      },
    }),
  }
}

/**
 * One run of a command: its command line, parsed, and the registry it talked to, remembered so
 * that errors can say what the user can do about them (and come as JSON with `--json`).
 */
export interface Invocation {
  /** {@link parse}, remembering `--json`. */
  parse: typeof parse
  /** {@link connect}, remembering the registry and where the token came from. */
  connect: typeof connect
}

interface RunState {
  json: boolean
  connection: Connection | undefined
}

/**
 * Runs a command body: prints `usage` for `--help` (exit 0) and usage errors (exit 2), an appr error as
 * `code: message` (exit 1), and returns the body's exit code otherwise. With `--json` (seen by
 * `invocation.parse`), errors are `{"error": {code, message, details}}` on stderr instead.
 */
export async function runCommand(name: string, usage: string, body: (invocation: Invocation) => Promise<number>): Promise<number> {
  const state: RunState = { json: false, connection: undefined }
  const invocation: Invocation = {
    parse(args, options) {
      // Seen before parsing, so a usage error of a --json command line is JSON too.
      state.json = args.includes('--json')
      const parsed = parse(args, options)
      state.json = (parsed.values as { json?: unknown }).json === true
      return parsed
    },
    connect(values) {
      state.connection = connect(values)
      return state.connection
    },
  }
  const withUsage = usage.endsWith('\n') ? usage : `${usage}\n`
  try {
    return await body(invocation)
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(withUsage)
      return 0
    }
    if (e instanceof UsageError) {
      if (state.json) writeJsonError('invalid-usage', e.message, {})
      else process.stderr.write(`appr-core ${name}: ${e.message}\n\n${withUsage}`)
      return 2
    }
    const error = isApprError(e) ? explainAuth(e, state.connection) : undefined
    if (error !== undefined) {
      if (state.json) writeJsonError(error.code, error.message, error.details)
      else {
        const details = Object.keys(error.details).length > 0 ? ` ${JSON.stringify(error.details)}` : ''
        process.stderr.write(`appr-core ${name}: ${error.code}: ${error.message}${details}\n`)
      }
      return 1
    }
    const cause = (e as { cause?: { code?: string; message?: string } }).cause
    const reason = cause?.code ?? cause?.message
    const message = `${(e as Error).message ?? String(e)}${reason ? ` (${reason})` : ''}`
    if (state.json) writeJsonError('internal-error', message, {})
    else process.stderr.write(`appr-core ${name}: ${message}\n`)
    return 1
  }
}

function writeJsonError(code: string, message: string, details: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ error: { code, message, details } })}\n`)
}

/**
 * A refusal by the registry, reworded by what the user sent: no token ("give one"), a token
 * the registry does not accept ("check it"), or one that lacks the permission. Errors the
 * registry did not answer (a local signature check's `forbidden`) are left alone.
 */
function explainAuth(error: ApprError, connection: Connection | undefined): ApprError {
  const status = error.details.status
  if (connection === undefined || (status !== 401 && status !== 403)) return error
  const { registry, tokenSource } = connection
  const login = `appr-core login ${registry}`
  if (tokenSource === undefined) {
    return new ApprError(error.code, `${registry} needs a token for this (${error.message}): give --token, set APPR_TOKEN, or run \`${login}\``, {
      details: { ...error.details, token: 'missing' },
      cause: error,
    })
  }
  if (status === 401) {
    return new ApprError(error.code, `${registry} refused the token from ${tokenSource} (${error.message}): check it, or run \`${login}\` again`, {
      details: { ...error.details, token: 'refused', tokenSource },
      cause: error,
    })
  }
  return new ApprError(error.code, `the token from ${tokenSource} is not allowed to do this on ${registry} (${error.message})`, {
    details: { ...error.details, token: 'insufficient', tokenSource },
    cause: error,
  })
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
