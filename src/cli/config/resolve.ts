/**
 * Resolving an option table: each option from its flag, else its environment variable, else the
 * config file (`--config`, YAML or JSON), else its default; every value through its schema. A bad
 * value is a {@link ConfigError} naming the option and where the value came from.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { parse as parseYaml } from 'yaml'
import type { OptionSpec, OptionTable, OptionValues } from './table.js'

/** Where a value came from. */
export type Source =
  | { readonly kind: 'flag'; readonly name: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'file'; readonly name: string; readonly file: string }
  | { readonly kind: 'default' }

/** A value no option accepts, a config file that cannot be read, or flags that contradict each other. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    message: string,
    /** The option's flag name, or `config`. */
    readonly key: string,
    readonly source: Source | undefined,
  ) {
    super(message)
  }
}

/** A table resolved: the values, and where each came from. */
export interface Resolved<T extends OptionTable> {
  readonly values: OptionValues<T>
  readonly sources: { readonly [K in keyof T]: Source }
  /** The config file read, if any. */
  readonly file: string | undefined
  /** `-h`/`--help` was given. */
  readonly help: boolean
}

/** `--store (flag)`, `APPR_STORE (env)`, `serve.yaml: store (file)`. */
export function describeSource(source: Source): string {
  switch (source.kind) {
    case 'flag':
      return `--${source.name} (flag)`
    case 'env':
      return `${source.name} (env)`
    case 'file':
      return `${source.file}: ${source.name} (file)`
    default:
      return 'the default'
  }
}

type Raw = string | boolean | string[] | undefined

function parseFlags(table: OptionTable, args: string[]): Record<string, Raw> {
  const options: NonNullable<ParseArgsConfig['options']> = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } }
  for (const spec of Object.values(table)) {
    if (spec.kind === 'boolean') {
      options[spec.flag] = { type: 'boolean' }
      options[`no-${spec.flag}`] = { type: 'boolean' }
    } else options[spec.flag] = { type: 'string', ...(spec.kind === 'list' && { multiple: true }) }
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Record<string, Raw>
  } catch (error) {
    throw new ConfigError((error as Error).message, 'arguments', undefined)
  }
}

async function readConfigFile(path: string, source: Source): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`, 'config', source)
  }
  let parsed: unknown
  try {
    parsed = parseYaml(text)
  } catch (error) {
    throw new ConfigError(`config file ${path} is not YAML or JSON: ${(error as Error).message.split('\n')[0]}`, 'config', source)
  }
  if (parsed === null || parsed === undefined) return Object.create(null) as Record<string, unknown>
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must be a mapping of option names to values`, 'config', source)
  return Object.assign(Object.create(null) as Record<string, unknown>, parsed)
}

/** The raw value of one option and its source, by precedence flag > env > file > default. */
function pick(spec: OptionSpec, flags: Record<string, Raw>, env: NodeJS.ProcessEnv, file: { path: string; values: Record<string, unknown> } | undefined): [unknown, Source] | undefined {
  if (spec.kind === 'boolean') {
    const on = flags[spec.flag] === true
    const off = flags[`no-${spec.flag}`] === true
    if (on && off) throw new ConfigError(`--${spec.flag} and --no-${spec.flag} contradict each other`, spec.flag, { kind: 'flag', name: spec.flag })
    if (on || off) return [on, { kind: 'flag', name: off ? `no-${spec.flag}` : spec.flag }]
  } else if (flags[spec.flag] !== undefined) return [flags[spec.flag], { kind: 'flag', name: spec.flag }]
  for (const name of [spec.env, ...(spec.envAliases ?? [])]) {
    const value = env[name]
    if (value !== undefined) return [value, { kind: 'env', name }]
  }
  if (file && Object.hasOwn(file.values, spec.flag)) return [file.values[spec.flag], { kind: 'file', name: spec.flag, file: file.path }]
  return undefined
}

function shown(value: unknown, secret: boolean | undefined): string {
  if (secret) return ''
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return ` '${text.length > 60 ? `${text.slice(0, 60)}…` : text}'`
}

/**
 * Resolves `table` from the command line, the environment and the config file named by
 * `--config` (or `APPR_CONFIG`).
 * @throws ConfigError for an unknown flag, an unreadable config file, an unknown file key or a bad value
 */
export async function resolveOptions<T extends OptionTable>(table: T, args: string[], env: NodeJS.ProcessEnv): Promise<Resolved<T>> {
  const flags = parseFlags(table, args)
  const help = flags.help === true
  const configPath = (flags.config as string | undefined) ?? env.APPR_CONFIG
  let file: { path: string; values: Record<string, unknown> } | undefined
  if (configPath !== undefined && !help) {
    const source: Source = flags.config !== undefined ? { kind: 'flag', name: 'config' } : { kind: 'env', name: 'APPR_CONFIG' }
    file = { path: configPath, values: await readConfigFile(configPath, source) }
    const known = new Set(Object.values(table).map((spec) => spec.flag))
    for (const key of Object.keys(file.values)) {
      if (!known.has(key)) throw new ConfigError(`unknown option '${key}' in config file ${configPath}`, key, { kind: 'file', name: key, file: configPath })
    }
  }
  const values: Record<string, unknown> = {}
  const sources: Record<string, Source> = {}
  for (const [name, spec] of Object.entries(table)) {
    const picked = help ? undefined : pick(spec, flags, env, file)
    if (picked === undefined) {
      values[name] = spec.default
      sources[name] = { kind: 'default' }
      continue
    }
    const [raw, source] = picked
    const result = spec.schema.safeParse(raw)
    if (!result.success) {
      const reason = result.error.issues[0]?.message ?? 'invalid value'
      throw new ConfigError(`invalid ${spec.flag} from ${describeSource(source)}${shown(raw, spec.secret)}: ${reason}`, spec.flag, source)
    }
    values[name] = result.data
    sources[name] = source
  }
  return { values: values as OptionValues<T>, sources: sources as Resolved<T>['sources'], file: file?.path, help }
}
