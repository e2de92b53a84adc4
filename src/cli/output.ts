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

/** Where progress goes: stderr, or a stand-in (tests). */
export interface ProgressStream {
  readonly isTTY?: boolean
  readonly columns?: number
  write(text: string): unknown
}

/** A progress display: `update` takes the bytes moved so far; `done` ends it (once). */
export interface ProgressBar {
  update(loaded: number): void
  done(): void
}

/** Seconds as `42s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/**
 * Progress of a transfer (or of packing or checking a large input) on stderr, with its rate and,
 * when the total is known, the time left. On a terminal, one line redrawn in place (carriage
 * return, then clear to the end of the line, cut to the terminal's width so it never wraps),
 * at most every 200 ms and on each new percent. Elsewhere (a log, a pipe), a line at each
 * quarter and a final line, never the same line twice. Nothing for transfers under 1 MiB.
 */
export function progress(
  label: string,
  total: number | undefined,
  options: { readonly stream?: ProgressStream; readonly now?: () => number } = {},
): ProgressBar {
  const stream = options.stream ?? process.stderr
  const now = options.now ?? Date.now
  const tty = stream.isTTY === true
  const started = now()
  let sent = 0
  let drawnAt = Number.NEGATIVE_INFINITY
  let lastStep = -1
  let finished = false
  const big = () => (total ?? sent) >= PROGRESS_FROM_BYTES
  const rate = (at: number) => {
    const seconds = (at - started) / 1000
    return seconds > 0 ? sent / seconds : undefined
  }
  const line = (at: number, final: boolean): string => {
    const perSecond = rate(at)
    const parts = [label, total === undefined ? formatBytes(sent) : `${formatBytes(sent)} / ${formatBytes(total)}`]
    if (total !== undefined && total > 0) parts.push(`${Math.floor((sent / total) * 100)}%`)
    if (perSecond !== undefined) parts.push(`${formatBytes(Math.round(perSecond))}/s`)
    if (final) parts.push(`in ${formatDuration((at - started) / 1000)}`)
    else if (total !== undefined && perSecond !== undefined && perSecond > 0) parts.push(`ETA ${formatDuration((total - sent) / perSecond)}`)
    return parts.join('  ')
  }
  const draw = (text: string, final: boolean) => {
    if (!tty) {
      stream.write(`${text}\n`)
      return
    }
    const width = stream.columns !== undefined && stream.columns > 1 ? stream.columns - 1 : text.length
    stream.write(`\r${text.slice(0, width)}\x1b[K${final ? '\n' : ''}`)
  }
  return {
    update(loaded) {
      if (finished) return
      sent = loaded
      if (!big()) return
      const at = now()
      if (tty) {
        const pct = total ? Math.floor((sent / total) * 100) : -1
        if (pct === lastStep && at - drawnAt < 200) return
        lastStep = pct
        drawnAt = at
        draw(line(at, false), false)
        return
      }
      // A log gets a line per quarter of a known total (never the 100% one: done() says it), or per 10 MiB.
      const step = total ? Math.floor((sent / total) * 4) : Math.floor(sent / (10 * PROGRESS_FROM_BYTES))
      if (step === lastStep || step === 0 || (total !== undefined && step >= 4)) return
      lastStep = step
      draw(line(at, false), false)
    },
    done() {
      if (finished) return
      finished = true
      if (big()) draw(line(now(), true), true)
    },
  }
}

/** Passes `source` on, telling `bar` the running byte count (for packing and checking large inputs). */
export async function* counting(source: AsyncIterable<Uint8Array>, bar: ProgressBar): AsyncGenerator<Uint8Array> {
  let loaded = 0
  for await (const chunk of source) {
    loaded += chunk.byteLength
    bar.update(loaded)
    yield chunk
  }
  bar.done()
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
