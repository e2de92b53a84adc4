/**
 * JSON bytes exactly as Go's `encoding/json` writes them, which is what Helm, oras and
 * containerd produce: fields in struct order (the caller builds objects in that order), map
 * keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped. Identical bytes mean identical digests,
 * so a manifest appr-core derives equals the one Helm would push for the same chart.
 * @module
 */

const encoder = new TextEncoder()

/** An object whose keys are sorted (how Go marshals a `map[string]…`). */
export function sortedMap(entries: Iterable<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = Object.create(null)
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = v
  return out
}

/** `value` serialised as Go's `json.Marshal` would (see the module comment). */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** {@link goJson} as UTF-8 bytes. */
export function goJsonBytes(value: unknown): Uint8Array {
  return encoder.encode(goJson(value))
}
