/**
 * Headless Chromium for the browser tests: Debian's `/usr/bin/chromium` driven by playwright-core
 * through its `executablePath`, with the flags this sandbox-less, offline container needs.
 */
import type { Browser } from 'playwright-core'
import { findBinary } from './servers.js'

/** Chromium flags that work in this sandbox-less, offline container (playwright adds headless and a fresh profile). */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** A headless Chromium, or undefined when chromium or playwright-core is missing. */
export async function launchChromium(): Promise<Browser | undefined> {
  const executablePath = findBinary('chromium')
  const playwright = await import('playwright-core').catch(() => undefined)
  if (executablePath === undefined || playwright === undefined) return undefined
  return playwright.chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS })
}
