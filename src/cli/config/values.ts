/**
 * Value schemas the option table is written with. A value arrives as text from a flag or an
 * environment variable, or as any YAML value from the config file, so every schema accepts both
 * the text and the native form and yields one typed value, with one message saying what it wants.
 * @module
 */
import { z } from 'zod'

/** A schema from a conversion that answers undefined for a value it does not accept. */
function convert<T>(message: string, to: (value: unknown) => T | undefined): z.ZodType<T, unknown> {
  return z.unknown().transform((value, ctx) => {
    const out = to(value)
    if (out !== undefined) return out
    ctx.addIssue({ code: 'custom', message })
    return z.NEVER
  })
}

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['0', 'false', 'no', 'off'])

/** `true`/`false`, or one of 1/0, true/false, yes/no, on/off as text. */
export const flag = convert('expected true or false (1/0, yes/no, on/off)', (value) => {
  if (typeof value === 'boolean') return value
  const t = typeof value === 'string' ? value.trim().toLowerCase() : undefined
  return t === undefined ? undefined : TRUE.has(t) ? true : FALSE.has(t) ? false : undefined
})

/** A finite number from a YAML number or decimal text matching `pattern`. */
function numeric(value: unknown, pattern: RegExp): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  return typeof value === 'string' && pattern.test(value.trim()) ? Number(value.trim()) : undefined
}

/** A whole number in [min, max], as a YAML number or as digits. */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER, what = 'a whole number'): z.ZodType<number, unknown> {
  return convert(`expected ${what} from ${min} to ${max}`, (value) => {
    const n = numeric(value, /^\d+$/)
    return n !== undefined && Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined
  })
}

/** A number ≥ 0 (fractions allowed), as a YAML number or as text. */
export function nonNegative(what: string): z.ZodType<number, unknown> {
  return convert(`expected ${what} ≥ 0`, (value) => {
    const n = numeric(value, /^\d+(\.\d+)?$/)
    return n !== undefined && n >= 0 ? n : undefined
  })
}

/** Seconds (fractions allowed) in milliseconds; 0 is kept as 0 (the options that take it read it as "no limit"). */
export const seconds = nonNegative('a number of seconds').transform((s) => Math.round(s * 1000))

/** Non-empty text (surrounding whitespace does not count). */
export function text(what: string, empty = `expected ${what}, not an empty string`): z.ZodType<string, unknown> {
  return convert(`expected ${what}`, (value) => (typeof value === 'string' ? value : undefined)).refine((s) => s.trim() !== '', empty)
}

/** Several texts: a YAML list, or text with one item per line or `;` (environment variables). */
export function list(what: string): z.ZodType<string[], unknown> {
  return convert(`expected a list of ${what}s`, (value) => {
    const items = typeof value === 'string' ? value.split(/[;\n]/) : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined
    return items?.map((item) => item.trim()).filter((item) => item !== '')
  })
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const

/** A duration in milliseconds: a YAML number or bare digits are seconds; text may end in ms, s, m or h (`30s`, `2m`). */
export const duration = convert('expected a duration such as 30s, 2m or 500ms (a bare number is seconds)', (value) => {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim()) : null
  return m ? Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS]) : undefined
})

/** One of `choices`, as text. */
export function oneOf<const T extends string>(choices: readonly T[]): z.ZodType<T, unknown> {
  return convert(`expected one of ${choices.join(', ')}`, (value) => (typeof value === 'string' && (choices as readonly string[]).includes(value.trim()) ? (value.trim() as T) : undefined))
}
