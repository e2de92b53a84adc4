/**
 * A fast path for the YAML of most `Chart.yaml` files: one `key: value` per line with plain
 * scalars only. Parsing such a document with `yaml` is most of a small chart push's CPU; this
 * gives exactly what `yaml`'s `parse` gives for it, and `undefined` for anything else (then
 * `yaml` decides, errors included).
 * @module
 */

// A key that resolves to a string in YAML 1.2's core schema: starts with a letter, not a bool or null word.
const KEY = /^[A-Za-z][A-Za-z0-9_-]*$/
// A value that is a plain string: starts with a letter (or is a version `1.2.3…`, never a core-schema
// number), then characters that are never indicators inside a block plain scalar, single spaces between words.
const VALUE = /^(?:[A-Za-z]|\d+\.\d+\.)[A-Za-z0-9._/+,()'-]*(?: [A-Za-z0-9._/+,()'-]+)*$/
const WORDS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'null', 'Null', 'NULL'])

/** The document of `text` when it is a flat mapping of plain strings, as `yaml`'s `parse` gives it, or `undefined`. */
export function parsePlainYaml(text: string): Record<string, string> | undefined {
  const doc: Record<string, string> = {}
  let keys = 0
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const colon = line.indexOf(': ')
    if (colon < 0) return undefined
    const key = line.slice(0, colon)
    const value = line.slice(colon + 2)
    if (!KEY.test(key) || WORDS.has(key) || !VALUE.test(value) || WORDS.has(value) || Object.hasOwn(doc, key)) return undefined
    doc[key] = value
    keys++
  }
  return keys > 0 ? doc : undefined
}
