/**
 * The client's behaviour tests, on web APIs alone so that the same cases run in Node
 * (`client.test.ts`) and, bundled by esbuild, in headless Chromium (`browser.test.ts`). Each case
 * gets the harness' address (`harness.ts`) and uses its own package names.
 */
import { type ApprClient, type ClientOptions, type Progress, createClient, isApprError } from '../../src/client/index.js'

/** What a case gets from the environment it runs in. */
export interface CaseContext {
  /** The harness server's root URL. */
  readonly url: string
  /** The token the server accepts for writes. */
  readonly token: string
  /** A small Helm chart tarball `name/Chart.yaml` + a template. */
  chart(name: string, version: string): Promise<Uint8Array>
  /** A client of the harness' registry with the token (options override). */
  client(options?: Partial<ClientOptions>): ApprClient
}

/** One behaviour test. */
export interface Case {
  readonly name: string
  /** Browsers refuse streamed request bodies over HTTP/1.1: such cases run in Node only. */
  readonly nodeOnly?: boolean
  run(ctx: CaseContext): Promise<void>
}

/** The token the harness accepts. */
export const TOKEN = 'client-test-token'

/** Builds a {@link CaseContext} for a harness at `url`. */
export function context(url: string, chart: CaseContext['chart']): CaseContext {
  return {
    url,
    token: TOKEN,
    chart,
    client: (options = {}) => createClient({ registry: url, token: TOKEN, retryDelayMs: 10, ...options }),
  }
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message)
}

function equal(actual: unknown, expected: unknown, message: string): void {
  const a = JSON.stringify(actual)
  const e = JSON.stringify(expected)
  if (a !== e) throw new Error(`${message}: expected ${e}, got ${a}`)
}

/** The error `promise` rejects with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** appr's digest: the sha256 of the gunzipped tar stream. */
async function apprDigest(gzipped: Uint8Array): Promise<string> {
  const tar = await new Response(new Blob([gzipped as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer()
  return sha256Hex(new Uint8Array(tar))
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}

/** The abort listeners currently on `signal` (counted on the instance: browsers have no getEventListeners). */
function watchListeners(signal: AbortSignal): Set<unknown> {
  const live = new Set<unknown>()
  const add = signal.addEventListener.bind(signal)
  const remove = signal.removeEventListener.bind(signal)
  signal.addEventListener = ((type: string, listener: EventListenerOrEventListenerObject, options?: AddEventListenerOptions | boolean) => {
    if (type === 'abort') live.add(listener)
    add(type, listener, options)
  }) as AbortSignal['addEventListener']
  signal.removeEventListener = ((type: string, listener: EventListenerOrEventListenerObject, options?: EventListenerOptions | boolean) => {
    if (type === 'abort') live.delete(listener)
    remove(type, listener, options)
  }) as AbortSignal['removeEventListener']
  // A `once` listener leaves by itself when the signal aborts.
  add('abort', () => live.clear())
  return live
}

export const cases: readonly Case[] = [
  {
    name: 'version answers the appr API version, through any spelling of the registry address',
    async run(ctx) {
      for (const registry of [ctx.url, `${ctx.url}/cnr`, `${ctx.url}/cnr/api/v1/`]) {
        const version = await ctx.client({ registry }).version()
        check(typeof version['appr-api'] === 'string' && version['appr-api'] !== '', `version from ${registry}`)
      }
    },
  },
  {
    name: 'push bytes, then list, search, releases, manifests and show return typed results',
    async run(ctx) {
      const appr = ctx.client()
      const blob = await ctx.chart('web', '1.2.0')
      equal(await appr.push('typed/web', { release: '1.2.0', format: 'helm', blob, metadata: { team: 'a' } }), { status: 'ok' }, 'push')
      await appr.push('typed/web', { release: '1.3.0', format: 'helm', blob: await ctx.chart('web', '1.3.0') })
      const listed = await appr.list({ namespace: 'typed' })
      equal(listed.map((p) => [p.name, p.default, p.releases, p.manifests]), [['typed/web', '1.3.0', ['1.3.0', '1.2.0'], ['helm']]], 'list')
      equal(await appr.search('typed/w'), ['typed/web'], 'search')
      equal((await appr.releases('typed/web')).map((m) => m.release).sort(), ['1.2.0', '1.3.0'], 'releases')
      const manifests = await appr.manifests('typed/web', '1.2.0')
      equal(manifests.length, 1, 'one manifest per format')
      const shown = await appr.show('typed/web', { release: '1.2.0', contents: true })
      equal([shown.package, shown.release, shown.metadata], ['typed/web', '1.2.0', { team: 'a' }], 'show')
      equal(shown.content.digest, await apprDigest(blob), 'the digest is the sha256 of the tar')
      equal(shown.content.size, blob.byteLength, 'size')
      equal(shown.package_manifest?.name, 'web', 'contents: the Chart.yaml name')
    },
  },
  {
    name: 'listPage and namespaces page with a cursor, every entry once, in order',
    async run(ctx) {
      const appr = ctx.client()
      const names = ['a', 'b', 'c', 'd', 'e'].map((n) => `paged/p${n}`)
      for (const name of names) await appr.push(name, { release: '1.0.0', format: 'helm', blob: await ctx.chart('p', '1.0.0') })
      const seen: string[] = []
      let after: string | undefined
      let pages = 0
      do {
        const page = await appr.listPage({ namespace: 'paged', limit: 2, ...(after === undefined ? {} : { after }) })
        check(page.packages.length <= 2, `a page holds at most the limit (${page.packages.length})`)
        seen.push(...page.packages.map((p) => p.name))
        after = page.next
        pages++
      } while (after !== undefined && pages < 10)
      equal(seen, names, 'every package once, in name order')
      check(pages >= 3, `five packages by two take three pages or more (${pages})`)
      const namespaces: string[] = []
      after = undefined
      do {
        const page = await appr.namespaces({ limit: 2, ...(after === undefined ? {} : { after }) })
        check(page.namespaces.length <= 2, 'a namespace page holds at most the limit')
        namespaces.push(...page.namespaces)
        after = page.next
      } while (after !== undefined && namespaces.length < 1000)
      check(namespaces.includes('paged'), `the namespace is listed: ${namespaces.join(',')}`)
      equal(namespaces, [...new Set(namespaces)], 'each namespace once')
      const refused = await rejection(appr.listPage({ limit: 0 }))
      check(isApprError(refused, 'invalid-parameters'), `limit 0 is refused: ${String(refused)}`)
    },
  },
  {
    name: 'pull gives the pushed bytes with progress up to the size, and blob fetches by digest',
    async run(ctx) {
      const appr = ctx.client()
      const blob = await ctx.chart('db', '2.0.0')
      await appr.push('pulls/db', { release: '2.0.0', format: 'helm', blob })
      const seen: Progress[] = []
      const pulled = await appr.pull('pulls/db', { release: '2.0.0' }, { onProgress: (p) => seen.push(p) })
      equal(pulled.manifest.release, '2.0.0', 'the resolved manifest')
      equal(pulled.size, blob.byteLength, 'Content-Length')
      check(pulled.filename?.endsWith('.tar.gz'), `a suggested file name: ${pulled.filename}`)
      check(sameBytes(await pulled.bytes(), blob), 'pulled bytes equal pushed bytes')
      check(seen.length > 0, 'progress was reported')
      equal(seen.at(-1), { loaded: blob.byteLength, total: blob.byteLength }, 'the last progress')
      check(seen.every((p, i) => i === 0 || p.loaded >= seen[i - 1]!.loaded), 'progress only grows')
      const byDigest = await appr.blob('pulls/db', await apprDigest(blob))
      check(sameBytes(await byDigest.bytes(), blob), 'the blob by digest')
      check(sameBytes(await (await appr.pullRelease('pulls/db', '2.0.0', 'helm')).bytes(), blob), 'a release and format, unresolved')
    },
  },
  {
    name: 'a streamed push sends the blob as it is read, with progress',
    nodeOnly: true,
    async run(ctx) {
      const blob = await ctx.chart('big', '0.1.0')
      const seen: number[] = []
      async function* pieces() {
        for (let at = 0; at < blob.byteLength; at += 7) yield blob.slice(at, at + 7)
      }
      await ctx.client().push('streams/big', { release: '0.1.0', format: 'helm', blob: pieces(), size: blob.byteLength, onProgress: (p) => seen.push(p.loaded) })
      equal(seen.at(-1), blob.byteLength, 'every byte counted')
      check(seen.length === Math.ceil(blob.byteLength / 7), 'one progress call per chunk')
      const pulled = await ctx.client().pull('streams/big', { release: '0.1.0' })
      check(sameBytes(await pulled.bytes(), blob), 'the streamed push stored the same bytes')
    },
  },
  {
    name: 'errors carry the server code: not found, conflict, unauthorized, and bad names before any request',
    async run(ctx) {
      const appr = ctx.client()
      const missing = await rejection(appr.show('nobody/nothing'))
      check(isApprError(missing, 'package-not-found'), `package-not-found: ${String(missing)}`)
      equal(missing.details.status, 404, 'the HTTP status in details')
      const blob = await ctx.chart('dup', '1.0.0')
      await appr.push('errors/dup', { release: '1.0.0', format: 'helm', blob })
      const again = await rejection(appr.push('errors/dup', { release: '1.0.0', format: 'helm', blob }))
      check(isApprError(again, 'package-exists'), `package-exists: ${String(again)}`)
      await appr.push('errors/dup', { release: '1.0.0', format: 'helm', blob, force: true })
      const anonymous = await rejection(ctx.client({ token: undefined as never }).push('errors/anon', { release: '1.0.0', blob }))
      check(isApprError(anonymous, 'unauthorized-access'), `unauthorized-access: ${String(anonymous)}`)
      const bad = await rejection(appr.show('no-slash'))
      check(isApprError(bad, 'invalid-parameters'), 'a name without a namespace')
      const badRelease = await rejection(appr.push('errors/bad', { release: 'not-semver', blob }))
      check(isApprError(badRelease, 'invalid-release'), `invalid-release: ${String(badRelease)}`)
    },
  },
  {
    name: 'channels: add, show, list, follow with pull, remove and delete',
    async run(ctx) {
      const appr = ctx.client()
      for (const v of ['1.0.0', '1.1.0']) await appr.push('chan/app', { release: v, format: 'helm', blob: await ctx.chart('app', v) })
      const added = await appr.channels.add('chan/app', 'stable', '1.0.0')
      equal([added.name, added.current, added.releases], ['stable', '1.0.0', ['1.0.0']], 'add')
      equal((await appr.channels.list('chan/app')).map((c) => c.name), ['stable'], 'list')
      equal((await appr.pull('chan/app', { channel: 'stable' })).manifest.release, '1.0.0', 'pull follows the channel')
      await appr.channels.add('chan/app', 'stable', '1.1.0')
      equal((await appr.channels.show('chan/app', 'stable')).current, '1.1.0', 'the added release is current')
      await appr.channels.remove('chan/app', 'stable', '1.1.0')
      equal((await appr.channels.show('chan/app', 'stable')).current, '1.0.0', 'after remove')
      await appr.channels.delete('chan/app', 'stable')
      const gone = await rejection(appr.channels.show('chan/app', 'stable'))
      check(isApprError(gone, 'channel-not-found'), 'deleted channel')
    },
  },
  {
    name: 'delete removes a release',
    async run(ctx) {
      const appr = ctx.client()
      await appr.push('del/x', { release: '1.0.0', format: 'helm', blob: await ctx.chart('x', '1.0.0') })
      await appr.push('del/x', { release: '2.0.0', format: 'helm', blob: await ctx.chart('x', '2.0.0') })
      equal((await appr.delete('del/x', '2.0.0', 'helm')).status, 'deleted', 'delete')
      equal((await appr.show('del/x')).release, '1.0.0', 'default falls back')
    },
  },
  {
    name: 'transient 503s are retried with back-off; without retries the error is unavailable and transient',
    async run(ctx) {
      const key = Math.random().toString(36).slice(2)
      const ok = await ctx.client({ registry: `${ctx.url}/flaky/${key}`, retries: 3 }).version()
      check(typeof ok['appr-api'] === 'string', 'succeeds after two 503s')
      const failed = await rejection(ctx.client({ registry: `${ctx.url}/flaky/${key}-b`, retries: 0 }).version())
      check(isApprError(failed, 'unavailable') && failed.transient, `unavailable: ${String(failed)}`)
    },
  },
  {
    name: 'a timeout and an AbortSignal end a call that gets no answer',
    async run(ctx) {
      const slow = ctx.client({ registry: `${ctx.url}/slow`, timeoutMs: 100 })
      const started = Date.now()
      const timedOut = await rejection(slow.version())
      check(isApprError(timedOut, 'unavailable'), `timeout: ${String(timedOut)}`)
      check(Date.now() - started < 1500, 'the timeout ended the wait')
      const controller = new AbortController()
      const call = ctx.client({ registry: `${ctx.url}/slow`, timeoutMs: 0 }).version({ signal: controller.signal })
      setTimeout(() => controller.abort(), 50)
      const aborted = await rejection(call)
      equal((aborted as Error).name, 'AbortError', 'the abort reason')
    },
  },
  {
    name: 'a long-lived AbortSignal keeps no listener of a settled call, and still ends a body being read',
    async run(ctx) {
      const controller = new AbortController()
      const live = watchListeners(controller.signal)
      const appr = ctx.client()
      const signal = controller.signal
      await appr.push('signal/app', { release: '1.0.0', format: 'helm', blob: await ctx.chart('app', '1.0.0'), signal })
      for (let i = 0; i < 50; i++) {
        await appr.version({ signal })
        await appr.show('signal/app', { contents: i % 2 === 0 }, { signal })
        await (await appr.pull('signal/app', {}, { signal })).bytes()
        await (await appr.pullRelease('signal/app', '1.0.0', 'helm', { signal })).body.cancel()
        await rejection(appr.show('signal/missing', {}, { signal }))
        equal(live.size, 0, `listeners left after ${i + 1} rounds`)
      }
      const key = Math.random().toString(36).slice(2)
      await ctx.client({ registry: `${ctx.url}/flaky/${key}` }).version({ signal })
      equal(live.size, 0, 'listeners left after retried 503s')
      // A body the server is still sending: the listener stays until the caller's abort ends it.
      const download = await ctx.client({ registry: `${ctx.url}/dribble` }).pullRelease('signal/app', '1.0.0', 'helm', { signal })
      const reader = download.body.getReader()
      check((await reader.read()).value !== undefined, 'the first chunk arrives')
      equal(live.size, 1, 'an unfinished body keeps its listener')
      controller.abort()
      const ended = await rejection(reader.read())
      equal((ended as Error).name, 'AbortError', 'the abort ends the body')
      equal(live.size, 0, 'and the listener goes with it')
    },
  },
  {
    name: "appr's JSON pull and blob routes give the archive in base64",
    async run(ctx) {
      const appr = ctx.client()
      const blob = await ctx.chart('js', '1.0.0')
      await appr.push('json/js', { release: '1.0.0', format: 'helm', blob })
      const pulled = await appr.pullJson('json/js', '1.0.0', 'helm')
      equal([pulled.package, pulled.release, pulled.media_type], ['json/js', '1.0.0', 'helm'], 'the fields')
      check(sameBytes(fromBase64(pulled.blob), blob), 'pull/json holds the pushed bytes')
      const byDigest = await appr.blobJson('json/js', await apprDigest(blob))
      check(sameBytes(fromBase64(byDigest.blob), blob), 'blobs/…/json holds the pushed bytes')
    },
  },
  {
    name: 'events: the feed shows a push, and a held page (wait) is not cut by the answer timeout',
    async run(ctx) {
      const appr = ctx.client({ timeoutMs: 500 })
      await appr.push('feed/app', { release: '1.0.0', format: 'helm', blob: await ctx.chart('app', '1.0.0') })
      let after: string | undefined
      let found = false
      for (let pages = 0; pages < 100 && !found; pages++) {
        const page = await appr.events({ limit: 1000, ...(after === undefined ? {} : { after }) })
        found = page.events.some((e) => e.type === 'release.pushed' && e.package === 'feed/app')
        if (page.events.length === 0) break
        after = page.cursor
      }
      check(found, 'release.pushed of feed/app is in the feed')
      let end = after!
      for (;;) {
        const page = await appr.events({ after: end, limit: 1000 })
        if (page.events.length === 0) break
        end = page.cursor
      }
      const held = await appr.events({ after: end, wait: 1 })
      equal(held.cursor, end, 'a held page that saw nothing keeps the cursor')
      const refused = await rejection(ctx.client({ token: undefined as never }).events({}))
      check(isApprError(refused, 'unauthorized-access'), `the feed needs a principal: ${String(refused)}`)
    },
  },
  {
    name: 'admin: stats, gc, a backup and its restore',
    async run(ctx) {
      const appr = ctx.client()
      await appr.push('admin/app', { release: '1.0.0', format: 'helm', blob: await ctx.chart('app', '1.0.0') })
      const stats = await appr.admin.stats()
      check(stats.packages >= 1 && stats.releases >= 1, `stats count the push: ${JSON.stringify(stats).slice(0, 200)}`)
      const gc = await appr.admin.gc()
      check(typeof gc === 'object' && gc !== null, 'gc answers its result')
      const backup = await (await appr.admin.backup('ndjson')).bytes()
      const lines = new TextDecoder().decode(backup).trim().split('\n')
      check(lines.some((l) => l.includes('"admin/app"')), 'the backup holds the package')
      check(lines.at(-1)!.includes('"kind":"end"'), 'and ends with its end record')
      const restored = await appr.admin.restore({ format: 'ndjson', body: backup })
      check('skipped' in restored && restored.skipped >= 1 && restored.releases === 0, `a restore of what is there skips it: ${JSON.stringify(restored)}`)
      const refused = await rejection(ctx.client({ token: undefined as never }).admin.stats())
      check(isApprError(refused, 'unauthorized-access'), `admin needs a principal: ${String(refused)}`)
    },
  },
  {
    name: 'the token is injected as Authorization, also from a function asked per request',
    async run(ctx) {
      let asked = 0
      const appr = ctx.client({
        token: () => {
          asked++
          return TOKEN
        },
      })
      await appr.push('auth/fn', { release: '1.0.0', format: 'helm', blob: await ctx.chart('fn', '1.0.0') })
      check(asked >= 1, 'the token function was asked')
      const wrong = await rejection(ctx.client({ token: 'wrong' }).push('auth/fn', { release: '2.0.0', blob: await ctx.chart('fn', '2.0.0') }))
      check(isApprError(wrong, 'unauthorized-access'), `a wrong token is refused: ${String(wrong)}`)
    },
  },
  {
    name: 'login trades a username and password for the token',
    async run(ctx) {
      equal(await ctx.client({ token: undefined as never }).login('admin', 'secret'), TOKEN, 'the token')
      const refused = await rejection(ctx.client().login('admin', 'nope'))
      check(isApprError(refused, 'unauthorized-access'), 'bad credentials')
    },
  },
]
