/** Shared helpers of the trust tests: a source registry served over HTTP and a tampering proxy in front of it. */
import { type IncomingMessage, type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { chart, start } from '../http/helpers.js'

/** What the proxy passes to a tamper function: the request, and the source's answer. */
export interface Exchange {
  readonly method: string
  /** Path and query, as the mirror asked for them. */
  readonly path: string
  readonly status: number
  readonly body: Buffer
}

/** Returns the body to send instead of the source's, or undefined to pass it through. */
export type Tamper = (exchange: Exchange) => Buffer | undefined | Promise<Buffer | undefined>

/** A real HTTP server between the mirror and the source, counting and optionally rewriting answers. */
export interface TamperingProxy {
  readonly url: string
  /** Every request path, in order of arrival. */
  readonly requests: string[]
  /** Most requests in flight at once so far. */
  readonly maxInFlight: () => number
  tamper: Tamper | undefined
  /**
   * For an exchange it returns a number n: the proxy sends the headers (the full length) and the
   * first n bytes of the body, then nothing more, keeping the connection open until it closes.
   */
  stall: ((exchange: Exchange) => number | undefined) | undefined
  close(): Promise<void>
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of req) parts.push(part as Buffer)
  return Buffer.concat(parts)
}

/** Starts a proxy to `target` on a free loopback port. */
export async function tamperingProxy(target: string): Promise<TamperingProxy> {
  let inFlight = 0
  let most = 0
  const requests: string[] = []
  const proxy: TamperingProxy = {
    url: '',
    requests,
    maxInFlight: () => most,
    tamper: undefined,
    stall: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  const server: Server = createServer(async (req, res) => {
    inFlight++
    most = Math.max(most, inFlight)
    requests.push(req.url ?? '')
    try {
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req)
      const answer = await fetch(`${target}${req.url}`, { method: req.method ?? 'GET', ...(body && { body: new Uint8Array(body) }), headers: { 'content-type': req.headers['content-type'] ?? 'application/json' } })
      const original = Buffer.from(await answer.arrayBuffer())
      const sent = (await proxy.tamper?.({ method: req.method ?? 'GET', path: req.url ?? '', status: answer.status, body: original })) ?? original
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream', 'content-length': sent.length })
      const stallAt = proxy.stall?.({ method: req.method ?? 'GET', path: req.url ?? '', status: answer.status, body: sent })
      if (stallAt === undefined) res.end(sent)
      else res.write(sent.subarray(0, stallAt))
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(String(error))
    } finally {
      inFlight--
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  ;(proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return proxy
}

/** Flips one bit of the byte at `index` (from the end when negative). */
export function flip(bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes)
  const at = index < 0 ? copy.length + index : index
  copy[at]! ^= 0x01
  return copy
}

/**
 * A source registry with packages over several namespaces, releases with several formats and
 * metadata, and channels; served over node:http on a free port.
 */
export async function sourceRegistry(): Promise<{ registry: Registry; url: string; close(): Promise<void> }> {
  let now = Date.parse('2025-06-01T00:00:00Z')
  const registry = new Registry({
    store: memoryStore(),
    clock: () => {
      now += 60_000
      return new Date(now)
    },
  })
  const push = async (pkg: string, release: string, format: string, metadata?: unknown) =>
    registry.push({ package: pkg, release, format, blob: await chart(`${pkg.split('/')[1]}-${format}`, release), metadata })
  await push('acme/alpha', '1.0.0', 'helm', { team: 'web', é: 1.5 })
  await push('acme/alpha', '1.1.0', 'helm')
  await push('acme/alpha', '1.1.0', 'kpm', { note: 'kpm flavour' })
  await push('acme/beta', '2.0.0-rc.1', 'helm')
  await push('acme/beta', '1.9.0', 'helm')
  await push('other/gamma', '0.1.0', 'kpm')
  await registry.channels.add('acme/alpha', 'stable', '1.1.0')
  await registry.channels.add('acme/alpha', 'stable', '1.0.0')
  await registry.channels.add('acme/alpha', 'beta', '1.1.0')
  await registry.channels.add('acme/beta', 'next', '2.0.0-rc.1')
  await registry.channels.add('other/gamma', 'dev', '0.1.0')
  const server = await start(registry)
  return { registry, url: server.url, close: () => server.close() }
}

/** A backup without timestamps' order mattering: packages and channels sorted, for equality checks. */
export async function sortedBackup(registry: Registry): Promise<unknown> {
  const doc = await registry.backup()
  const key = (p: { package: string; release: string; mediaType: string }) => `${p.package} ${p.release} ${p.mediaType}`
  return {
    packages: [...doc.packages].sort((a, b) => key(a).localeCompare(key(b))).map((p) => ({ ...p, channels: [...p.channels].sort() })),
    channels: [...doc.channels].sort((a, b) => `${a.package} ${a.name}`.localeCompare(`${b.package} ${b.name}`)),
  }
}

/** {@link sortedBackup} without `created_at`: what a copy through pushes keeps (the destination stamps its own). */
export async function backupWithoutTimestamps(registry: Registry): Promise<unknown> {
  const doc = (await sortedBackup(registry)) as { packages: { created_at?: string }[] }
  return { ...doc, packages: doc.packages.map(({ created_at: _, ...p }) => p) }
}
