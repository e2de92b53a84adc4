/**
 * What the client subcommands (`push`, `pull`, `show`, `list`, `channel`) and the archive
 * subcommands (`pack`, `inspect`) share: argument parsing, a small client of the appr HTTP API,
 * error reporting and progress on stderr. Not a subcommand itself.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import type { PackageManifestInfo } from '../../archive/inspect.js'
import { type Client, call, clientFor, getJson, packagePath } from '../../client/index.js'
import { ApprError, isApprError } from '../../errors/index.js'
import { type PackageName, parsePackageName } from '../../model/index.js'
import { keySet, type PublicKey } from '../../trust/keys.js'

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

/** Writes `value` as JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** A package reference: `ns/name`, `ns/name@release-or-query`, `ns/name:channel`, `ns/name@sha256:<digest>`. */
export interface PackageRef {
  readonly package: PackageName
  readonly release?: string
  readonly channel?: string
  readonly digest?: string
}

/** Parses a {@link PackageRef}. */
export function parseRef(input: string | undefined): PackageRef {
  if (input === undefined) throw new UsageError('a package (namespace/name) is required')
  const digest = /^(.*)@sha256:([0-9a-f]{64})$/.exec(input)
  if (digest) return { package: parseName(digest[1]!), digest: digest[2]! }
  const at = input.indexOf('@')
  if (at >= 0) return { package: parseName(input.slice(0, at)), release: input.slice(at + 1) }
  const colon = input.indexOf(':')
  if (colon >= 0) return { package: parseName(input.slice(0, colon)), channel: input.slice(colon + 1) }
  return { package: parseName(input) }
}

function parseName(input: string): PackageName {
  try {
    return parsePackageName(input)
  } catch (e) {
    throw new UsageError(isApprError(e) ? e.message : `bad package name: ${input}`)
  }
}

export { type Client, call, getJson, packagePath }

/** A {@link Client} from the common options and the environment (the CLI may read it; the library never does). */
export function clientFrom(values: { registry?: string | undefined; token?: string | undefined }): Client {
  const raw = values.registry ?? process.env.APPR_REGISTRY ?? 'http://127.0.0.1:5000'
  try {
    return clientFor(raw, { token: values.token ?? process.env.APPR_TOKEN, userAgent: 'appr-core-cli' })
  } catch {
    throw new UsageError(URL.canParse(raw) ? `--registry must be http(s): ${raw}` : `--registry is not a URL: ${raw}`)
  }
}

/** Archive limits for what a client downloads: any size (the registry already accepted it); the path rules still apply. */
export const DOWNLOAD_LIMITS = {
  maxCompressedBytes: Number.POSITIVE_INFINITY,
  maxUncompressedBytes: Number.POSITIVE_INFINITY,
  maxEntryBytes: Number.POSITIVE_INFINITY,
} as const

/** GET a package's bytes: the response (for its headers) and its body as a Node stream. */
export async function download(client: Client, url: string): Promise<{ response: Response; body: Readable }> {
  const response = await call(client, url)
  if (response.body === null) throw new ApprError('internal-error', 'empty response from the registry')
  return { response, body: Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>) }
}

/** Human-readable size. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

/** Transfers at least this large show progress on stderr. */
const PROGRESS_FROM_BYTES = 1024 * 1024

/**
 * Progress of a transfer on stderr: a line rewritten in place on a terminal, a line per 25%
 * otherwise; nothing for transfers under 1 MiB (when the total is known).
 */
export function progress(label: string, total: number | undefined): { add(n: number): void; done(): void } {
  const tty = process.stderr.isTTY === true
  let sent = 0
  let lastShown = -1
  const show = (final: boolean) => {
    const pct = total ? Math.floor((sent / total) * 100) : undefined
    // Only redraw when the visible step changes: each percent on a terminal, each quarter (or 10 MiB) in a log.
    const step = pct !== undefined ? (tty ? pct : Math.floor(pct / 25)) : Math.floor(sent / (tty ? PROGRESS_FROM_BYTES : 10 * PROGRESS_FROM_BYTES))
    if (!final && step === lastShown) return
    lastShown = step
    const text = `${label} ${formatBytes(sent)}${total ? ` / ${formatBytes(total)} (${pct}%)` : ''}`
    process.stderr.write(tty ? `\r${text}${final ? '\n' : ''}` : `${text}\n`)
  }
  const enabled = total === undefined ? true : total >= PROGRESS_FROM_BYTES
  return {
    add(n) {
      sent += n
      if (enabled && (total !== undefined || sent >= PROGRESS_FROM_BYTES)) show(false)
    },
    done() {
      if (enabled && sent >= PROGRESS_FROM_BYTES) show(true)
    },
  }
}

/** The public keys in the given files (PEM or JWK), by key id. */
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

/** A release manifest as the registry shows it. */
export interface ShownManifest {
  readonly package: string
  readonly release: string
  readonly mediaType: string
  readonly content: { readonly mediaType: string; readonly size: number; readonly digest: string; readonly urls?: readonly string[] }
  readonly metadata: unknown
  readonly created_at: string
  readonly channels?: readonly string[]
  /** appr-core: the manifest digest (docs/trust.md). */
  readonly manifest_digest?: string
  /** appr-core: signatures of the manifest digest. */
  readonly signatures?: readonly unknown[]
}

/** A channel as the registry shows it. */
export interface ShownChannel {
  readonly name: string
  readonly current: string
  readonly releases: readonly string[]
}

/**
 * The manifest a reference points at: `:channel` goes through the channel's current release
 * (as the appr client does); a release may be a query; `format` `-` is the release's only format.
 */
export async function resolveManifest(client: Client, ref: PackageRef, format: string): Promise<ShownManifest> {
  let release = ref.release ?? 'default'
  if (ref.channel !== undefined) {
    release = (await getJson<ShownChannel>(client, packagePath(client, ref.package, 'channels', ref.channel))).current
  }
  return getJson<ShownManifest>(client, packagePath(client, ref.package, release, format))
}

/** The lines describing a package's own manifest (Chart.yaml fields), for human output. */
export function manifestLines(m: PackageManifestInfo): string[] {
  const lines = [`manifest    ${m.path} (${m.kind})`]
  if (m.error !== undefined) lines.push(`  error       ${m.error}`)
  for (const [label, value] of [
    ['name', m.name],
    ['version', m.version],
    ['appVersion', m.appVersion],
    ['description', m.description],
  ] as const) {
    if (value !== undefined) lines.push(`  ${label.padEnd(11)} ${value}`)
  }
  for (const d of m.dependencies ?? []) lines.push(`  dependency  ${d.name}${d.version ? ` ${d.version}` : ''}${d.repository ? ` (${d.repository})` : ''}`)
  return lines
}
