/**
 * The web UI end to end in headless Chromium (Debian's, driven by playwright-core) against a
 * seeded server: browsing, search, a package page (releases, channels, digests, README,
 * values.yaml, files), keyboard navigation, a phone viewport, the Content-Security-Policy, a
 * hostile README that must run nothing, and the first page of a 10k-package registry (counted in
 * requests and bytes). With `UI_SCREENSHOTS=1` it also writes the screenshots of docs/ui/.
 */
import { mkdirSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler, UI_CSP } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import { ociDigestOf } from 'appr-core/oci'
import { bundleUi } from '../../src/ui/bundle.js'
import { launchChromium } from '../helpers/chromium.js'
import { skipOrFail } from '../helpers/servers.js'
import { tgz } from '../registry/helpers.js'

const screenshots = process.env.UI_SCREENSHOTS === '1' ? new URL('../../docs/ui/', import.meta.url).pathname : undefined

const README = `# nginx

A **web server** chart, with \`kubectl\`-free installs.

## Install

\`\`\`sh
helm install web acme/nginx
\`\`\`

- fast
- small

See [the docs](https://nginx.org/en/docs/).
`

const HOSTILE_README = `# Totally normal chart

<script>window.__pwned = 'script'</script>

<img src="x" onerror="window.__pwned = 'onerror'">

[click me](javascript:window.__pwned='link')
[or me](JAVASCRIPT:window.__pwned='upper')
[data](data:text/html,<script>window.__pwned='data'</script>)
![img](javascript:window.__pwned='image')
<a href="javascript:window.__pwned='a'">raw anchor</a>
<iframe src="javascript:window.__pwned='iframe'"></iframe>
<svg onload="window.__pwned='svg'"></svg>
**bold <b onmouseover="window.__pwned='b'">x</b>**
`

function chart(name: string, version: string, extra: Record<string, string> = {}): Promise<Uint8Array> {
  return tgz({
    [`${name}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: ${version}\nappVersion: "1.25"\ndescription: The ${name} chart for tests\n`,
    [`${name}/values.yaml`]: `replicaCount: 2\nimage:\n  repository: ${name}\n  tag: "${version}"\n`,
    [`${name}/templates/deployment.yaml`]: `kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n`,
    ...extra,
  })
}

async function seeded(): Promise<Registry> {
  const registry = new Registry({ store: memoryStore() })
  for (const version of ['1.0.0', '1.1.0', '2.0.0-rc.1']) {
    await registry.push({ package: 'acme/nginx', release: version, format: 'helm', blob: await chart('nginx', version, { 'nginx/README.md': README }) })
  }
  await registry.push({ package: 'acme/nginx', release: '1.1.0', format: 'kpm', blob: await chart('nginx', '1.1.0') })
  await registry.channels.add('acme/nginx', 'stable', '1.1.0')
  await registry.channels.add('acme/nginx', 'beta', '2.0.0-rc.1')
  await registry.push({ package: 'acme/redis', release: '7.2.4', format: 'helm', blob: await chart('redis', '7.2.4') })
  await registry.push({ package: 'tools/kubectl-plugins', release: '0.3.0', blob: await chart('plugins', '0.3.0') })
  await registry.push({
    package: 'evil/readme',
    release: '6.6.6',
    format: 'helm',
    blob: await chart('readme', '6.6.6', { 'readme/README.md': HOSTILE_README, 'readme/Chart.yaml': 'name: readme\nversion: 6.6.6\ndescription: <script>window.__pwned="description"</script>\n' }),
  })
  return registry
}

async function start(registry: Registry): Promise<RunningServer> {
  return serve({ handler: createHandler(registry, { ui: await bundleUi() }), host: '127.0.0.1', port: 0 })
}

const ui = suite<{ browser?: Browser; server?: RunningServer; registry?: Registry }>('ui')

ui.before(async (ctx) => {
  ctx.browser = (await launchChromium()) as Browser
  if (ctx.browser === undefined) return
  ctx.registry = await seeded()
  ctx.server = await start(ctx.registry)
})

ui.after(async (ctx) => {
  await ctx.browser?.close()
  await ctx.server?.close({ timeoutMs: 1000 })
})

/** A fresh page that fails the test on any uncaught error or dialog. */
async function open(ctx: { browser?: Browser }, viewport = { width: 1280, height: 800 }): Promise<{ page: Page; problems: string[] }> {
  const page = await ctx.browser!.newPage({ viewport })
  page.setDefaultTimeout(60_000)
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`)
    void dialog.dismiss()
  })
  return { page, problems }
}

ui('the page and its assets carry the CSP; the HTML has no inline script', async (ctx) => {
  if (ctx.browser === undefined) return skipOrFail('web UI', 'needs chromium and playwright-core')
  for (const path of ['/ui', '/ui/', '/ui/app.js', '/ui/app.css']) {
    const response = await fetch(`${ctx.server!.url}${path}`)
    assert.is(response.status, 200, path)
    assert.is(response.headers.get('content-security-policy'), UI_CSP, `${path} carries the policy`)
    assert.is(response.headers.get('x-content-type-options'), 'nosniff')
    const text = await response.text()
    if (path.startsWith('/ui/app')) continue
    const scripts = [...text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)]
    assert.ok(scripts.length > 0 && scripts.every((m) => /\bsrc="\/ui\/app\.js\?v=/.test(m[0]) && m[1]!.trim() === ''), 'only the external app script')
  }
  assert.match(UI_CSP, "script-src 'self'")
  assert.not.match(UI_CSP, 'unsafe-inline')
  assert.not.match(UI_CSP, 'unsafe-eval')
  const bare = await fetch(`${ctx.server!.url}/ui/nope.js`)
  assert.is(bare.status, 404, 'nothing else under /ui')
})

ui('browse: namespaces and packages, search, open a package, switch release, follow a channel, read values and files', async (ctx) => {
  if (ctx.browser === undefined) return
  const { page, problems } = await open(ctx)
  try {
    await page.goto(`${ctx.server!.url}/ui`)
    await page.locator('a.package-link').first().waitFor()
    assert.equal(await page.locator('.namespaces li a').allTextContents(), ['All', 'acme', 'evil', 'tools'])
    assert.equal(await page.locator('a.package-link').allTextContents(), ['acme/nginx', 'acme/redis', 'evil/readme', 'tools/kubectl-plugins'])

    await page.fill('#search', 'ngi')
    await page.press('#search', 'Enter')
    await page.locator('h1', { hasText: 'matching' }).waitFor()
    assert.equal(await page.locator('a.package-link').allTextContents(), ['acme/nginx'], 'search narrows the list')

    await page.click('a.package-link')
    await page.locator('h1', { hasText: 'acme/nginx' }).waitFor()
    await page.locator('.readme').waitFor()
    const releases = await page.locator('table.releases tbody th').allTextContents()
    assert.equal(releases, ['2.0.0-rc.1', '1.1.0', '1.0.0'], 'every release, newest first')
    const shown = await ctx.registry!.show('acme/nginx', { release: '2.0.0-rc.1', format: 'helm' })
    assert.match((await page.locator('.facts').textContent()) ?? '', `sha256:${shown.content.digest}`, 'the digest of the shown release')
    assert.match((await page.locator('.facts').textContent()) ?? '', 'App version')
    assert.match((await page.locator('.facts').textContent()) ?? '', `(${shown.content.size} bytes)`, 'its size')
    assert.is(await page.locator('.facts time').getAttribute('datetime'), shown.created_at, 'its date')
    assert.equal(await page.locator('.channels .channel').allTextContents(), ['beta', 'stable'])
    assert.is(await page.locator('.readme h3').first().textContent(), 'nginx', 'README headings rendered')
    assert.is(await page.locator('.readme strong').first().textContent(), 'web server')
    assert.is(await page.locator('.readme a').getAttribute('href'), 'https://nginx.org/en/docs/')
    assert.is(await page.locator('.readme li').count(), 2)
    assert.match((await page.locator('.readme pre').textContent()) ?? '', 'helm install web acme/nginx')
    assert.match((await page.locator('section[aria-labelledby="s-values-yaml"] pre').textContent()) ?? '', 'replicaCount: 2')
    const commands = await page.locator('.command pre').allTextContents()
    assert.ok(commands.some((c) => c.includes(`helm repo add acme ${ctx.server!.url}/helm/acme`)), `helm repo add: ${commands.join(' | ')}`)
    assert.ok(commands.some((c) => c.startsWith('appr pull ') && c.includes('acme/nginx@2.0.0-rc.1')), 'appr pull')
    assert.ok(commands.includes(`helm pull oci://${new URL(ctx.server!.url).host}/acme/nginx --version 2.0.0-rc.1 --plain-http`), 'helm pull oci:// of the release /v2/ serves')

    await page.click('table.releases a:text-is("1.0.0")')
    await page.locator('h2', { hasText: 'Release 1.0.0' }).waitFor()
    assert.match((await page.locator('section[aria-labelledby="s-values-yaml"] pre').textContent()) ?? '', 'tag: "1.0.0"', 'values of the switched release')

    await page.click('.channels a.channel-link:text-is("1.1.0")')
    await page.locator('h2', { hasText: 'Release 1.1.0' }).waitFor()
    assert.match((await page.locator('.facts').textContent()) ?? '', 'stable', 'the channel is shown on its release')
    assert.equal(await page.locator('.facts dd a').allTextContents(), ['helm', 'kpm'], 'both formats of 1.1.0')

    await page.click('.file-button[title="nginx/templates/deployment.yaml"]')
    assert.match((await page.locator('.viewer pre').textContent()) ?? '', 'kind: Deployment', 'a file from the tree')
    assert.equal(problems, [])
  } finally {
    await page.close()
  }
})

ui('a chart pushed through /v2/ is a release in the UI, with its helm pull oci:// command', async (ctx) => {
  if (ctx.browser === undefined) return
  const base = ctx.server!.url
  const config = new TextEncoder().encode('{}')
  const layer = await chart('valkey', '8.0.1')
  for (const blob of [config, layer]) {
    const uploaded = await fetch(`${base}/v2/acme/valkey/blobs/uploads/?digest=${ociDigestOf(blob)}`, { method: 'POST', body: blob as Uint8Array<ArrayBuffer> })
    assert.is(uploaded.status, 201)
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: ociDigestOf(config), size: config.byteLength },
    layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: ociDigestOf(layer), size: layer.byteLength }],
  })
  const put = await fetch(`${base}/v2/acme/valkey/manifests/8.0.1`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest })
  assert.is(put.status, 201)
  const { page, problems } = await open(ctx)
  try {
    await page.goto(`${base}/ui#/p/acme/valkey`)
    await page.locator('.facts').waitFor()
    assert.equal(await page.locator('table.releases tbody th').allTextContents(), ['8.0.1'], 'the OCI push is an appr release')
    await page.locator('.command pre', { hasText: 'oci://' }).waitFor()
    const commands = await page.locator('.command pre').allTextContents()
    assert.ok(commands.includes(`helm pull oci://${new URL(base).host}/acme/valkey --version 8.0.1 --plain-http`), commands.join(' | '))
    assert.equal(problems, [])
  } finally {
    await page.close()
  }
})

ui('helm pull oci:// is offered only where /v2/ serves a Helm release: not for kpm, not with the OCI view off', async (ctx) => {
  if (ctx.browser === undefined) return
  const noOci = await serve({ handler: createHandler(ctx.registry!, { ui: await bundleUi(), oci: false }), host: '127.0.0.1', port: 0 })
  const { page, problems } = await open(ctx)
  try {
    for (const [base, pkg] of [
      [ctx.server!.url, 'tools/kubectl-plugins'],
      [noOci.url, 'acme/redis'],
    ] as const) {
      await page.goto(`${base}/ui#/p/${pkg}`)
      await page.locator('.facts').waitFor()
      await page.locator('.files').waitFor()
      const commands = await page.locator('.command pre').allTextContents()
      assert.ok(commands.length >= 2 && !commands.some((c) => c.includes('oci://')), `${pkg} on ${base}: ${commands.join(' | ')}`)
    }
    assert.equal(problems, [])
  } finally {
    await page.close()
    await noOci.close({ timeoutMs: 1000 })
  }
})

ui('a hostile README and description execute nothing and render as text', async (ctx) => {
  if (ctx.browser === undefined) return
  const { page, problems } = await open(ctx)
  try {
    await page.goto(`${ctx.server!.url}/ui#/p/evil/readme`)
    await page.locator('.readme').waitFor()
    // Give any injected handler (onerror, onload) a chance to fire before checking.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50))))
    assert.is(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned), undefined, 'no payload ran')
    const counts = await page.evaluate(() => ({
      scripts: document.querySelectorAll('main script, main iframe, main svg, main img, main object, main embed').length,
      handlers: [...document.querySelectorAll('main *')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
      links: [...document.querySelectorAll('.readme a')].map((a) => a.getAttribute('href')),
    }))
    assert.equal(counts, { scripts: 0, handlers: 0, links: [] }, 'no active element, no handler, no unsafe link')
    const text = (await page.locator('.readme').textContent()) ?? ''
    assert.match(text, "<script>window.__pwned = 'script'</script>", 'raw HTML shows as text')
    assert.match((await page.locator('.description').textContent()) ?? '', '<script>', 'the description is text too')
    assert.is(await page.locator('.readme .dead-link').count(), 3, 'javascript: links and images are inert text')
    assert.match(text, '[data](data:text/html,', 'a data: link is not a link')
    for (const link of await page.locator('.readme .dead-link').all()) await link.click()
    assert.is(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned), undefined, 'clicking them runs nothing')
    assert.equal(problems, [], 'no dialog, no error')
  } finally {
    await page.close()
  }
})

ui('the CSP is enforced: inline script and handlers in the page are blocked; eval, innerHTML and handler attributes throw', async (ctx) => {
  if (ctx.browser === undefined) return
  const { page } = await open(ctx)
  try {
    // Serve the real page with its real headers, plus what an injection would add, and see the browser refuse it.
    await page.route('**/ui', async (route) => {
      const response = await route.fetch()
      const html = (await response.text()).replace(
        '</body>',
        '<script src="/ui/probe.js"></script><script>window.__inline = "script"</script><img src="/nope.png" onerror="window.__inline = \'onerror\'"><script src="data:text/javascript,window.__inline=%22data%22"></script></body>',
      )
      await route.fulfill({ response, body: html })
    })
    // A same-origin script (allowed) that tries eval (not allowed).
    await page.route('**/ui/probe.js', (route) =>
      route.fulfill({
        contentType: 'text/javascript',
        body: 'try { eval("window.__inline = \'eval\'") } catch (e) { window.__evalRefused = e instanceof EvalError }',
      }),
    )
    await page.addInitScript(() => {
      const seen: string[] = []
      ;(window as { __violations?: string[] }).__violations = seen
      document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective))
    })
    await page.goto(`${ctx.server!.url}/ui`)
    await page.locator('a.package-link').first().waitFor()
    const outcome = await page.evaluate(async () => {
      const w = window as { __inline?: unknown; __violations?: string[]; __evalRefused?: boolean }
      const div = document.createElement('div')
      // Anonymous thunks only: the test runner's transform would name a local function with a helper the page lacks.
      const [innerHtmlRefused, handlerRefused] = [
        () => {
          div.innerHTML = '<img src=x>'
        },
        () => div.setAttribute('onclick', 'window.__inline = "handler"'),
      ].map((attempt) => {
        try {
          attempt()
          return false
        } catch {
          return true
        }
      })
      return { ran: w.__inline, violations: [...new Set(w.__violations)].sort(), evalRefused: w.__evalRefused, innerHtmlRefused, handlerRefused }
    })
    assert.equal(outcome, {
      ran: undefined,
      violations: ['require-trusted-types-for', 'script-src-attr', 'script-src-elem'],
      evalRefused: true,
      innerHtmlRefused: true,
      handlerRefused: true,
    })
  } finally {
    await page.close()
  }
})

ui('keyboard: Tab reaches a package link and Enter opens it', async (ctx) => {
  if (ctx.browser === undefined) return
  const { page, problems } = await open(ctx)
  try {
    await page.goto(`${ctx.server!.url}/ui`)
    await page.locator('a.package-link').first().waitFor()
    let focused = ''
    for (let i = 0; i < 40 && !focused.startsWith('package:'); i++) {
      await page.keyboard.press('Tab')
      focused = await page.evaluate(() => {
        const a = document.activeElement
        return a?.matches('a.package-link') ? `package:${a.textContent}` : (a?.tagName ?? '')
      })
    }
    assert.is(focused, 'package:acme/nginx', 'Tab reaches the first package')
    await page.keyboard.press('Enter')
    await page.locator('h1', { hasText: 'acme/nginx' }).waitFor()
    await page.locator('.facts').waitFor()
    assert.is(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus moves to the new page heading')
    // Onwards by keyboard alone: to a release (with a focus ring one can see), then a file of the tree.
    const tabTo = async (wanted: string): Promise<{ outline: string }> => {
      for (let i = 0; i < 80; i++) {
        await page.keyboard.press('Tab')
        const at = await page.evaluate((selector) => {
          const a = document.activeElement
          if (!a?.matches(selector)) return undefined
          const style = getComputedStyle(a)
          return { outline: `${style.outlineStyle} ${style.outlineWidth}` }
        }, wanted)
        if (at !== undefined) return at
      }
      throw new Error(`Tab never reached ${wanted}`)
    }
    const release = await tabTo('table.releases a[href*="release=1.0.0"]')
    assert.is(release.outline, 'solid 3px', 'the focused link shows its focus ring')
    await page.keyboard.press('Enter')
    await page.locator('h2', { hasText: 'Release 1.0.0' }).waitFor()
    await tabTo('.file-button[title="nginx/values.yaml"]')
    await page.keyboard.press('Enter')
    assert.match((await page.locator('.viewer pre').textContent()) ?? '', 'tag: "1.0.0"', 'Enter on a file opens it')
    assert.equal(problems, [])
  } finally {
    await page.close()
  }
})

ui('a phone viewport has no horizontal scroll', async (ctx) => {
  if (ctx.browser === undefined) return
  const { page, problems } = await open(ctx, { width: 375, height: 740 })
  try {
    for (const hash of ['', '#/p/acme/nginx', '#/p/evil/readme']) {
      await page.goto(`${ctx.server!.url}/ui${hash}`)
      await page.locator(hash === '' ? 'a.package-link' : '.facts').first().waitFor()
      const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }))
      assert.ok(scroll <= client, `no horizontal scroll at 375px on '${hash}' (${scroll} > ${client})`)
    }
    assert.equal(problems, [])
  } finally {
    await page.close()
  }
})

if (screenshots !== undefined) {
  ui('screenshots for docs/ui', async (ctx) => {
    if (ctx.browser === undefined) return
    mkdirSync(screenshots, { recursive: true })
    for (const [name, viewport] of [
      ['desktop', { width: 1280, height: 800 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      const { page } = await open(ctx, viewport)
      await page.goto(`${ctx.server!.url}/ui`)
      await page.locator('a.package-link').first().waitFor()
      await page.screenshot({ path: `${screenshots}${name}-packages.png` })
      await page.goto(`${ctx.server!.url}/ui#/p/acme/nginx?release=1.1.0&format=helm`)
      await page.locator('.readme').waitFor()
      await page.screenshot({ path: `${screenshots}${name}-package.png`, fullPage: name === 'desktop' })
      await page.close()
    }
  })
}

ui.run()

const big = suite<{ browser?: Browser; server?: RunningServer }>('ui at 10k packages')

big.before(async (ctx) => {
  ctx.browser = (await launchChromium()) as Browser
  if (ctx.browser === undefined) return
  const registry = new Registry({ store: memoryStore() })
  const blob = await chart('p', '1.0.0')
  for (let i = 0; i < 10_000; i++) await registry.push({ package: `ns${i % 10}/pkg-${String(i).padStart(5, '0')}`, release: '1.0.0', format: 'helm', blob })
  ctx.server = await start(registry)
})

big.after(async (ctx) => {
  await ctx.browser?.close()
  await ctx.server?.close({ timeoutMs: 1000 })
})

big('the first page of 10k packages costs two small API requests; the next page one more', async (ctx) => {
  if (ctx.browser === undefined) return skipOrFail('web UI at 10k packages', 'needs chromium and playwright-core')
  const { page, problems } = await open(ctx)
  const api: { url: string; bytes: number }[] = []
  const all: { url: string; bytes: number }[] = []
  page.on('requestfinished', (request) => {
    // Chromium may ask for a favicon on its own: not the app's doing.
    if (request.url().endsWith('/favicon.ico')) return
    void request.sizes().then((sizes) => {
      const entry = { url: request.url(), bytes: sizes.responseBodySize }
      all.push(entry)
      if (request.url().includes('/api/v1/')) api.push(entry)
    })
  })
  try {
    await page.goto(`${ctx.server!.url}/ui`)
    await page.locator('a.package-link').nth(49).waitFor()
    assert.is(await page.locator('a.package-link').count(), 50, 'one page of 50')
    await waitFor(() => api.length >= 2)
    assert.equal(api.map((r) => new URL(r.url).pathname).sort(), ['/api/v1/namespaces', '/api/v1/packages'], `two API requests: ${api.map((r) => r.url)}`)
    const bytes = api.reduce((sum, r) => sum + r.bytes, 0)
    assert.ok(bytes < 32 * 1024, `the first page's API answers stay small (${bytes} bytes for 10k packages)`)
    const total = all.reduce((sum, r) => sum + r.bytes, 0)
    assert.is(all.length, 5, `the page, its two assets and two API requests: ${all.map((r) => r.url)}`)
    assert.ok(total < 48 * 1024, `the whole first load, assets gzipped, stays under 48 KiB (${total} bytes)`)
    console.log(`first page at 10k packages: ${all.length} requests, ${total} bytes (API ${bytes})`)
    assert.is(await page.locator('.namespaces li a').count(), 11, 'all ten namespaces and All')
    const first = await page.locator('a.package-link').first().textContent()
    await page.click('a[rel="next"]')
    await page.waitForFunction((before) => document.querySelector('a.package-link')?.textContent !== before, first)
    await waitFor(() => api.length >= 4)
    assert.is(api.filter((r) => new URL(r.url).pathname === '/api/v1/packages').length, 2, 'the next page is one more list request')
    assert.is(await page.locator('a.package-link').first().textContent(), 'ns0/pkg-00500', 'page two starts after page one')
    const before = api.length
    await page.fill('#search', '09999')
    await page.press('#search', 'Enter')
    await page.locator('h1', { hasText: 'matching' }).waitFor()
    await page.locator('a.package-link').first().waitFor()
    assert.equal(await page.locator('a.package-link').allTextContents(), ['ns9/pkg-09999'], 'search across 10k packages')
    await waitFor(() => api.length >= before + 2)
    assert.equal(api.slice(before).map((r) => new URL(r.url).searchParams.get('query')).filter(Boolean), ['09999'], 'one filtered list request')
    assert.equal(problems, [])
  } finally {
    await page.close()
  }
})

big.run()

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  assert.ok(condition(), 'condition reached')
}
