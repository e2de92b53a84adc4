#!/usr/bin/env node
// Bundles the web UI (src/ui/app) into dist/ui/app.js and app.css after `tsc` (`npm run build`),
// and prints their sizes, raw and gzipped. Uses the compiled bundler in dist/.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { UI_BUILD_DIR, bundleUi } from '../dist/src/ui/bundle.js'

const assets = await bundleUi()
mkdirSync(UI_BUILD_DIR, { recursive: true })
for (const [file, text] of [['app.js', assets.script], ['app.css', assets.style]]) {
  writeFileSync(join(UI_BUILD_DIR, file), text)
  console.log(`dist/ui/${file}: ${Buffer.byteLength(text)} bytes, ${gzipSync(text).byteLength} gzipped`)
}
