/**
 * Building the page without HTML strings: every element is created with `createElement`, every
 * text goes in as a text node, and URLs from package content pass {@link safeUrl}. The page's
 * Content-Security-Policy (Trusted Types with no policy) makes the browser refuse `innerHTML`
 * anyway; this module is why the app never needs it.
 * @module
 */

/** What {@link h} accepts as children: nodes, text (as text nodes), nothing, or lists of these. */
export type Child = Node | string | number | null | undefined | false | readonly Child[]

/** Attributes by name (names come from this code, never from package content); `on…` are listeners. */
export type Attrs = Readonly<Record<string, string | boolean | undefined | ((event: Event) => void)>>

/** An element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') element.addEventListener(name.slice(2), value)
    else element.setAttribute(name, value === true ? '' : value)
  }
  append(element, children)
  return element
}

/** Appends children to `parent` (strings as text nodes). */
export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(parent, child)
    else parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : (child as Node))
  }
}

/**
 * `url` when it is an absolute `http:`, `https:` or `mailto:` URL, else undefined: package
 * content never gets a `javascript:`, `data:` or relative link (a relative one would land in
 * this app's own routes).
 */
export function safeUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url.trim())
    return ['http:', 'https:', 'mailto:'].includes(parsed.protocol) ? parsed.href : undefined
  } catch {
    return undefined
  }
}

/** Bytes as `1.2 KiB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

/** An RFC 3339 time as `2024-05-01 12:30 UTC` (the text itself when it does not parse). */
export function formatDate(iso: string): string {
  const time = Date.parse(iso)
  if (Number.isNaN(time)) return iso
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
