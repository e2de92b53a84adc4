// `appr-core serve --ui`: the web UI is served only when asked for, with its CSP, from the
// sources (bundled at start) and from a build (dist/ui, written by `npm run build`).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { UI_CSP } from 'appr-core/http'
import { root, startServe } from './serve-helpers.js'

test('without --ui there is no /ui; with --ui (or APPR_UI=1) the page and assets come with the CSP', async () => {
  const plain = await startServe(['--store', 'memory', '--port', '0'])
  try {
    assert.is((await fetch(`${plain.url}/ui`)).status, 404)
  } finally {
    assert.is(await plain.stop(), 0)
  }
  for (const [args, env] of [
    [['--ui', '--token', 'sesame'], {}],
    [[], { APPR_UI: '1' }],
  ] as const) {
    const served = await startServe(['--store', 'memory', '--port', '0', ...args], env)
    try {
      const listening = served.out.map((l) => JSON.parse(l) as { msg: string; ui?: string }).find((l) => l.msg === 'listening')
      assert.is(listening?.ui, `${served.url}/ui`, 'the listening line names the UI')
      const page = await fetch(`${served.url}/ui`)
      assert.is(page.status, 200, 'the page is public, even with --token')
      assert.is(page.headers.get('content-security-policy'), UI_CSP)
      const html = await page.text()
      assert.match(html, '&#34;api&#34;:&#34;/api/v1&#34;', 'the page names the API under the root')
      const script = await fetch(`${served.url}/ui/app.js`)
      assert.is(script.headers.get('content-type'), 'text/javascript; charset=utf-8')
      assert.match(await script.text(), 'appr-ui', 'the bundled app')
    } finally {
      assert.is(await served.stop(), 0)
    }
  }
})

test('the built bin serves the assets npm run build wrote to dist/ui', async () => {
  const built = join(root, 'dist/ui/app.js')
  if (!existsSync(built) || !existsSync(join(root, 'dist/src/cli/main.js'))) {
    console.log('no build (run npm run build): the built UI is not checked')
    return
  }
  const served = await startServe(['--store', 'memory', '--port', '0', '--ui'], {}, { built: true })
  try {
    assert.is(await (await fetch(`${served.url}/ui/app.js`)).text(), readFileSync(built, 'utf8'))
    assert.is(await (await fetch(`${served.url}/ui/app.css`)).text(), readFileSync(join(root, 'dist/ui/app.css'), 'utf8'))
  } finally {
    assert.is(await served.stop(), 0)
  }
})

test.run()
