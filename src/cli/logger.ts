/**
 * The server's logger: pino, JSON lines on stdout with an ISO `time` and the level by name, so
 * request lines, start-up, shutdown and errors all read the same way. Created by `serve` and
 * handed to whatever logs (no global logger).
 * @module
 */
import { pino } from 'pino'

/** Levels `--log-level` accepts, most severe first (`silent` logs nothing). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/**
 * Field names whose values are never written, wherever a caller puts them: request lines carry
 * no headers, but a line logged later with more context must not leak a credential either.
 */
const REDACTED = ['authorization', 'token', 'password', 'secret', 'cookie']
const redactPaths = [...REDACTED, ...REDACTED.map((name) => `*.${name}`), ...REDACTED.map((name) => `*.headers.${name}`)]

/** A logger and the way to write out what it still buffers (call before the process exits). */
export interface ServerLogger {
  readonly logger: pino.Logger
  flush(): void
}

/**
 * A logger writing to file descriptor `fd` (default 1, stdout). Writes are asynchronous and
 * coalesced while one is in flight: under load one write(2) carries many request lines.
 */
export function createLogger(level: LogLevel, fd = 1): ServerLogger {
  const destination = pino.destination({ dest: fd, sync: false })
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: '[redacted]' },
    },
    destination,
  )
  return {
    logger,
    flush() {
      try {
        destination.flushSync()
      } catch {
        // Not ready yet (nothing written) or the stream is gone: nothing to flush.
      }
    },
  }
}
