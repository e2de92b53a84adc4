/**
 * Namespace globs, as webhooks and scoped tokens take them: `*` matches any run of characters,
 * everything else itself, case-insensitively (namespaces are lowercased on input).
 * @module
 */

/** A matcher of namespaces against `globs`; without globs, every namespace matches. */
export function namespaceMatcher(globs: readonly string[] | undefined): (namespace: string) => boolean {
  if (globs === undefined) return () => true
  const patterns = globs.map((g) => new RegExp(`^${g.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i'))
  return (namespace) => patterns.some((p) => p.test(namespace))
}
