/**
 * A small Markdown renderer that builds DOM nodes, for package READMEs: headings, paragraphs,
 * lists, block quotes, fenced and indented code, rules, and inline code, emphasis and links.
 * Whatever else a README holds (raw HTML included) is shown as text. Links keep only absolute
 * `http(s):`/`mailto:` targets ({@link safeUrl}); images become links to the image, never loaded.
 * Nothing from the README is ever parsed as HTML, so nothing in it can run.
 * @module
 */
import { type Child, h, safeUrl } from './dom.js'

/** Renders `markdown` into a fragment. */
export function renderMarkdown(markdown: string): DocumentFragment {
  const fragment = document.createDocumentFragment()
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n')
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (line.trim() === '') {
      i++
      continue
    }
    const fence = /^\s{0,3}(```|~~~)\s*([\w+-]*)/.exec(line)
    if (fence) {
      const body: string[] = []
      i++
      while (i < lines.length && !lines[i]!.trimStart().startsWith(fence[1]!)) body.push(lines[i++]!)
      i++
      fragment.append(h('pre', {}, h('code', fence[2] ? { 'data-lang': fence[2] } : {}, body.join('\n'))))
      continue
    }
    if (/^( {4}|\t)/.test(line)) {
      const body: string[] = []
      while (i < lines.length && (/^( {4}|\t)/.test(lines[i]!) || lines[i]!.trim() === '')) body.push(lines[i++]!.replace(/^( {4}|\t)/, ''))
      fragment.append(h('pre', {}, h('code', {}, body.join('\n').trimEnd())))
      continue
    }
    const heading = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line)
    if (heading) {
      // README headings sit under the page's own h2 sections: h1 → h3, down to h6.
      const level = Math.min(heading[1]!.length + 2, 6)
      fragment.append(h(`h${level}` as 'h3', {}, inline(heading[2]!)))
      i++
      continue
    }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      fragment.append(h('hr'))
      i++
      continue
    }
    if (/^\s{0,3}>/.test(line)) {
      const body: string[] = []
      while (i < lines.length && /^\s{0,3}>/.test(lines[i]!)) body.push(lines[i++]!.replace(/^\s{0,3}>\s?/, ''))
      const quote = h('blockquote')
      quote.append(renderMarkdown(body.join('\n')))
      fragment.append(quote)
      continue
    }
    const item = /^\s{0,3}([-*+]|\d{1,9}[.)])\s+/
    if (item.test(line)) {
      const ordered = /\d/.test(item.exec(line)![1]!)
      const list = h(ordered ? 'ol' : 'ul')
      while (i < lines.length && item.test(lines[i]!)) {
        const text = [lines[i++]!.replace(item, '')]
        // Continuation lines: indented, not a new item.
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]!) && !item.test(lines[i]!)) text.push(lines[i++]!.trim())
        list.append(h('li', {}, inline(text.join(' '))))
      }
      fragment.append(list)
      continue
    }
    const paragraph: string[] = []
    while (i < lines.length && lines[i]!.trim() !== '' && !/^\s{0,3}(#{1,6}\s|```|~~~|>|[-*+]\s|\d{1,9}[.)]\s)/.test(lines[i]!)) {
      paragraph.push(lines[i++]!.trim())
    }
    if (paragraph.length === 0) paragraph.push(lines[i++]!.trim())
    fragment.append(h('p', {}, inline(paragraph.join(' '))))
  }
  return fragment
}

/** Inline spans: `code`, **strong**, *em* / _em_, [links](url) and ![images](url); the rest is text. */
function inline(text: string): Child[] {
  const out: Child[] = []
  // `_` and `__` inside a word (snake_case, window.__x) are not emphasis, as in CommonMark.
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|(?<![\p{L}\p{N}_])__([^_]+)__(?![\p{L}\p{N}_])|\*([^*\s][^*]*)\*|(?<![\p{L}\p{N}_])_([^_\s][^_]*)_(?![\p{L}\p{N}_])|(!?)\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/gu
  let last = 0
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) out.push(text.slice(last, m.index))
    last = m.index + m[0].length
    if (m[1] !== undefined) out.push(h('code', {}, m[1]))
    else if (m[2] !== undefined || m[3] !== undefined) out.push(h('strong', {}, inline(m[2] ?? m[3]!)))
    else if (m[4] !== undefined || m[5] !== undefined) out.push(h('em', {}, inline(m[4] ?? m[5]!)))
    else {
      const image = m[6] === '!'
      const label = m[7]!
      const href = safeUrl(m[8]!)
      const content = image ? `image: ${label || m[8]}` : inline(label)
      out.push(href === undefined ? h('span', { class: 'dead-link' }, content) : h('a', { href, rel: 'noopener noreferrer nofollow' }, content))
    }
  }
  if (last < text.length) out.push(text.slice(last))
  return out
}
