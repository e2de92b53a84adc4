// Rewrites the serve option table in docs/cli.md (between the serve-options markers) from
// src/cli/config/serve-options.ts, after an option was added or changed:
//   node --conditions=source --import tsx scripts/render-serve-options.ts
import { readFileSync, writeFileSync } from 'node:fs'
import { markdownTable } from '../src/cli/config/render.js'
import { serveOptions } from '../src/cli/config/serve-options.js'

const path = new URL('../docs/cli.md', import.meta.url)
const docs = readFileSync(path, 'utf8')
const markers = /(<!-- serve-options:start -->\n)[\s\S]*?(<!-- serve-options:end -->)/
if (!markers.test(docs)) throw new Error('docs/cli.md has no serve-options markers')
writeFileSync(path, docs.replace(markers, (_, start: string, end: string) => `${start}${markdownTable(serveOptions)}\n${end}`))
