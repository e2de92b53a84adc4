/**
 * Throwaway redis-server, etcd and docker-registry processes for tests: free loopback ports, temp
 * dirs, readiness wait, and cleanup on stop, on test failure and on process exit. Or external
 * servers from `APPR_TEST_REDIS_URL` / `APPR_TEST_ETCD_ENDPOINTS` (then stop/kill/restart are
 * unsupported).
 *
 * ```ts
 * const redis = await startRedis({ suite: 'my suite' })   // undefined when skipped (binary missing, not in CI)
 * if (redis) { redisStore({ url: redis.url }) … ; await redis.stop() }
 * const etcd = await startEtcd({ members: 3 })            // etcd.endpoints, killMember(i), leader() …
 * const registry = await startDockerRegistry()            // registry.url, registry.host ('127.0.0.1:port')
 * ```
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A server (or cluster) under test. */
export interface TestServer {
  /** Stops gracefully (SIGTERM, then SIGKILL) and removes its temp dir. Idempotent. */
  stop(): Promise<void>
  /** SIGKILLs the process(es) without cleanup of data (a crash). */
  kill(): Promise<void>
  /** Starts again on the same ports and data dir (after kill or a graceful stop of the process). */
  restart(): Promise<void>
  /** True when the server was started by this harness (fault tests need that). */
  readonly owned: boolean
}

/** A throwaway redis-server. */
export interface TestRedis extends TestServer {
  readonly url: string
  readonly port: number
  /** Restarts gracefully: SIGTERM (redis persists on shutdown when configured), then start. */
  bounce(): Promise<void>
}

/** A throwaway etcd member or cluster. */
export interface TestEtcd extends TestServer {
  /** Client URLs of every member. */
  readonly endpoints: string[]
  /** Member names, in the order of `endpoints`. */
  readonly members: readonly string[]
  /** Kills one member (SIGKILL). */
  killMember(index: number): Promise<void>
  /** Restarts one member on its data dir. */
  restartMember(index: number): Promise<void>
  /** Index of the current leader (asks each live member). */
  leader(): Promise<number>
}

const live = new Set<ChildProcess>()
const dirs = new Set<string>()
let hooked = false

function hookExit(): void {
  if (hooked) return
  hooked = true
  const cleanup = (): void => {
    for (const child of live) {
      try {
        child.kill('SIGKILL')
      } catch {}
    }
    for (const dir of dirs) {
      try {
        rmSync(dir, { recursive: true, force: true })
      } catch {}
    }
  }
  process.on('exit', cleanup)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup()
      process.exit(130)
    })
  }
  process.on('uncaughtException', (e) => {
    cleanup()
    console.error(e)
    process.exit(1)
  })
}

/** A binary on PATH (or at a known Debian location), or undefined. */
export function findBinary(name: string): string | undefined {
  // PATH first, then where Debian puts them (a PATH without /usr/bin should still find them).
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/bin', '/usr/local/bin', '/usr/sbin']
  return dirs.map((dir) => `${dir}/${name}`).find((candidate) => existsSync(candidate))
}

/**
 * Reports a suite that cannot run. Prints `SKIPPED SUITE: <name> — <how>` and returns; in CI
 * (`CI=true`) throws instead so the run fails.
 */
export function skipOrFail(name: string, how: string): void {
  const line = `SKIPPED SUITE: ${name} — ${how}`
  if (process.env.CI === 'true') throw new Error(`${line} (a missing server is a failure in CI)`)
  console.log(line)
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probePort()
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}

const handedOut = new Set<number>()

function probePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Runs a server launch up to three times: another process may take a probed port before the
 * server binds it, and the server then exits at once. `launch` cleans up after its own failure.
 */
async function launchWithRetries<T>(launch: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch()
    } catch (e) {
      if (attempt >= 3) throw e
    }
  }
}

/** Starts the `name` binary through `launch` (retried on port races), or skips the suite (fails it in CI) when the binary is missing. */
async function startBinary<T>(name: string, suite: string, how: string, launch: (bin: string) => Promise<T>): Promise<T | undefined> {
  const bin = findBinary(name)
  if (!bin) {
    skipOrFail(suite, how)
    return undefined
  }
  return launchWithRetries(() => launch(bin))
}

async function waitFor(what: string, probe: () => Promise<boolean>, child: () => ChildProcess | undefined, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await probe().catch(() => false)) return
    const c = child()
    if (c && c.exitCode !== null) throw new Error(`${what} exited with ${c.exitCode} before it was ready`)
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms`)
    await sleep(50)
  }
}

/** Sends one inline command to redis and resolves with the first reply line. */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('data', (d) => {
      data += d
      if (data.includes('\r\n')) done(data.startsWith('+PONG'))
    })
    socket.write('PING\r\n')
  })
}

function spawnTracked(bin: string, args: string[], logPrefix: string): ChildProcess {
  hookExit()
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  // A server never keeps the test process alive: when the tests are done the process exits and
  // the exit hook kills what is left, even if a test forgot stop().
  child.unref()
  for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.()
  live.add(child)
  let tail = ''
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  child.on('exit', (code, signal) => {
    live.delete(child)
    if (process.env.APPR_TEST_SERVER_LOGS) console.error(`[${logPrefix}] exited ${code ?? signal}\n${tail}`)
  })
  return child
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

/** An idempotent stop: every process gracefully (SIGTERM, then SIGKILL), then its temp dir. */
function stopper(children: () => (ChildProcess | undefined)[], dir: string): () => Promise<void> {
  let stopped = false
  return async () => {
    if (stopped) return
    stopped = true
    await Promise.all(children().map((c) => stopChild(c)))
    rmSync(dir, { recursive: true, force: true })
    dirs.delete(dir)
  }
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Suite name for the SKIPPED SUITE line (default `redis`). */
  readonly suite?: string
  /** AOF with `appendfsync always`, so acknowledged writes survive kill and restart. */
  readonly persistent?: boolean
  /** Allows DEBUG (e.g. `DEBUG SLEEP` to stall the server) from loopback clients. */
  readonly debug?: boolean
}

/**
 * Starts a throwaway redis-server (or uses `APPR_TEST_REDIS_URL`). Returns undefined when the
 * binary is missing outside CI (after printing the SKIPPED SUITE line).
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis | undefined> {
  const external = process.env.APPR_TEST_REDIS_URL
  if (external) {
    const unsupported = async () => {
      throw new Error('APPR_TEST_REDIS_URL is an external server: stop/kill/restart are not available')
    }
    return { url: external, port: Number(new URL(external).port || 6379), owned: false, stop: async () => {}, kill: unsupported, restart: unsupported, bounce: unsupported }
  }
  return startBinary('redis-server', options.suite ?? 'redis', 'install redis-server (apt-get install redis-server) or set APPR_TEST_REDIS_URL', (bin) => launchRedis(bin, options))
}

async function launchRedis(bin: string, options: StartRedisOptions): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'appr-redis-'))
  dirs.add(dir)
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning']
  if (options.persistent) args.push('--appendonly', 'yes', '--appendfsync', 'always')
  else args.push('--appendonly', 'no')
  if (options.debug) args.push('--enable-debug-command', 'local')
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawnTracked(bin, args, `redis:${port}`)
    await waitFor(`redis-server on ${port}`, () => redisPing(port), () => child)
  }
  const stop = stopper(() => [child], dir)
  await start().catch(async (e: unknown) => {
    await stop()
    throw e
  })
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    owned: true,
    stop,
    async kill() {
      await stopChild(child, 'SIGKILL')
    },
    async restart() {
      await stopChild(child)
      await start()
    },
    async bounce() {
      await stopChild(child)
      await start()
    },
  }
}

/** Options of {@link startEtcd}. */
export interface StartEtcdOptions {
  /** Suite name for the SKIPPED SUITE line (default `etcd`). */
  readonly suite?: string
  /** 1 (default) or 3 members on loopback. */
  readonly members?: 1 | 3
}

async function etcdHealthy(clientUrl: string): Promise<boolean> {
  const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) })
  if (!res.ok) return false
  const body = (await res.json()) as { health?: string }
  return body.health === 'true'
}

/**
 * Starts a throwaway etcd (one member, or a 3-member cluster) or uses `APPR_TEST_ETCD_ENDPOINTS`
 * (comma-separated). Returns undefined when the binary is missing outside CI.
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<TestEtcd | undefined> {
  const external = process.env.APPR_TEST_ETCD_ENDPOINTS
  if (external && (options.members ?? 1) === 1) {
    const unsupported = async () => {
      throw new Error('APPR_TEST_ETCD_ENDPOINTS is an external cluster: stop/kill/restart are not available')
    }
    const endpoints = external.split(',').map((s) => s.trim())
    return {
      endpoints,
      members: endpoints,
      owned: false,
      stop: async () => {},
      kill: unsupported,
      restart: unsupported,
      killMember: unsupported,
      restartMember: unsupported,
      leader: unsupported,
    }
  }
  return startBinary('etcd', options.suite ?? 'etcd', 'install etcd (apt-get install etcd-server) or set APPR_TEST_ETCD_ENDPOINTS', (bin) => launchEtcd(bin, options))
}

async function launchEtcd(bin: string, options: StartEtcdOptions): Promise<TestEtcd> {
  const count = options.members ?? 1
  const root = mkdtempSync(join(tmpdir(), 'appr-etcd-'))
  dirs.add(root)
  const names = Array.from({ length: count }, (_, i) => `m${i}`)
  const clientPorts: number[] = []
  const peerPorts: number[] = []
  for (let i = 0; i < count; i++) {
    clientPorts.push(await freePort())
    peerPorts.push(await freePort())
  }
  const clientUrl = (i: number) => `http://127.0.0.1:${clientPorts[i]}`
  const peerUrl = (i: number) => `http://127.0.0.1:${peerPorts[i]}`
  const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',')
  const token = `appr-test-${process.pid}-${Date.now()}`
  const children: (ChildProcess | undefined)[] = new Array(count).fill(undefined)
  const argsOf = (i: number): string[] => [
    '--name', names[i]!,
    '--data-dir', join(root, names[i]!),
    '--listen-client-urls', clientUrl(i),
    '--advertise-client-urls', clientUrl(i),
    '--listen-peer-urls', peerUrl(i),
    '--initial-advertise-peer-urls', peerUrl(i),
    '--initial-cluster', initialCluster,
    '--initial-cluster-token', token,
    '--initial-cluster-state', 'new',
    '--heartbeat-interval', '50',
    '--election-timeout', '500',
    '--log-level', 'error',
    '--logger', 'zap',
  ]
  const startMember = (i: number) => {
    children[i] = spawnTracked(bin, argsOf(i), `etcd:${names[i]}`)
  }
  const waitMember = (i: number) => waitFor(`etcd member ${names[i]}`, () => etcdHealthy(clientUrl(i)), () => children[i], 30_000)
  const stop = stopper(() => children, root)
  try {
    for (let i = 0; i < count; i++) startMember(i)
    for (let i = 0; i < count; i++) await waitMember(i)
  } catch (e) {
    await stop()
    throw e
  }
  const endpoints = names.map((_, i) => clientUrl(i))
  return {
    endpoints,
    members: names,
    owned: true,
    stop,
    async kill() {
      await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')))
    },
    async restart() {
      await Promise.all(children.map((c) => stopChild(c)))
      for (let i = 0; i < count; i++) startMember(i)
      for (let i = 0; i < count; i++) await waitMember(i)
    },
    async killMember(i) {
      await stopChild(children[i], 'SIGKILL')
    },
    async restartMember(i) {
      await stopChild(children[i])
      startMember(i)
      await waitMember(i)
    },
    async leader() {
      for (let i = 0; i < count; i++) {
        const c = children[i]
        if (!c || c.exitCode !== null || c.signalCode !== null) continue
        try {
          const res = await fetch(`${clientUrl(i)}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) })
          const body = (await res.json()) as { leader?: string; header?: { member_id?: string } }
          if (body.leader && body.leader === body.header?.member_id) return i
        } catch {}
      }
      return -1
    },
  }
}

/** A throwaway Redis Cluster of masters on loopback (no replicas). */
export interface TestRedisCluster extends Omit<TestServer, 'restart' | 'kill'> {
  readonly nodes: readonly { host: string; port: number }[]
}

/**
 * Starts `masters` (default 3) cluster-enabled redis-servers, splits the 16384 slots between
 * them and joins them, waiting until `cluster_state:ok`. Returns undefined when skipped.
 */
export async function startRedisCluster(options: { suite?: string; masters?: number } = {}): Promise<TestRedisCluster | undefined> {
  const bin = findBinary('redis-server')
  if (!bin) {
    skipOrFail(options.suite ?? 'redis cluster', 'install redis-server (apt-get install redis-server)')
    return undefined
  }
  const { Redis } = await import('ioredis')
  const count = options.masters ?? 3
  const root = mkdtempSync(join(tmpdir(), 'appr-redis-cluster-'))
  dirs.add(root)
  const children: ChildProcess[] = []
  const ports: number[] = []
  for (let i = 0; i < count; i++) {
    const port = await freePort()
    const dir = join(root, String(i))
    mkdirSync(dir)
    ports.push(port)
    // biome-ignore format: flag/value pairs
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--loglevel', 'warning']
    const child = spawnTracked(bin, args, `redis-cluster:${port}`)
    children.push(child)
    await waitFor(`redis cluster node on ${port}`, () => redisPing(port), () => child)
  }
  const admin = ports.map((port) => new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 }))
  try {
    const per = Math.ceil(16384 / count)
    for (let i = 0; i < count; i++) await admin[i]!.call('CLUSTER', 'ADDSLOTSRANGE', String(i * per), String(Math.min(16383, (i + 1) * per - 1)))
    for (let i = 1; i < count; i++) await admin[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(ports[i]))
    await waitFor(
      'redis cluster state ok',
      async () => {
        for (const a of admin) {
          const info = String(await a.call('CLUSTER', 'INFO'))
          if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${count}`)) return false
        }
        return true
      },
      () => undefined,
    )
  } finally {
    for (const a of admin) a.disconnect()
  }
  return {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    owned: true,
    stop: stopper(() => children, root),
  }
}

/** A throwaway docker-registry (CNCF distribution). */
export interface TestDockerRegistry extends TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `127.0.0.1:<port>`, as image references (`docker://host/repo:tag`) name it. */
  readonly host: string
  readonly port: number
}

/** Options of {@link startDockerRegistry}. */
export interface StartDockerRegistryOptions {
  /** Suite name for the SKIPPED SUITE line (default `docker-registry`). */
  readonly suite?: string
  /** `htpasswd` file content (bcrypt lines): the registry then demands Basic auth. */
  readonly htpasswd?: string
  /** Token auth: the registry answers 401 with a Bearer challenge naming `realm`, and trusts tokens signed by a key of `rootCertBundle` (PEM). */
  readonly token?: { readonly realm: string; readonly service: string; readonly issuer: string; readonly rootCertBundle: string }
}

/**
 * Starts a throwaway docker-registry (Debian's `docker-registry`, CNCF distribution 2.8) on a
 * free loopback port, with filesystem storage in a temp dir and deletes enabled. Returns
 * undefined when the binary is missing outside CI.
 */
export async function startDockerRegistry(options: StartDockerRegistryOptions = {}): Promise<TestDockerRegistry | undefined> {
  return startBinary('docker-registry', options.suite ?? 'docker-registry', 'install docker-registry (apt-get install docker-registry)', (bin) => launchDockerRegistry(bin, options))
}

async function launchDockerRegistry(bin: string, options: StartDockerRegistryOptions): Promise<TestDockerRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'appr-docker-registry-'))
  dirs.add(dir)
  const port = await freePort()
  // The config is YAML; JSON is YAML, so no YAML writer is needed.
  const auth: Record<string, unknown> = {}
  if (options.htpasswd !== undefined) {
    writeFileSync(join(dir, 'htpasswd'), options.htpasswd)
    auth.htpasswd = { realm: 'appr-test', path: join(dir, 'htpasswd') }
  }
  if (options.token) {
    writeFileSync(join(dir, 'token-ca.pem'), options.token.rootCertBundle)
    auth.token = { realm: options.token.realm, service: options.token.service, issuer: options.token.issuer, rootcertbundle: join(dir, 'token-ca.pem') }
  }
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}`, secret: `appr-test-${process.pid}-${port}` },
    ...(Object.keys(auth).length > 0 ? { auth } : {}),
  }
  writeFileSync(join(dir, 'config.yml'), JSON.stringify(config))
  const url = `http://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawnTracked(bin, ['serve', join(dir, 'config.yml')], `docker-registry:${port}`)
    await waitFor(
      `docker-registry on ${port}`,
      async () => {
        const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) })
        await res.body?.cancel()
        return res.status === 200 || res.status === 401
      },
      () => child,
    )
  }
  const stop = stopper(() => [child], dir)
  await start().catch(async (e: unknown) => {
    await stop()
    throw e
  })
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    owned: true,
    stop,
    async kill() {
      await stopChild(child, 'SIGKILL')
    },
    async restart() {
      await stopChild(child)
      await start()
    },
  }
}
