/**
 * The packages view: namespaces, a page of packages (server-side paging: one request per page,
 * whatever the registry's size) and the search results, which are the same list filtered.
 * @module
 */
import { type AppContext, link, packageLink } from './context.js'
import { formatDate, h } from './dom.js'

/** Packages per page. */
export const PAGE_SIZE = 50
/** Namespaces listed at once. */
const NAMESPACES = 100

export async function homeView(ctx: AppContext, params: URLSearchParams): Promise<HTMLElement> {
  const query = params.get('q') ?? ''
  const namespace = params.get('ns') ?? ''
  const after = params.get('after') ?? undefined
  const nsAfter = params.get('nsafter') ?? undefined
  const call = { signal: ctx.signal }
  const [spaces, page] = await Promise.all([
    ctx.appr.namespaces({ limit: NAMESPACES, ...(nsAfter === undefined ? {} : { after: nsAfter }) }, call),
    ctx.appr.listPage(
      { limit: PAGE_SIZE, ...(namespace ? { namespace } : {}), ...(query ? { query } : {}), ...(after === undefined ? {} : { after }) },
      call,
    ),
  ])
  const title = query ? `Packages matching “${query}”` : namespace ? `Namespace ${namespace}` : 'Packages'
  const here = { q: query, ns: namespace }

  const namespaces = h(
    'nav',
    { class: 'namespaces', 'aria-label': 'Namespaces' },
    h('h2', {}, 'Namespaces'),
    h(
      'ul',
      {},
      h('li', {}, h('a', { href: link('/', { q: query }), 'aria-current': namespace === '' ? 'page' : undefined }, 'All')),
      spaces.namespaces.map((ns) => h('li', {}, h('a', { href: link('/', { q: query, ns }), 'aria-current': ns === namespace ? 'page' : undefined }, ns))),
    ),
    spaces.next === undefined ? null : h('a', { class: 'more', href: link('/', { ...here, nsafter: spaces.next }) }, 'More namespaces'),
  )

  const list =
    page.packages.length === 0
      ? h('p', { class: 'empty' }, query ? 'No package matches this search.' : 'No packages here yet.')
      : h(
          'ul',
          { class: 'packages' },
          page.packages.map((p) =>
            h(
              'li',
              {},
              h('a', { class: 'package-link', href: packageLink(p.name) }, p.name),
              h(
                'p',
                { class: 'meta' },
                h('span', {}, `latest ${p.default}`),
                h('span', {}, p.manifests.join(', ')),
                h('span', {}, `${p.releases.length} release${p.releases.length === 1 ? '' : 's'}`),
                h('span', {}, `created ${formatDate(p.created_at)}`),
              ),
            ),
          ),
        )

  const pager = h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    after === undefined ? null : h('a', { href: link('/', here) }, '« First page'),
    page.next === undefined ? null : h('a', { rel: 'next', href: link('/', { ...here, after: page.next }) }, 'Next page »'),
  )

  return h(
    'main',
    { id: 'main' },
    h('h1', { tabindex: '-1' }, title),
    h('div', { class: 'home' }, namespaces, h('section', { class: 'listing', 'aria-label': 'Packages' }, list, pager)),
  )
}
