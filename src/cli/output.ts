/**
 * What the commands print: JSON on stdout, sizes, a package's own manifest, and progress of
 * transfers on stderr; and how downloaded bytes are read as Node streams.
 * @module
 */
import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import type { PackageManifestInfo } from '../archive/inspect.js'

/** Writes `value` as JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** Human-readable size. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

/** Archive limits for what a client downloads: any size (the registry already accepted it); the path rules still apply. */
export const DOWNLOAD_LIMITS = {
  maxCompressedBytes: Number.POSITIVE_INFINITY,
  maxUncompressedBytes: Number.POSITIVE_INFINITY,
  maxEntryBytes: Number.POSITIVE_INFINITY,
} as const

/** A downloaded body (a web stream from the client) as a Node stream. */
export function nodeReadable(body: ReadableStream<Uint8Array>): Readable {
  return Readable.fromWeb(body as NodeReadableStream<Uint8Array>)
}

/** Transfers at least this large show progress on stderr. */
const PROGRESS_FROM_BYTES = 1024 * 1024

/**
 * Progress of a transfer on stderr: a line rewritten in place on a terminal, a line per 25%
 * otherwise; nothing for transfers under 1 MiB (when the total is known). `update` takes the
 * bytes moved so far, as the client's progress callbacks report them.
 */
export function progress(label: string, total: number | undefined): { update(loaded: number): void; done(): void } {
  const tty = process.stderr.isTTY === true
  let sent = 0
  let lastShown = -1
  const show = (final: boolean) => {
    const pct = total ? Math.floor((sent / total) * 100) : undefined
    // Only redraw when the visible step changes: each percent on a terminal, each quarter (or 10 MiB) in a log.
    const step = pct !== undefined ? (tty ? pct : Math.floor(pct / 25)) : Math.floor(sent / (tty ? PROGRESS_FROM_BYTES : 10 * PROGRESS_FROM_BYTES))
    if (!final && step === lastShown) return
    lastShown = step
    const text = `${label} ${formatBytes(sent)}${total ? ` / ${formatBytes(total)} (${pct}%)` : ''}`
    process.stderr.write(tty ? `\r${text}${final ? '\n' : ''}` : `${text}\n`)
  }
  const enabled = total === undefined ? true : total >= PROGRESS_FROM_BYTES
  return {
    update(loaded) {
      sent = loaded
      if (enabled && (total !== undefined || sent >= PROGRESS_FROM_BYTES)) show(false)
    },
    done() {
      if (enabled && sent >= PROGRESS_FROM_BYTES) show(true)
    },
  }
}

/** The lines describing a package's own manifest (Chart.yaml fields), for human output. */
export function manifestLines(m: PackageManifestInfo): string[] {
  const lines = [`manifest    ${m.path} (${m.kind})`]
  if (m.error !== undefined) lines.push(`  error       ${m.error}`)
  for (const [label, value] of [
    ['name', m.name],
    ['version', m.version],
    ['appVersion', m.appVersion],
    ['description', m.description],
  ] as const) {
    if (value !== undefined) lines.push(`  ${label.padEnd(11)} ${value}`)
  }
  for (const d of m.dependencies ?? []) lines.push(`  dependency  ${d.name}${d.version ? ` ${d.version}` : ''}${d.repository ? ` (${d.repository})` : ''}`)
  return lines
}
