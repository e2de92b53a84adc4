/**
 * The shape of a declarative option table: one entry per option, from which the command line,
 * the environment variables, the config file keys, validation, `--help` and the docs table all
 * come (`resolve.ts`, `render.ts`).
 * @module
 */
import type { z } from 'zod'

/** How an option is given on the command line. */
export type OptionKind =
  /** `--flag <value>` */
  | 'value'
  /** `--flag` sets it, `--no-flag` clears it */
  | 'boolean'
  /** `--flag <value>`, repeatable */
  | 'list'

/** One option: its flag (also its config file key), its environment variable, its schema and its docs. */
export interface OptionSpec<S extends z.ZodType = z.ZodType, D = unknown> {
  /** The flag without `--`; the config file uses the same name as its key. */
  readonly flag: string
  /** `APPR_*`. */
  readonly env: string
  /** Older variables still read after `env` (HOST, PORT). */
  readonly envAliases?: readonly string[]
  readonly kind: OptionKind
  /** Parses the text of a flag or variable, or the YAML value of the file. */
  readonly schema: S
  /** The value when no source gives one (an output of `schema`). */
  readonly default: D
  /** The default as a user would write it, for `--help` and the docs (when it is not `String(default)`). */
  readonly shown?: string
  /** `<bytes>` in `--flag <bytes>`. */
  readonly placeholder?: string
  /** One line. */
  readonly description: string
  /** Further `--help` lines (examples, accepted forms). */
  readonly details?: readonly string[]
  /** Never echoed in an error message. */
  readonly secret?: boolean
}

/**
 * One table entry. The default's presence is kept in the type: an option without one resolves to
 * `T | undefined`.
 */
export function option<S extends z.ZodType, const D extends z.output<S> | undefined = undefined>(
  spec: Omit<OptionSpec<S, D>, 'default'> & { readonly default?: D },
): OptionSpec<S, D> {
  return { ...spec, default: spec.default as D }
}

/** A table: options by the name the program reads them under. */
export type OptionTable = Readonly<Record<string, OptionSpec>>

/** What a table resolves to. */
export type OptionValues<T extends OptionTable> = {
  readonly [K in keyof T]: T[K] extends OptionSpec<infer S, infer D> ? (undefined extends D ? z.output<S> | undefined : z.output<S>) : never
}
