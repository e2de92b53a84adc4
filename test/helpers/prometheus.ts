/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests that read
 * `/metrics`: every line must be a HELP, a TYPE or a sample of a family declared before it;
 * names, label syntax, escapes and values are checked; a series may appear once; a histogram's
 * buckets must be cumulative with `+Inf` equal to its `_count`. Anything else throws with the
 * line number.
 */

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Family {
  readonly name: string
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  help?: string
  readonly samples: Sample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

function parseValue(text: string, line: number): number {
  // As Prometheus reads them (Go's ParseFloat): NaN and Inf in any case (prom-client writes `Nan`).
  if (/^\+?inf$/i.test(text)) return Number.POSITIVE_INFINITY
  if (/^-inf$/i.test(text)) return Number.NEGATIVE_INFINITY
  if (/^nan$/i.test(text)) return Number.NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`line ${line}: bad value '${text}'`)
  return Number(text)
}

/** `{a="x",b="y"}` starting at `text[0] === '{'`: the labels and the rest of the line after `}`. */
function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = Object.create(null)
  let i = 1
  for (;;) {
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) }
    const eq = text.indexOf('=', i)
    if (eq < 0) throw new Error(`line ${line}: label without '='`)
    const name = text.slice(i, eq)
    if (!LABEL.test(name)) throw new Error(`line ${line}: bad label name '${name}'`)
    if (name in labels) throw new Error(`line ${line}: label '${name}' twice`)
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value not quoted`)
    let value = ''
    let j = eq + 2
    for (;; j++) {
      const c = text[j]
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`)
      if (c === '"') break
      if (c === '\\') {
        const next = text[++j]
        if (next === 'n') value += '\n'
        else if (next === '\\' || next === '"') value += next
        else throw new Error(`line ${line}: bad escape '\\${next}'`)
      } else value += c
    }
    labels[name] = value
    i = j + 1
    if (text[i] === ',') i++
    else if (text[i] !== '}') throw new Error(`line ${line}: expected ',' or '}' after a label`)
  }
}

/** The family a sample name belongs to (histogram and summary samples carry suffixes). */
function familyOf(families: Map<string, Family>, name: string): Family | undefined {
  const exact = families.get(name)
  if (exact) return exact
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue
    const family = families.get(name.slice(0, -suffix.length))
    if (family && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return family
  }
  return undefined
}

/** Parses an exposition; throws on the first violation. */
export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline')
  const families = new Map<string, Family>()
  const series = new Set<string>()
  const lines = text.slice(0, -1).split('\n')
  lines.forEach((raw, index) => {
    const n = index + 1
    if (raw === '') return
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw)
      if (!m) return // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string]
      if (!NAME.test(name)) throw new Error(`line ${n}: bad metric name '${name}'`)
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`line ${n}: bad type '${rest}'`)
        const existing = families.get(name)
        if (existing && existing.samples.length > 0) throw new Error(`line ${n}: TYPE after samples of ${name}`)
        families.set(name, { name, type: rest as Family['type'], samples: [], ...(existing?.help !== undefined ? { help: existing.help } : {}) })
      } else {
        const family = families.get(name) ?? { name, type: 'untyped' as const, samples: [] }
        if (family.help !== undefined) throw new Error(`line ${n}: second HELP for ${name}`)
        family.help = rest
        families.set(name, family)
      }
      return
    }
    const nameEnd = raw.search(/[{ ]/)
    if (nameEnd <= 0) throw new Error(`line ${n}: not a sample: '${raw}'`)
    const name = raw.slice(0, nameEnd)
    if (!NAME.test(name)) throw new Error(`line ${n}: bad metric name '${name}'`)
    let labels: Record<string, string> = Object.create(null)
    let rest = raw.slice(nameEnd)
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, n))
    const parts = rest.trim().split(' ')
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`line ${n}: expected ' <value> [timestamp]'`)
    const value = parseValue(parts[0]!, n)
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${n}: bad timestamp`)
    const family = familyOf(families, name)
    if (!family) throw new Error(`line ${n}: sample ${name} of no declared family`)
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`line ${n}: negative counter`)
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (series.has(id)) throw new Error(`line ${n}: series ${id} twice`)
    series.add(id)
    family.samples.push({ name, labels, value })
  })
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family)
  return families
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>()
  for (const s of family.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    const group = groups.get(key) ?? { buckets: [] }
    groups.set(key, group)
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`)
      group.buckets.push([parseValue(le, 0), s.value])
    } else if (s.name.endsWith('_count')) group.count = s.value
  }
  for (const [key, { buckets, count }] of groups) {
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]![0] > buckets[i - 1]![0] && buckets[i]![1] >= buckets[i - 1]![1])) throw new Error(`${family.name}${key}: buckets not ascending and cumulative`)
    }
    const last = buckets[buckets.length - 1]
    if (!last || last[0] !== Number.POSITIVE_INFINITY || last[1] !== count) throw new Error(`${family.name}${key}: +Inf bucket must equal _count`)
  }
}

/** The value of the sample `name` whose labels include `labels` (0 when there is none). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = familyOf(families, name)
  let total = 0
  for (const s of family?.samples ?? []) {
    if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value
  }
  return total
}
