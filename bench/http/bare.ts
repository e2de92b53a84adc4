/**
 * The bare server of the HTTP bench: `node:http` doing the minimum each appr operation needs on
 * the same kind of store, with the same bytes on the wire as `appr-core serve` and the raw
 * baselines' key layout (bench/lib/raw.ts). No validation, no digests, no appr semantics:
 *
 * - push (`POST /api/v1/packages/ns/name`): read the body, JSON.parse it, base64-decode the
 *   blob, one atomic write of as many keys as the registry's push writes
 * - pull (`…/default/helm/pull`): read the manifest record and the blob, send the blob
 * - show (`…/default/helm`): read the manifest record, send it
 * - list (`GET /api/v1/packages?namespace=ns`): one range read of that namespace's records,
 *   sent as one JSON array
 * - channel add (`POST …/channels/c/1.0.0`): read the manifest record, write the channel record
 *
 * On level, as `serve --store level:` does, blob bytes are files beside the database (written to
 * a temporary name and renamed, read whole), and the other keys go to LevelDB.
 *
 * Forked by bench/sections/http.ts with its job as JSON in argv[2]; answers `{type: 'listening',
 * port}` over IPC once it listens, and stops on SIGTERM.
 */
import { mkdirSync } from 'node:fs'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { memoryStore } from '../../adapters/memory/index.js'
import { kvRaw, levelRaw, manifestRecord, type RawDriver, type RawPut } from '../lib/raw.js'

/** Where the bare server keeps its data. */
export type BareStore =
  | { readonly kind: 'memory' }
  | { readonly kind: 'level'; readonly path: string; readonly blobs: string }
  | { readonly kind: 'redis'; readonly url: string }
  | { readonly kind: 'etcd'; readonly endpoints: readonly string[] }

export interface BareJob {
  readonly store: BareStore
  /** Keys one push writes (the registry's count), so both servers write as many. */
  readonly keysPerPush: number
}

async function open(store: BareStore): Promise<RawDriver> {
  switch (store.kind) {
    case 'memory':
      return kvRaw(memoryStore())
    case 'level':
      return levelRaw(store.path)
    case 'redis':
      return (await import('../lib/raw-redis.js')).redisRaw(store.url)
    case 'etcd':
      return (await import('../lib/raw-etcd.js')).etcdRaw([...store.endpoints])
  }
}

const encoder = new TextEncoder()
const VERSION = encoder.encode('{"appr-api":"bare"}')
const OK = encoder.encode('{"status":"ok"}')
const small = encoder.encode('{"releases":["1.0.0"],"formats":["helm"]}')
const PACKAGES = '/api/v1/packages'

function send(res: ServerResponse, status: number, type: string, body: Uint8Array): void {
  res.writeHead(status, { 'content-type': type, 'content-length': body.byteLength })
  res.end(body)
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Blob bytes as files in `dir` (level), or as keys of the driver (every other store). */
function blobPlace(driver: RawDriver, dir: string | undefined) {
  if (dir === undefined) {
    return {
      /** Of the registry's keys per push, how many are files here instead of driver keys. */
      keys: 0,
      put: (key: string, value: Uint8Array): RawPut[] => [{ key, value }],
      get: (key: string) => driver.get(key),
      write: async (_key: string, _value: Uint8Array) => {},
    }
  }
  mkdirSync(dir, { recursive: true })
  const file = (key: string) => join(dir, encodeURIComponent(key))
  return {
    keys: 1,
    put: (): RawPut[] => [],
    get: (key: string): Promise<Uint8Array | undefined> => readFile(file(key)).catch(() => undefined),
    async write(key: string, value: Uint8Array) {
      await writeFile(`${file(key)}.tmp`, value)
      await rename(`${file(key)}.tmp`, file(key))
    },
  }
}

async function main(job: BareJob): Promise<void> {
  const driver = await open(job.store)
  const blobs = blobPlace(driver, job.store.kind === 'level' ? job.store.blobs : undefined)
  const m = (pkg: string) => `m/${pkg}/1.0.0/helm`
  const b = (pkg: string) => `b/${pkg}`
  const p = (pkg: string) => `p/${pkg}`

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/'
    if (url === '/version') return send(res, 200, 'application/json', VERSION)
    if (req.method === 'GET' && url.startsWith(`${PACKAGES}?namespace=`)) {
      const ns = url.slice(PACKAGES.length + '?namespace='.length)
      const rows = await driver.scan(`p/${ns}/`, `p/${ns}/`, 1000)
      const parts: Uint8Array[] = [encoder.encode('[')]
      for (const [k, row] of rows.entries()) parts.push(k === 0 ? row : Buffer.concat([encoder.encode(','), row]))
      parts.push(encoder.encode(']'))
      return send(res, 200, 'application/json', Buffer.concat(parts))
    }
    // /api/v1/packages/ns/name[/…]
    const segments = url.slice(PACKAGES.length + 1).split('/')
    const pkg = `${segments[0]}/${segments[1]}`
    if (req.method === 'POST' && segments.length === 2) {
      const body = JSON.parse((await readAll(req)).toString('utf8')) as { blob: string }
      const blob = Buffer.from(body.blob, 'base64')
      if (!driver.conditional && (await driver.get(m(pkg))) !== undefined) return send(res, 409, 'application/json', encoder.encode('{"code":"package-exists"}'))
      await blobs.write(b(pkg), blob)
      const puts: RawPut[] = [
        ...blobs.put(b(pkg), blob),
        { key: m(pkg), value: manifestRecord(0, blob.byteLength) },
        { key: p(pkg), value: small },
      ]
      // The registry's count includes the blob's own key, which on level is the file.
      for (let k = puts.length; k < job.keysPerPush - blobs.keys; k++) puts.push({ key: `x/${pkg}/${k}`, value: small })
      await driver.write(puts, m(pkg))
      return send(res, 200, 'application/json', OK)
    }
    if (req.method === 'POST' && segments[2] === 'channels') {
      if ((await driver.get(m(pkg))) === undefined) return send(res, 404, 'application/json', encoder.encode('{"code":"package-not-found"}'))
      const record = encoder.encode(`{"name":"${segments[3]}","current":"1.0.0","releases":["1.0.0"]}`)
      await driver.write([{ key: `c/${pkg}/${segments[3]}`, value: record }])
      return send(res, 200, 'application/json', record)
    }
    const manifest = await driver.get(m(pkg))
    if (manifest === undefined) return send(res, 404, 'application/json', encoder.encode('{"code":"package-not-found"}'))
    if (segments[4] === 'pull') {
      const blob = await blobs.get(b(pkg))
      if (blob === undefined) return send(res, 404, 'application/json', encoder.encode('{"code":"package-not-found"}'))
      return send(res, 200, 'application/x-gzip', blob)
    }
    return send(res, 200, 'application/json', manifest)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`bare server: ${error instanceof Error ? error.stack : String(error)}\n`)
      if (!res.headersSent) send(res, 500, 'text/plain', encoder.encode('error'))
      else res.destroy()
    })
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    process.send!({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 })
  })
  process.once('SIGTERM', () => {
    server.close()
    server.closeAllConnections()
    driver.close().finally(() => process.exit(0))
  })
}

await main(JSON.parse(process.argv[2]!) as BareJob)
