/**
 * The server the client tests talk to: appr-core's handler over node:http on a free port, with
 * the token {@link TOKEN}, plus what real networks do to clients: `/flaky/<key>/…` answers 503
 * twice per key before passing on, `/slow/…` never answers (until the client gives up), `/dribble/…` sends the start of a body that never ends. Extra
 * routes (the browser test's page) come in through `extra`.
 */
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import { TOKEN } from './behaviour.js'

export async function startHarness(extra?: (request: Request, url: URL) => Promise<Response | undefined>): Promise<RunningServer> {
  const handler = createHandler(new Registry({ store: memoryStore(), events: true }), {
    events: true,
    admin: true,
    authenticate: (request) => (request.headers.get('authorization') === TOKEN ? 'admin' : undefined),
    login: ({ username, password }) => (username === 'admin' && password === 'secret' ? TOKEN : undefined),
  })
  const failures = new Map<string, number>()
  const pending = new Set<() => void>()
  const server = await serve({
    port: 0,
    handler: async (request) => {
      const url = new URL(request.url)
      const own = await extra?.(request, url)
      if (own !== undefined) return own
      const flaky = /^\/flaky\/([^/]+)(\/.*)$/.exec(url.pathname)
      if (flaky) {
        const key = flaky[1]!
        const seen = failures.get(key) ?? 0
        if (seen < 2) {
          failures.set(key, seen + 1)
          return new Response(JSON.stringify({ code: 'unavailable', message: 'try again', details: {} }), {
            status: 503,
            headers: { 'content-type': 'application/json', 'retry-after': '0' },
          })
        }
        return handler(new Request(new URL(flaky[2]! + url.search, url), request))
      }
      if (url.pathname.startsWith('/dribble/')) {
        // Headers and a first chunk, then a body that never ends (the client's abort closes the socket).
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            // Two: the server holds one chunk back to send the last with its end.
            controller.enqueue(new Uint8Array([0x1f, 0x8b]))
            controller.enqueue(new Uint8Array([0x08]))
          },
          pull: () => new Promise<void>(() => {}),
        })
        return new Response(body, { headers: { 'content-type': 'application/gzip' } })
      }
      if (url.pathname.startsWith('/slow/')) {
        // Held until the client gives up (its socket closes) or the harness closes.
        await new Promise<void>((resolve) => {
          pending.add(resolve)
          request.signal.addEventListener('abort', () => resolve())
        })
        return new Response('too late')
      }
      return handler(request)
    },
  })
  return {
    ...server,
    async close(options) {
      for (const wake of pending) wake()
      await server.close(options)
    },
  }
}
