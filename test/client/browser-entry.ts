/**
 * The page script of `browser.test.ts`: runs the browser-capable cases of `behaviour.ts` against
 * the harness that served the page, then posts the outcome to `/test/results`.
 */
import { cases, context } from './behaviour.js'

const origin = location.origin
const chart = async (name: string, version: string) => new Uint8Array(await (await fetch(`${origin}/test/chart/${name}/${version}`)).arrayBuffer())
const results: { name: string; ok: boolean; error?: string }[] = []
for (const c of cases) {
  if (c.nodeOnly) continue
  try {
    await c.run(context(origin, chart))
    results.push({ name: c.name, ok: true })
  } catch (error) {
    results.push({ name: c.name, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) })
  }
}
await fetch(`${origin}/test/results`, { method: 'POST', body: JSON.stringify({ userAgent: navigator.userAgent, results }) })
