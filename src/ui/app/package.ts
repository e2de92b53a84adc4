/**
 * A package's page: the selected release's facts (digests, size, dates), copy-ready commands,
 * every release and channel, and, read from the archive in the browser, the README (rendered by
 * `markdown.ts`, never as HTML), `values.yaml` and the file tree.
 * @module
 */
import type { Manifest, ShownManifest } from '../../client/index.js'
import { formatOf } from '../../client/client.js'
import { type AppContext, link, packageLink } from './context.js'
import { type Child, formatDate, formatSize, h } from './dom.js'
import { renderMarkdown } from './markdown.js'
import { type ArchiveFile, readArchive, textOf } from './tar.js'

/** Archives larger than this are not unpacked in the browser. */
const MAX_ARCHIVE_BYTES = 4 * 1024 * 1024
/** Text shown of one file. */
const MAX_TEXT_CHARS = 256 * 1024

export async function packageView(ctx: AppContext, pkg: string, params: URLSearchParams): Promise<HTMLElement> {
  const call = { signal: ctx.signal }
  const [manifests, channels] = await Promise.all([ctx.appr.releases(pkg, {}, call), ctx.appr.channels.list(pkg, call)])
  const byRelease = new Map<string, Manifest[]>()
  for (const m of manifests) byRelease.set(m.release, [...(byRelease.get(m.release) ?? []), m])
  const release = params.get('release') ?? manifests[0]?.release ?? 'default'
  const formats = (byRelease.get(release) ?? []).map((m) => formatOf(m.mediaType))
  const format = params.get('format') ?? formats[0] ?? '-'
  const shown = await ctx.appr.show(pkg, { release, format, contents: true }, call)
  const [files, ociTag] = await Promise.all([archiveFiles(ctx, pkg, shown), ociTagOf(ctx, pkg, shown)])
  const chart = shown.package_manifest

  return h(
    'main',
    { id: 'main' },
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: link('/') }, 'Packages'), ' / ', h('a', { href: link('/', { ns: pkg.split('/')[0] }) }, pkg.split('/')[0]!)),
    h('h1', { tabindex: '-1' }, pkg),
    typeof chart?.description === 'string' ? h('p', { class: 'description' }, chart.description) : null,
    section('Install', commands(ctx, pkg, shown, ociTag)),
    section(`Release ${shown.release}`, facts(shown, formats.length > 1 ? formats.map((f) => h('a', { href: packageLink(pkg, { release, format: f }), 'aria-current': f === format ? 'true' : undefined }, f)) : null)),
    section('Releases', releasesTable(pkg, byRelease, shown)),
    section('Channels', channelList(pkg, channels)),
    typeof files === 'string'
      ? section('Files', h('p', { class: 'note' }, files))
      : [readme(files), values(files), section('Files', fileTree(files))],
  )
}

function section(title: string, ...body: Child[]): HTMLElement {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), body)
}

function facts(shown: ShownManifest, formatLinks: Child): HTMLElement {
  const row = (term: string, value: Child) => [h('dt', {}, term), h('dd', {}, value)]
  const chart = shown.package_manifest
  return h(
    'dl',
    { class: 'facts' },
    row('Format', formatLinks ?? formatOf(shown.mediaType)),
    row('Media type', h('code', {}, shown.content.mediaType)),
    row('Digest', h('code', { class: 'digest' }, `sha256:${shown.content.digest}`)),
    shown.manifest_digest ? row('Manifest digest', h('code', { class: 'digest' }, shown.manifest_digest)) : null,
    row('Size', `${formatSize(shown.content.size)} (${shown.content.size} bytes)`),
    row('Created', h('time', { datetime: shown.created_at }, formatDate(shown.created_at))),
    typeof chart?.appVersion === 'string' ? row('App version', chart.appVersion) : null,
    shown.channels.length > 0 ? row('In channels', shown.channels.join(', ')) : null,
  )
}

function commands(ctx: AppContext, pkg: string, shown: ShownManifest, ociTag: boolean): HTMLElement {
  const { origin, host, protocol } = location
  const format = formatOf(shown.mediaType)
  const [namespace, name] = pkg.split('/') as [string, string]
  const chartName = typeof shown.package_manifest?.name === 'string' ? shown.package_manifest.name : name
  const lines: [string, string][] = [
    ['appr', `appr pull ${host}/${pkg}@${shown.release} --media-type ${format}`],
    ['appr-core', `appr-core pull ${pkg}@${shown.release} --format ${format} --registry ${origin}`],
  ]
  if (format === 'helm' && ctx.config.helm !== null) {
    lines.push(['Helm repository', `helm repo add ${namespace} ${origin}${ctx.config.helm}/${namespace}\nhelm install ${name} ${namespace}/${chartName} --version ${shown.release}`])
  }
  if (ociTag) lines.push(['Helm OCI', `helm pull oci://${host}/${pkg} --version ${shown.release}${protocol === 'http:' ? ' --plain-http' : ''}`])
  return h('div', { class: 'commands' }, lines.map(([label, text]) => copyable(label, text)))
}

function copyable(label: string, text: string): HTMLElement {
  const code = h('code', {}, text)
  const status = h('span', { class: 'copied', role: 'status' })
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text)
      status.textContent = 'Copied'
    } catch {
      // No clipboard (an insecure origin): select the text for Ctrl+C instead.
      getSelection()?.selectAllChildren(code)
      status.textContent = 'Selected: press Ctrl+C'
    }
  }
  return h(
    'div',
    { class: 'command' },
    h('span', { class: 'label' }, label),
    h('button', { type: 'button', onclick: () => void copy(), 'aria-label': `Copy the ${label} command` }, 'Copy'),
    h('pre', { tabindex: '0' }, code),
    status,
  )
}

function releasesTable(pkg: string, byRelease: Map<string, Manifest[]>, shown: ShownManifest): HTMLElement {
  const rows = [...byRelease].map(([release, list]) =>
    h(
      'tr',
      { 'aria-current': release === shown.release ? 'true' : undefined },
      h('th', { scope: 'row' }, h('a', { href: packageLink(pkg, { release }) }, release)),
      h('td', {}, list.map((m, i) => [i > 0 ? ', ' : '', h('a', { href: packageLink(pkg, { release, format: formatOf(m.mediaType) }) }, formatOf(m.mediaType))])),
      h('td', {}, formatSize(list[0]!.content.size)),
      h('td', {}, h('time', { datetime: list[0]!.created_at }, formatDate(list[0]!.created_at))),
      h('td', {}, h('code', { class: 'digest', title: `sha256:${list[0]!.content.digest}` }, list[0]!.content.digest.slice(0, 12))),
    ),
  )
  const head = h('thead', {}, h('tr', {}, ['Release', 'Formats', 'Size', 'Created', 'Digest'].map((t) => h('th', { scope: 'col' }, t))))
  return h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Releases' }, h('table', { class: 'releases' }, head, h('tbody', {}, rows)))
}

function channelList(pkg: string, channels: readonly { name: string; current: string; releases: readonly string[] }[]): Child {
  if (channels.length === 0) return h('p', { class: 'note' }, 'No channels.')
  return h(
    'ul',
    { class: 'channels' },
    channels.map((c) =>
      h('li', {}, h('span', { class: 'channel' }, c.name), ' → ', h('a', { class: 'channel-link', href: packageLink(pkg, { release: c.current }) }, c.current), c.releases.length > 1 ? h('span', { class: 'note' }, ` (also ${c.releases.filter((r) => r !== c.current).join(', ')})`) : null),
    ),
  )
}

/** The archive's files, or why they are not shown. */
async function archiveFiles(ctx: AppContext, pkg: string, shown: ShownManifest): Promise<ArchiveFile[] | string> {
  if (shown.content.size > MAX_ARCHIVE_BYTES) return `The archive (${formatSize(shown.content.size)}) is too large to browse here: pull it with a command above.`
  try {
    const download = await ctx.appr.pullRelease(pkg, shown.release, formatOf(shown.mediaType), { signal: ctx.signal })
    return await readArchive(await download.bytes())
  } catch (error) {
    if (ctx.signal.aborted) throw error
    return `The archive could not be read: ${(error as Error).message}`
  }
}

/** Whether `/v2/<pkg>` holds the release as a tag (Helm's OCI tags spell `+` as `_`). */
async function ociTagOf(ctx: AppContext, pkg: string, shown: ShownManifest): Promise<boolean> {
  if (!ctx.config.oci || formatOf(shown.mediaType) !== 'helm') return false
  try {
    const response = await fetch(`/v2/${pkg}/tags/list`, { signal: ctx.signal, headers: { accept: 'application/json' } })
    if (!response.ok) return false
    const body = (await response.json()) as { tags?: unknown }
    return Array.isArray(body.tags) && body.tags.includes(shown.release.replace(/\+/g, '_'))
  } catch {
    return false
  }
}

/** The shallowest file whose name matches. */
function find(files: readonly ArchiveFile[], name: RegExp): ArchiveFile | undefined {
  const depth = (f: ArchiveFile) => f.path.split('/').length
  return files.filter((f) => name.test(f.path.split('/').pop()!)).sort((a, b) => depth(a) - depth(b))[0]
}

function readme(files: readonly ArchiveFile[]): Child {
  const file = find(files, /^readme(\.md|\.markdown|\.txt)?$/i)
  const text = file && textOf(file)
  if (text === undefined) return null
  const body = h('div', { class: 'readme' })
  body.append(/\.txt$/i.test(file!.path) ? h('pre', {}, text) : renderMarkdown(text.slice(0, MAX_TEXT_CHARS)))
  return section('README', body)
}

function values(files: readonly ArchiveFile[]): Child {
  const file = find(files, /^values\.ya?ml$/)
  const text = file && textOf(file)
  if (text === undefined) return null
  return section('values.yaml', h('pre', { class: 'file', tabindex: '0' }, h('code', {}, text.slice(0, MAX_TEXT_CHARS))))
}

function fileTree(files: readonly ArchiveFile[]): HTMLElement {
  const viewer = h('div', { class: 'viewer', 'aria-live': 'polite' })
  const show = (file: ArchiveFile) => {
    const text = textOf(file)
    viewer.replaceChildren(
      h('h3', { tabindex: '-1' }, file.path),
      text === undefined ? h('p', { class: 'note' }, `Binary file, ${formatSize(file.size)}.`) : h('pre', { class: 'file', tabindex: '0' }, h('code', {}, text.slice(0, MAX_TEXT_CHARS))),
    )
    ;(viewer.firstElementChild as HTMLElement).focus()
  }
  const sorted = [...files].sort((a, b) => a.path.localeCompare(b.path))
  return h(
    'div',
    { class: 'files' },
    h(
      'ul',
      { class: 'tree' },
      sorted.map((file) => {
        const parts = file.path.split('/')
        return h(
          'li',
          { class: `depth-${Math.min(parts.length - 1, 6)}` },
          h('button', { type: 'button', class: 'file-button', onclick: () => show(file), title: file.path }, parts.length > 1 ? h('span', { class: 'dir' }, `${parts.slice(0, -1).join('/')}/`) : null, parts[parts.length - 1]!),
          h('span', { class: 'size' }, formatSize(file.size)),
        )
      }),
    ),
    viewer,
  )
}
