/**
 * `appr-core/client` in a browser: bundled by esbuild for `platform: 'browser'` (which fails on
 * any Node built-in in the import graph), then the cases of `behaviour.ts` run inside headless
 * Chromium (Debian's, driven by playwright-core through its `executablePath`) against a real
 * server; the page posts its results back to the harness.
 */
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chart } from '../http/helpers.js'
import { launchChromium } from '../helpers/chromium.js'
import { skipOrFail } from '../helpers/servers.js'
import { cases } from './behaviour.js'
import { startHarness } from './harness.js'

const root = new URL('../..', import.meta.url).pathname
const esbuild = await import('esbuild').catch(() => undefined)


async function bundle(entry: string, minify: boolean) {
  return esbuild!.build({ entryPoints: [join(root, entry)], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', minify, write: false, metafile: true, logLevel: 'silent' })
}

if (esbuild === undefined) {
  skipOrFail('client in the browser', 'needs esbuild importable (tsx brings it)')
} else {
  test('the client bundles for the browser with no Node built-ins, and stays small', async () => {
    const result = await bundle('src/client/index.ts', true)
    const inputs = Object.keys(result.metafile.inputs)
    assert.ok(inputs.some((i) => i.endsWith('src/client/client.ts')), 'the client is in the bundle')
    assert.equal(inputs.filter((i) => i.startsWith('node:') || i.includes('node_modules')), [], 'no Node built-ins or packages in the import graph')
    const code = result.outputFiles[0]!.contents
    const gzipped = gzipSync(code).byteLength
    console.log(`appr-core/client browser bundle: ${code.byteLength} bytes minified, ${gzipped} gzipped`)
    assert.ok(gzipped < 8 * 1024, `the gzipped client stays under 8 KiB (${gzipped})`)
  })

  test('the behaviour cases pass inside headless Chromium', async () => {
    const script = (await bundle('test/client/browser-entry.ts', false)).outputFiles[0]!.text
    let report: (value: unknown) => void = () => {}
    const reported = new Promise<unknown>((resolve) => {
      report = resolve
    })
    const server = await startHarness(async (request, url) => {
      if (url.pathname === '/test/index.html') {
        return new Response('<!doctype html><title>appr-core/client</title><script type="module" src="/test/bundle.js"></script>', {
          headers: { 'content-type': 'text/html' },
        })
      }
      if (url.pathname === '/test/bundle.js') return new Response(script, { headers: { 'content-type': 'text/javascript' } })
      const fixture = /^\/test\/chart\/([a-z]+)\/([0-9.]+)$/.exec(url.pathname)
      if (fixture) return new Response((await chart(fixture[1]!, fixture[2]!)) as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/gzip' } })
      if (url.pathname === '/test/results' && request.method === 'POST') {
        report(await request.json())
        return new Response('thanks')
      }
      return undefined
    })
    const browser = await launchChromium()
    if (browser === undefined) {
      await server.close({ timeoutMs: 1000 })
      skipOrFail('client in Chromium', 'needs chromium and playwright-core')
      return
    }
    const pageErrors: string[] = []
    try {
      const page = await browser.newPage()
      page.on('pageerror', (error) => pageErrors.push(error.message))
      await page.goto(`${server.url}/test/index.html`)
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('no results from Chromium within 90 s')), 90_000).unref())
      const outcome = (await Promise.race([reported, timeout])) as { userAgent: string; results: { name: string; ok: boolean; error?: string }[] }
      assert.match(outcome.userAgent, 'Chrome')
      const failed = outcome.results.filter((r) => !r.ok)
      assert.equal(pageErrors, [], 'no uncaught errors on the page')
      assert.equal(failed, [], 'every case passes in the browser')
      assert.equal(outcome.results.map((r) => r.name), cases.filter((c) => !c.nodeOnly).map((c) => c.name), 'every browser case ran')
    } finally {
      await browser.close()
      await server.close({ timeoutMs: 1000 })
    }
  })

  test.run()
}
