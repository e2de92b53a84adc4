/**
 * The web UI's assets: `bundleUi` bundles `src/ui/app` with esbuild (a development dependency:
 * `npm run build` runs it through `scripts/build-ui.mjs` and writes `dist/ui/`), and
 * `loadUiAssets` reads that build, or bundles the sources when running from them (tests, `tsx`).
 * Node only; hand the result to `createHandler`'s `ui` option.
 * @module
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ApprError } from '../errors/index.js'
import type { UiAssets } from '../http/ui/routes.js'

const here = dirname(fileURLToPath(import.meta.url))
/** This module runs as `<root>/src/ui/bundle.ts` (sources) or `<root>/dist/src/ui/bundle.js` (the build). */
const built = here.endsWith(`${sep}dist${sep}src${sep}ui`)
const root = resolve(here, built ? '../../..' : '../..')

/** Where `npm run build` puts the assets. */
export const UI_BUILD_DIR = join(root, 'dist', 'ui')

/**
 * Bundles the app from `src/ui/app` for the browser (minified ES module and stylesheet).
 * @throws ApprError `unsupported` when esbuild or the sources are not there (an installed package)
 */
export async function bundleUi(): Promise<UiAssets> {
  const entry = join(root, 'src', 'ui', 'app', 'main.ts')
  // A specifier in a variable: esbuild is a development dependency, absent from installs.
  const name = 'esbuild'
  const esbuild = (await import(name).catch(() => undefined)) as typeof import('esbuild') | undefined
  if (esbuild === undefined || !existsSync(entry)) {
    throw new ApprError('unsupported', 'the web UI is not built: run `npm run build` (bundling it needs esbuild and the sources)')
  }
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  })
  const style = await esbuild.transform(await readFile(join(root, 'src', 'ui', 'app', 'style.css'), 'utf8'), { loader: 'css', minify: true })
  return { script: result.outputFiles[0]!.text, style: style.code }
}

/**
 * The assets to serve: the build's (`dist/ui/`) when this module runs from `dist/`, else a fresh
 * bundle of the sources.
 * @throws ApprError `unsupported` when neither is available
 */
export async function loadUiAssets(): Promise<UiAssets> {
  if (!built) return bundleUi()
  try {
    const [script, style] = await Promise.all([readFile(join(UI_BUILD_DIR, 'app.js'), 'utf8'), readFile(join(UI_BUILD_DIR, 'app.css'), 'utf8')])
    return { script, style }
  } catch (cause) {
    throw new ApprError('unsupported', `the web UI is not built (${UI_BUILD_DIR} is missing): run \`npm run build\``, { cause })
  }
}
