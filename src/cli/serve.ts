/**
 * `appr-core serve`: a standalone appr registry over HTTP on one of the bundled stores.
 * @module
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ApprError, isApprError } from '../errors/index.js'
import { coreOf, withCore } from '../http/core.js'
import { createHandler } from '../http/handler.js'
import { serve } from '../http/node.js'
import { parseTokens, scopedTokens, type TokenSpec } from '../http/tokens.js'
import { createMetrics, type Metrics } from '../metrics/index.js'
import type { UiAssets } from '../http/ui/routes.js'
import { scheduleGc } from '../registry/gc-schedule.js'
import { Registry } from '../registry/registry.js'
import type { SignaturePolicy } from '../registry/types.js'
import type { BlobStore } from '../storage/blob.js'
import type { KvStore } from '../storage/kv.js'
import { loadUiAssets } from '../ui/bundle.js'
import { keySet } from '../trust/keys.js'
import { ConfigError, type Resolved, resolveOptions } from './config/resolve.js'
import { usageLines } from './config/render.js'
import { serveOptions } from './config/serve-options.js'
import { startWebhooks, type WebhookDeliverer, type WebhookEndpoint } from '../webhooks/deliver.js'
import { createLogger } from './logger.js'
import { reachStore } from './store-probe.js'

export const usage = `Usage: appr-core serve [options]

Runs an appr registry (the App Registry API v1, as the appr client and Helm's registry
plugin speak it) under /cnr and at the root.

Every option may also come from an environment variable or from the config file (its key is
the flag's name); a flag wins over the environment, the environment over the file.

Options:
  --config <file>         YAML (or JSON) file of options (env APPR_CONFIG)
${usageLines(serveOptions)}
  -h, --help              this text

GET /healthz (the process runs) and GET /readyz (the store answers within 2 s; 503 with
the reason otherwise, and while shutting down) are served at the root, without credentials.
Logs JSON lines on stdout: one per request (request id, route, status, principal; 5xx at
error with the error's code; never a header or a body; X-Request-Id is honoured and echoed),
start-up and shutdown. The store must answer at start, or serve exits 1.
SIGINT/SIGTERM stop accepting connections, let in-flight requests finish, close the store.
`

/** A store spec from the command line, opened. */
export interface OpenedStore {
  readonly store: KvStore
  /** Where blob bytes go when not in `store` (level: plain files beside the database). */
  readonly blobs?: BlobStore
  /** The spec without credentials, for logs. */
  readonly label: string
}

const unavailable = (what: string, module: string, cause: unknown): ApprError =>
  new ApprError('unsupported', `the ${what} store is not available in this build of appr-core (${module} is missing)`, { cause })

/**
 * Imports an adapter module. A missing driver package is the adapter's own `unsupported` error
 * ("npm install ioredis"), passed through; a missing adapter module means a partial build.
 */
async function loadAdapter(module: string, what: string): Promise<Record<string, unknown>> {
  try {
    return (await import(module)) as Record<string, unknown>
  } catch (cause) {
    if (isApprError(cause)) throw cause
    const code = (cause as { code?: unknown }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw unavailable(what, module, cause)
    throw cause
  }
}

async function loadFactory(module: string, exportName: string, what: string): Promise<(options: object) => KvStore | Promise<KvStore>> {
  const mod = await loadAdapter(module, what)
  const factory = mod[exportName]
  if (typeof factory !== 'function') throw unavailable(what, `${module}#${exportName}`, undefined)
  return factory as (options: object) => KvStore | Promise<KvStore>
}

/**
 * Opens a store from its command-line spec. Adapters are imported on demand, so a build or
 * install without one fails with a clear message only when that store is asked for.
 * @throws invalid-parameters for an unknown spec, unsupported when the adapter is missing
 */
export async function openStore(spec: string): Promise<OpenedStore> {
  if (spec === 'memory') {
    const memoryStore = await loadFactory('appr-core/adapters/memory', 'memoryStore', 'memory')
    return { store: await memoryStore({}), label: 'memory' }
  }
  if (spec === 'level' || spec.startsWith('level:')) {
    const path = spec === 'level' ? './appr-data' : spec.slice('level:'.length)
    if (path === '') throw new ApprError('invalid-parameters', 'level:<dir> needs a directory')
    // A specifier in a variable: the build must not resolve the package's own dist output.
    const levelModule = 'appr-core/adapters/level'
    const level = (await loadAdapter(levelModule, 'level')) as typeof import('../../adapters/level/index.js')
    // Records in LevelDB under <dir>/kv, blob bytes as files under <dir>/blobs: LevelDB maps its
    // tables into memory, so blobs kept inside it would make RSS grow with every large pull.
    const store = level.levelStore({ path: join(path, 'kv') })
    // Fail now, not on the first request, when another process holds the directory.
    await store.open()
    return { store, blobs: level.fileBlobStore({ path: join(path, 'blobs') }), label: `level:${path}` }
  }
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) {
    const redisStore = await loadFactory('appr-core/adapters/redis', 'redisStore', 'redis')
    const url = new URL(spec)
    url.password = url.password ? '***' : ''
    return { store: await redisStore({ url: spec }), label: url.toString() }
  }
  if (spec.startsWith('etcd://')) {
    const hosts = spec
      .slice('etcd://'.length)
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '')
      .map((h) => `http://${h.replace(/\/+$/, '')}`)
    if (hosts.length === 0) throw new ApprError('invalid-parameters', 'etcd:// needs at least one host:port')
    const etcdStore = await loadFactory('appr-core/adapters/etcd', 'etcdStore', 'etcd')
    return { store: await etcdStore({ hosts }), label: `etcd://${hosts.map((h) => h.slice(7)).join(',')}` }
  }
  throw new ApprError('invalid-parameters', `unknown store '${spec}' (expected level:<dir>, memory, redis://… or etcd://…)`)
}

/**
 * Opens a BlobStore from its command-line spec: `oci://[user:pass@]host[:port]/<repository>`
 * (https) or `oci+http://…`.
 * @throws invalid-parameters for an unknown or malformed spec
 */
export async function openBlobs(spec: string): Promise<{ readonly blobs: BlobStore; readonly label: string }> {
  const m = /^oci(\+http)?:\/\/([^/]+)\/(.+)$/.exec(spec)
  if (!m) throw new ApprError('invalid-parameters', `unknown blob store '${spec.replace(/\/\/[^@/]*@/, '//***@')}' (expected oci://host[:port]/<repository> or oci+http://…)`)
  const url = new URL(`${m[1] ? 'http' : 'https'}://${m[2]}`)
  const auth = url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : undefined
  // A specifier in a variable, as for the adapters: loaded only when asked for.
  const ociModule = 'appr-core/oci'
  const { ociBlobStore } = (await import(ociModule)) as typeof import('../oci/index.js')
  const blobs = ociBlobStore({ url: `${url.protocol}//${url.host}`, repository: m[3]!, ...(auth ? { auth } : {}) })
  return { blobs, label: `oci${m[1] ?? ''}://${url.host}/${m[3]}` }
}

/**
 * `--signature-policy ns=push:a.pub,b.pub` flags as {@link RegistryOptions.signaturePolicies};
 * every key is read and checked here, so a bad one stops the server before it starts.
 */
export function readPolicies(flags: readonly string[]): Record<string, SignaturePolicy> | undefined {
  if (flags.length === 0) return undefined
  const policies: Record<string, SignaturePolicy> = Object.create(null)
  for (const flag of flags) {
    const m = /^([^=]+)=(push|channel):(.+)$/.exec(flag)
    if (!m) throw new Error(`--signature-policy '${flag}': expected <namespace>=<push|channel>:<key file>[,<key file>…]`)
    const [, namespace, require, files] = m as unknown as [string, string, 'push' | 'channel', string]
    const keys = files.split(',').map((path) => {
      try {
        return readFileSync(path, 'utf8')
      } catch (error) {
        throw new Error(`--signature-policy: cannot read ${path}: ${(error as Error).message}`)
      }
    })
    try {
      keySet(keys)
    } catch (error) {
      throw new Error(`--signature-policy ${namespace}: ${(error as Error).message}`)
    }
    policies[namespace] = { keys, require }
  }
  return policies
}

/**
 * The tokens serve checks: `--token` (every scope) and those of the `--tokens` file.
 * @throws Error naming the file when it cannot be read or is not a tokens file
 */
export async function readTokens(token: string | undefined, file: string | undefined): Promise<TokenSpec[]> {
  const tokens: TokenSpec[] = token === undefined ? [] : [{ name: 'token', token, scopes: ['admin'] }]
  if (file === undefined) return tokens
  let listed: TokenSpec[]
  try {
    listed = parseTokens(parseYaml(await readFile(file, 'utf8')))
  } catch (error) {
    throw new Error(`--tokens ${file}: ${(error as Error).message.split('\n')[0]}`)
  }
  if (token !== undefined && listed.some((t) => t.name === 'token')) throw new Error(`--tokens ${file}: the name 'token' is taken by --token`)
  return [...tokens, ...listed]
}

/** Runs the server until SIGINT/SIGTERM; resolves with the exit code. */
export async function run(args: string[]): Promise<number> {
  let config: Resolved<typeof serveOptions>
  try {
    config = await resolveOptions(serveOptions, args, process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`appr-core serve: ${error.message}\n${error.key === 'arguments' ? `\n${usage}` : ''}`)
    return 2
  }
  if (config.help) {
    process.stdout.write(usage)
    return 0
  }
  const options = config.values
  const { host, port, token } = options
  let signaturePolicies: Record<string, SignaturePolicy> | undefined
  try {
    signaturePolicies = readPolicies(options.signaturePolicy)
  } catch (error) {
    process.stderr.write(`appr-core serve: ${(error as Error).message}\n`)
    return 2
  }
  const { logger, requestLogger, flush } = createLogger(options.logLevel)
  const metrics: Metrics | undefined = options.metrics ? createMetrics() : undefined
  let tokens: TokenSpec[]
  try {
    tokens = await readTokens(token, options.tokens)
    if (options.privateReads && tokens.length === 0) throw new Error('--private-reads needs --token or --tokens: nobody could read')
  } catch (error) {
    process.stderr.write(`appr-core serve: ${(error as Error).message}\n`)
    return 2
  }
  const spec = options.store
  const blobsSpec = options.blobs
  let opened: OpenedStore
  try {
    opened = await reachStore({
      waitMs: options.waitForStore,
      async open() {
        const main = await openStore(spec)
        if (!blobsSpec) return main
        const other = await openBlobs(blobsSpec).catch(async (error: unknown) => {
          await main.store.close()
          throw error
        })
        return { store: main.store, blobs: other.blobs, label: `${main.label} + ${other.label}` }
      },
      onRetry: (reason, attempt, delayMs) => logger.warn({ store: storeLabel(spec), attempt, retryInMs: delayMs, reason }, 'store not reachable yet'),
    })
  } catch (error) {
    const reason = isApprError(error) ? error.message : String(error)
    const unreachable = isApprError(error, 'unavailable')
    logger.error({ store: storeLabel(spec), reason }, unreachable ? 'store unreachable' : 'cannot open the store')
    flush()
    process.stderr.write(
      unreachable
        ? `appr-core serve: cannot reach the store ${storeLabel(spec)}: ${reason}\n  (start it, check --store, or pass --wait-for-store <duration> to keep retrying)\n`
        : `appr-core serve: ${reason}\n`,
    )
    return 1
  }
  if (metrics) {
    // level keeps its blobs in files beside the database; --blobs puts them in an OCI registry.
    const blobLabel = blobsSpec ? 'oci' : 'file'
    opened = { store: metrics.store(opened.store), label: opened.label, ...(opened.blobs && { blobs: metrics.blobs(opened.blobs, blobLabel) }) }
  }
  const webhooksFile = options.webhooks
  const events = options.events || webhooksFile !== undefined
  let endpoints: WebhookEndpoint[] = []
  try {
    if (webhooksFile !== undefined) endpoints = JSON.parse(await readFile(webhooksFile, 'utf8')) as WebhookEndpoint[]
    if (!Array.isArray(endpoints)) throw new Error('expected a JSON array of webhooks')
  } catch (error) {
    await opened.store.close().catch(() => {})
    process.stderr.write(`appr-core serve: --webhooks ${webhooksFile}: ${(error as Error).message}\n`)
    return 2
  }
  let ui: UiAssets | undefined
  if (options.ui) {
    try {
      ui = await loadUiAssets()
    } catch (error) {
      await opened.store.close().catch(() => {})
      process.stderr.write(`appr-core serve: --ui: ${isApprError(error) ? error.message : String(error)}\n`)
      return 1
    }
  }
  const registry = new Registry({
    store: opened.store,
    ...(opened.blobs && { blobs: opened.blobs }),
    maxRetries: options.maxRetries,
    uploadTimeoutMs: options.uploadTimeout,
    cacheEntries: options.cacheEntries,
    blobCacheBytes: options.blobCacheBytes,
    limits: {
      maxCompressedBytes: options.maxCompressedBytes,
      maxUncompressedBytes: options.maxUncompressedBytes,
      maxRatio: options.maxRatio,
      maxEntries: options.maxEntries,
      maxEntryBytes: options.maxEntryBytes,
      maxPathLength: options.maxPathLength,
    },
    ...(signaturePolicies && { signaturePolicies }),
    ...(events && { events: true }),
    ...(metrics && { onMutation: metrics.onMutation }),
  })
  metrics?.caches(registry)
  let stopping = false
  const handler = createHandler(registry, {
    ...(events ? { events: true } : {}),
    ...(ui ? { ui } : {}),
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.apiVersion !== undefined ? { version: options.apiVersion } : {}),
    cors: options.cors,
    maxBodyBytes: options.maxBody,
    ...(tokens.length > 0 ? scopedTokens(tokens, { privateReads: options.privateReads }) : {}),
    // Admin routes need a token with the admin scope; without tokens nobody can call them.
    admin: true,
    ...(options.ociAuth !== undefined ? { ociAuth: { challenge: options.ociAuth } } : {}),
    ociChunkMinLength: options.ociChunkMin,
    ...(metrics ? { metrics } : {}),
    logger: requestLogger,
    health: {
      // A draining server tells its load balancer to send no more requests.
      ready: () => (stopping ? Promise.reject(new Error('shutting down')) : registry.ping()),
    },
  })
  // Requests whose handler has not answered yet: shutdown waits for them (a push cut by the
  // drain deadline is still cleaning up its upload) before it closes the store under them.
  const inflight = new Set<Promise<unknown>>()
  const tracked = trackInflight(handler, inflight)
  let server: Awaited<ReturnType<typeof serve>>
  try {
    server = await serve({
      handler: tracked,
      host,
      port,
      headersTimeoutMs: options.headerTimeout,
      requestTimeoutMs: options.requestTimeout,
      idleTimeoutMs: options.idleTimeout,
      onError: (error) => logger.error({ err: error }, 'connection error'),
    })
  } catch (error) {
    await registry.close().catch(() => {})
    logger.error({ host, port, reason: (error as Error).message }, 'cannot listen')
    flush()
    process.stderr.write(`appr-core serve: cannot listen on ${host}:${port}: ${(error as Error).message}\n`)
    return 1
  }
  logger.info({ url: server.url, store: opened.label, auth: tokens.length === 0 ? 'open' : options.privateReads ? 'private' : 'tokens', metrics: metrics !== undefined, ...(ui ? { ui: `${server.url}/ui` } : {}) }, 'listening')
  const gcSchedule =
    options.gcInterval > 0
      ? scheduleGc(registry, {
          intervalMs: options.gcInterval,
          onAttempt: (attempt) => {
            if (attempt.ran) logger.info({ deletedBlobs: attempt.result.deletedBlobs }, 'gc')
          },
          onError: (error) => logger.warn({ reason: isApprError(error) ? error.message : String(error) }, 'gc failed'),
        })
      : undefined
  let deliverer: WebhookDeliverer | undefined
  try {
    if (endpoints.length > 0) {
      deliverer = startWebhooks(registry, {
        endpoints,
        onReport: (r) => (r.ok ? logger.info(r, 'webhook') : logger.warn(r, 'webhook')),
        onError: (error) => logger.warn({ reason: isApprError(error) ? error.message : String(error) }, 'webhook error'),
      })
    }
  } catch (error) {
    await server.close()
    await gcSchedule?.stop()
    await registry.close().catch(() => {})
    process.stderr.write(`appr-core serve: --webhooks: ${isApprError(error) ? error.message : String(error)}\n`)
    return 2
  }

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal, exiting now')
        flush()
        process.exit(1)
      }
      stopping = true
      const drainMs = options.drainTimeout
      logger.info({ signal, inflight: inflight.size, drainMs }, 'shutting down')
      server
        .close({ timeoutMs: drainMs })
        .then(() => settleWithin([...inflight], 5000))
        .then(() => deliverer?.stop())
        .then(() => gcSchedule?.stop())
        .then(() => registry.close())
        .then(
          () => {
            logger.info({}, 'stopped')
            flush()
            resolve(0)
          },
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed')
            flush()
            resolve(1)
          },
        )
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

/**
 * `handler`, keeping each answer not given yet in `inflight`. The core behind a handler from
 * `createHandler` is tracked too (the node listener runs that one, not the fetch function).
 */
function trackInflight(handler: (request: Request) => Promise<Response>, inflight: Set<Promise<unknown>>): (request: Request) => Promise<Response> {
  const track = <T>(answer: Promise<T>): Promise<T> => {
    inflight.add(answer)
    const forget = (): void => {
      inflight.delete(answer)
    }
    answer.then(forget, forget)
    return answer
  }
  const core = coreOf(handler)
  const fetch = (request: Request) => track(handler(request))
  return core === undefined ? fetch : withCore(fetch, (view) => track(core(view)))
}

/** Resolves once every promise settled or `ms` passed, whichever is first. */
async function settleWithin(promises: readonly Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([Promise.allSettled(promises), new Promise((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}

/** A store spec without credentials, for messages (the opened store's own label is better, once there is one). */
function storeLabel(spec: string): string {
  return spec.replace(/\/\/[^@/]*@/, '//***@')
}
