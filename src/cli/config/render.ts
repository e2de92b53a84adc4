/**
 * An option table as `--help` lines and as the Markdown table of docs/cli.md.
 * @module
 */
import type { OptionSpec, OptionTable } from './table.js'

function defaultText(spec: OptionSpec): string | undefined {
  if (spec.shown !== undefined) return spec.shown
  if (spec.default === undefined) return undefined
  return Array.isArray(spec.default) ? spec.default.join(', ') : String(spec.default)
}

function flagText(spec: OptionSpec): string {
  if (spec.kind === 'boolean') return `--[no-]${spec.flag}`
  return `--${spec.flag} ${spec.placeholder ?? '<value>'}`
}

const COLUMN = 26
const WIDTH = 100

/** `text` broken at spaces into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  return [...lines, line]
}

/**
 * The options part of a command's `--help`: per option, its flag, then its description, default
 * and variables in a column (below the flag when the flag is longer), then its details.
 */
export function usageLines(table: OptionTable): string {
  const lines: string[] = []
  const indent = ' '.repeat(COLUMN)
  for (const spec of Object.values(table)) {
    const head = `  ${flagText(spec)}`
    const shown = defaultText(spec)
    const tail = [shown !== undefined && `default ${shown}`, `env ${[spec.env, ...(spec.envAliases ?? [])].join(', ')}`].filter(Boolean).join('; ')
    const body = wrap(`${spec.description} (${tail})`, WIDTH - COLUMN)
    if (head.length < COLUMN - 1) lines.push(`${head.padEnd(COLUMN)}${body.shift()}`)
    else lines.push(head)
    for (const line of body) lines.push(`${indent}${line}`)
    for (const detail of spec.details ?? []) lines.push(`${indent}  ${detail}`)
  }
  return lines.join('\n')
}

const cell = (text: string) => text.replaceAll('|', '\\|')

/** The Markdown table of every option: flag, variable and file key, default, description. */
export function markdownTable(table: OptionTable): string {
  const rows = Object.values(table).map((spec) => {
    const vars = [spec.env, ...(spec.envAliases ?? [])].map((v) => `\`${v}\``).join(', ')
    const shown = defaultText(spec)
    return `| \`${flagText(spec)}\` | ${vars} | \`${spec.flag}\` | ${shown === undefined ? '' : cell(shown)} | ${cell(spec.description)} |`
  })
  return ['| flag | environment | config file key | default | description |', '|---|---|---|---|---|', ...rows].join('\n')
}
