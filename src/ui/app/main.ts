/**
 * The web UI's entry (bundled by `src/ui/bundle.ts`, served at `/ui`): reads the server's layout
 * from `<meta name="appr-ui">`, builds the typed client, and renders the view of the current
 * hash route: `#/` packages (`?q=`, `?ns=`, `?after=`), `#/p/<ns>/<name>` a package
 * (`?release=`, `?format=`).
 * @module
 */
import { createClient } from '../../client/index.js'
import { type AppContext, link, type UiConfig } from './context.js'
import { h } from './dom.js'
import { homeView } from './home.js'
import { packageView } from './package.js'

function readConfig(): UiConfig {
  const raw = document.querySelector('meta[name="appr-ui"]')?.getAttribute('content')
  const parsed = raw ? (JSON.parse(raw) as Partial<UiConfig>) : {}
  return { api: parsed.api ?? '/cnr/api/v1', helm: parsed.helm ?? null, oci: parsed.oci === true }
}

function header(params: URLSearchParams): HTMLElement {
  const input = h('input', { id: 'search', type: 'search', name: 'q', placeholder: 'Search packages', autocomplete: 'off', value: params.get('q') ?? '' })
  const submit = (event: Event) => {
    event.preventDefault()
    location.hash = link('/', { q: input.value.trim(), ns: params.get('ns') ?? undefined })
  }
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'skip', href: '#main', onclick: skipToMain }, 'Skip to content'),
    h('a', { class: 'brand', href: link('/') }, 'appr registry'),
    h('form', { role: 'search', onsubmit: submit }, h('label', { for: 'search', class: 'visually-hidden' }, 'Search packages'), input, h('button', { type: 'submit' }, 'Search')),
  )
}

/** The skip link moves focus without changing the hash (the hash is the route). */
function skipToMain(event: Event): void {
  event.preventDefault()
  document.querySelector<HTMLElement>('main h1')?.focus()
}

function footer(config: UiConfig): HTMLElement {
  return h(
    'footer',
    {},
    h('span', {}, 'appr API: ', h('code', {}, `${location.origin}${config.api}`)),
    config.helm === null ? null : h('span', {}, 'Helm index: ', h('code', {}, `${location.origin}${config.helm}/index.yaml`)),
  )
}

function start(): void {
  const root = document.getElementById('app')!
  const config = readConfig()
  const appr = createClient({ registry: `${location.origin}${config.api}`, retries: 1 })
  let current: AbortController | undefined
  let first = true

  async function render(): Promise<void> {
    current?.abort()
    const controller = new AbortController()
    current = controller
    const [path = '/', query = ''] = location.hash.replace(/^#/, '').split('?')
    const params = new URLSearchParams(query)
    const ctx: AppContext = { appr, config, signal: controller.signal }
    const pkg = /^\/p\/([^/]+)\/([^/]+)$/.exec(path)
    const loading = h('main', { id: 'main', 'aria-busy': 'true' }, h('p', { class: 'note' }, 'Loading…'))
    root.replaceChildren(header(params), loading, footer(config))
    document.title = pkg ? `${decodeURIComponent(pkg[1]!)}/${decodeURIComponent(pkg[2]!)} · appr registry` : 'appr registry'
    let view: HTMLElement
    try {
      view = pkg ? await packageView(ctx, `${decodeURIComponent(pkg[1]!)}/${decodeURIComponent(pkg[2]!)}`, params) : await homeView(ctx, params)
    } catch (error) {
      if (controller.signal.aborted) return
      view = h('main', { id: 'main' }, h('h1', { tabindex: '-1' }, 'Something went wrong'), h('p', { role: 'alert' }, (error as Error).message), h('p', {}, h('a', { href: link('/') }, 'Back to the packages')))
    }
    if (controller.signal.aborted) return
    loading.replaceWith(view)
    // After a navigation, put focus (and a screen reader) on the new page's heading.
    if (!first) view.querySelector<HTMLElement>('h1')?.focus()
    first = false
  }

  addEventListener('hashchange', () => void render())
  void render()
}

start()
