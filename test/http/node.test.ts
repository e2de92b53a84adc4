/**
 * The node:http listener on its own: streaming with back-pressure, client aborts releasing the
 * blob stream, HEAD, Content-Length, streamed request bodies, set-cookie, close() with a
 * request in flight.
 */
import { once } from 'node:events'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError } from 'appr-core'
import { type ResponseInfo, serve, serveTimeouts } from 'appr-core/http/node'
import { toByteStream } from '../../src/http/respond.js'

const chunk = new Uint8Array(64 * 1024).fill(7)

test('a client abort mid-body cancels the source; the server keeps serving', async () => {
  let produced = 0
  let released = false
  const infos: ResponseInfo[] = []
  async function* endless() {
    try {
      for (;;) {
        produced++
        yield chunk
      }
    } finally {
      released = true
    }
  }
  const server = await serve({
    port: 0,
    onResponse: (info) => infos.push(info),
    handler: async (req) => (new URL(req.url).pathname === '/ok' ? new Response('fine') : new Response(toByteStream(endless()))),
  })
  try {
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${server.url}/stream`, (res) => {
        let got = 0
        res.on('data', (d: Buffer) => {
          got += d.length
          if (got > 1024 * 1024) req.destroy()
        })
        res.on('close', () => resolve())
      })
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve() : reject(e)))
      req.end()
    })
    for (let i = 0; i < 50 && !released; i++) await new Promise((r) => setTimeout(r, 20))
    assert.ok(released, 'the source was released')
    // Back-pressure: the server produced about what the client read plus socket buffers, not more.
    assert.ok(produced * chunk.length < 32 * 1024 * 1024, `produced ${produced} chunks`)
    assert.is(await (await fetch(`${server.url}/ok`)).text(), 'fine')
    const aborted = infos.find((i) => i.url === '/stream')
    assert.ok(aborted?.aborted)
    assert.is(aborted?.status, 200)
  } finally {
    await server.close()
  }
})

test('HEAD: headers without a body; request bodies stream in; set-cookie kept', async () => {
  const server = await serve({
    port: 0,
    handler: async (req) => {
      if (req.method === 'POST') {
        let n = 0
        for await (const c of req.body as unknown as AsyncIterable<Uint8Array>) n += c.byteLength
        return Response.json({ n, url: req.url, host: new URL(req.url).host })
      }
      const headers = new Headers({ 'content-length': '5', 'content-type': 'text/plain' })
      headers.append('set-cookie', 'a=1')
      headers.append('set-cookie', 'b=2')
      return new Response('hello', { headers })
    },
  })
  try {
    const head = await fetch(server.url, { method: 'HEAD' })
    assert.is(head.headers.get('content-length'), '5')
    assert.is((await head.arrayBuffer()).byteLength, 0)
    // Absolute-form request target (as sent to a proxy): routed by its path.
    const absolute = await new Promise<string>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: server.port, path: 'http://elsewhere.example/p?q=2', method: 'POST' }, (res) => {
        let text = ''
        res.on('data', (d) => (text += d))
        res.on('end', () => resolve(text))
      })
        .on('error', reject)
        .end('x')
    })
    assert.ok((JSON.parse(absolute) as { url: string }).url.endsWith('/p?q=2'), absolute)
    const get = await fetch(server.url)
    assert.equal(get.headers.getSetCookie(), ['a=1', 'b=2'])
    assert.is(await get.text(), 'hello')
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 64; i++) c.enqueue(chunk)
        c.close()
      },
    })
    const r = await fetch(`${server.url}/p?q=1`, { method: 'POST', body, duplex: 'half' } as RequestInit)
    const json = (await r.json()) as { n: number; url: string }
    assert.is(json.n, 64 * chunk.length)
    assert.ok(json.url.endsWith('/p?q=1'))
  } finally {
    await server.close()
  }
})

test('an answer given before the body was read reaches a client still uploading', async () => {
  const server = await serve({
    port: 0,
    handler: async (req) => {
      // Read a little, then give up on the body, as a push refused mid-body does.
      const reader = req.body!.getReader()
      await reader.read()
      await reader.cancel()
      return Response.json({ code: 'package-exists' }, { status: 409 })
    },
  })
  try {
    for (let i = 0; i < 10; i++) {
      let sent = 0
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (sent >= 2 * 1024 * 1024) return c.close()
          sent += chunk.length
          await new Promise((r) => setTimeout(r, 1))
          c.enqueue(chunk)
        },
      })
      const r = await fetch(`${server.url}/push`, { method: 'POST', body, duplex: 'half' } as RequestInit)
      assert.is(r.status, 409)
      assert.equal(await r.json(), { code: 'package-exists' })
    }
  } finally {
    await server.close()
  }
})

test('a throwing handler is a 500 appr error; close() waits for a request in flight', async () => {
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  const errors: unknown[] = []
  const server = await serve({
    port: 0,
    onError: (e) => errors.push(e),
    handler: async (req) => {
      if (req.url.endsWith('/boom')) throw new Error('internal detail')
      await gate
      return new Response('late')
    },
  })
  const boom = await fetch(`${server.url}/boom`)
  assert.is(boom.status, 500)
  assert.equal(await boom.json(), { code: 'internal-error', message: 'internal server error', details: {} })
  assert.is(errors.length, 1)
  const slow = fetch(`${server.url}/slow`).then((r) => r.text())
  await new Promise((r) => setTimeout(r, 100))
  let closed = false
  const closing = server.close().then(() => (closed = true))
  await new Promise((r) => setTimeout(r, 100))
  assert.is(closed, false)
  release()
  assert.is(await slow, 'late')
  await closing
  assert.ok(closed)
})

/** A server whose every answer comes 200 ms late. */
const lateServer = (onResponse?: (info: ResponseInfo) => void) =>
  serve({
    port: 0,
    ...(onResponse ? { onResponse } : {}),
    handler: async () => {
      await new Promise((r) => setTimeout(r, 200))
      return new Response('late')
    },
  })

test('a client that half-closes right after its request still gets a late answer', async () => {
  const server = await lateServer()
  try {
    const { hostname, port } = new URL(server.url)
    const socket = connect(Number(port), hostname)
    let reply = ''
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')))
    socket.end('GET /half HTTP/1.1\r\nhost: h\r\n\r\n')
    await once(socket, 'close')
    assert.match(reply, /^HTTP\/1\.1 200 /)
    assert.match(reply, /\r\nlate\r\n/)
  } finally {
    await server.close()
  }
})

test('the log keeps the remote address of a client gone before the answer', async () => {
  const infos: ResponseInfo[] = []
  let logged!: () => void
  const done = new Promise<void>((r) => (logged = r))
  const server = await lateServer((info) => {
    infos.push(info)
    logged()
  })
  try {
    const { hostname, port } = new URL(server.url)
    const socket = connect(Number(port), hostname)
    socket.on('error', () => {})
    // Gone for real (a reset): a client that only half-closes still gets its answer (serve is half-open).
    socket.write('GET /gone HTTP/1.1\r\nhost: h\r\n\r\n', () => setTimeout(() => socket.resetAndDestroy(), 50))
    await done
    assert.is(infos[0]?.url, '/gone')
    assert.ok(infos[0]?.aborted)
    assert.is(infos[0]?.remoteAddress, '127.0.0.1')
  } finally {
    await server.close()
  }
})

/**
 * A raw client that sends `head`, then `trickle` one byte every `everyMs` (never completing),
 * and resolves with how long the server kept the connection open and what it answered.
 */
function slowClient(url: string, head: string, everyMs: number, trickle: boolean): Promise<{ ms: number; reply: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const started = Date.now()
    const socket = connect(Number(port), hostname)
    let reply = ''
    const timer = trickle ? setInterval(() => socket.writable && socket.write('a'), everyMs) : undefined
    const done = () => {
      clearInterval(timer)
      resolve({ ms: Date.now() - started, reply })
    }
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')))
    socket.on('close', done)
    socket.on('error', () => {})
    // A client held longer than this is the defect: stop it from our side and report.
    setTimeout(() => socket.destroy(), 8000).unref()
    socket.write(head)
  })
}

test('slow clients are cut off: unfinished headers, a trickled body, a stalled body', async () => {
  const server = await serve({
    port: 0,
    headersTimeoutMs: 600,
    requestTimeoutMs: 2000,
    idleTimeoutMs: 800,
    handler: async (req) => new Response(String((await req.arrayBuffer()).byteLength)),
  })
  try {
    const [headers, trickled, stalled, fine] = await Promise.all([
      // Header lines that never end, one byte at a time (never idle).
      slowClient(server.url, 'POST /x HTTP/1.1\r\nhost: h\r\nx-slow: ', 100, true),
      // A body announced as 1 MB, sent at 10 B/s (never idle).
      slowClient(server.url, 'POST /x HTTP/1.1\r\nhost: h\r\ncontent-length: 1000000\r\n\r\n', 100, true),
      // A body that stops after its first bytes.
      slowClient(server.url, 'POST /x HTTP/1.1\r\nhost: h\r\ncontent-length: 1000000\r\n\r\nabc', 100, false),
      // A normal request on the same server is unaffected.
      fetch(`${server.url}/ok`, { method: 'POST', body: 'hello' }).then((r) => r.text()),
    ])
    assert.is(fine, '5')
    assert.ok(headers.ms >= 500 && headers.ms < 2000, `unfinished headers held ${headers.ms} ms`)
    assert.match(headers.reply, /^HTTP\/1\.1 408/)
    assert.ok(trickled.ms >= 1900 && trickled.ms < 4000, `trickled body held ${trickled.ms} ms`)
    assert.ok(stalled.ms >= 700 && stalled.ms < 1900, `stalled body held ${stalled.ms} ms`)
    assert.is(await (await fetch(`${server.url}/ok`, { method: 'POST', body: 'again' })).text(), '5')
  } finally {
    await server.close()
  }
})

test('the idle timeout spares a slow answer (GET and a read body), on a kept-alive socket too, and still cuts a client that stops reading', async () => {
  const infos: ResponseInfo[] = []
  const server = await serve({
    port: 0,
    idleTimeoutMs: 300,
    onResponse: (info) => infos.push(info),
    handler: async (req) => {
      const path = new URL(req.url).pathname
      if (path === '/flood') return new Response(toByteStream((async function* () { for (let i = 0; i < 2000; i++) yield chunk })()))
      const body = req.method === 'POST' ? (await req.arrayBuffer()).byteLength : 0
      // Three idle timeouts of thinking, as a long poll does.
      await new Promise((r) => setTimeout(r, 1000))
      return new Response(`thought ${body}`)
    },
  })
  try {
    const { hostname, port } = new URL(server.url)
    const socket = connect(Number(port), hostname)
    let reply = ''
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')))
    let isClosed = false
    const closed = once(socket, 'close').then(() => (isClosed = true))
    const until = async (text: string): Promise<void> => {
      while (!reply.includes(text) && !isClosed) await Promise.race([once(socket, 'data'), closed])
      assert.ok(reply.includes(text), `the connection was cut before '${text}'`)
    }
    // Two requests on one kept-alive connection: the timer is back on between them and paused again.
    socket.write('GET /slow HTTP/1.1\r\nhost: h\r\n\r\n')
    await until('thought 0')
    socket.write('POST /slow HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\n\r\nhello')
    await until('thought 5')
    assert.is(reply.match(/HTTP\/1\.1 200 /g)?.length, 2)
    // Idle again after the answers: the timeout is back and closes the connection.
    await closed

    // A client that asks for 128 MiB and never reads it is still cut off.
    const stuck = connect(Number(port), hostname)
    stuck.on('error', () => {})
    stuck.pause()
    stuck.write('GET /flood HTTP/1.1\r\nhost: h\r\n\r\n')
    for (let i = 0; i < 100 && !infos.some((x) => x.url === '/flood'); i++) await new Promise((r) => setTimeout(r, 100))
    stuck.destroy()
    const flood = infos.find((x) => x.url === '/flood')
    assert.ok(flood, 'the server gave up on the client that stopped reading')
    assert.ok(flood!.aborted)
  } finally {
    await server.close()
  }
})

test('timeouts: defaults are set, 0 disables, a bad value is invalid-parameters', async () => {
  const server = await serve({ port: 0, handler: async () => new Response('x') })
  try {
    assert.is(server.server.headersTimeout, serveTimeouts.headersTimeoutMs)
    assert.is(server.server.requestTimeout, serveTimeouts.requestTimeoutMs)
    assert.is(server.server.timeout, serveTimeouts.idleTimeoutMs)
  } finally {
    await server.close()
  }
  const open = await serve({ port: 0, headersTimeoutMs: 0, requestTimeoutMs: 0, idleTimeoutMs: 0, handler: async () => new Response('x') })
  try {
    assert.is(open.server.requestTimeout, 0)
    assert.is(open.server.timeout, 0)
  } finally {
    await open.close()
  }
  try {
    await serve({ port: 0, idleTimeoutMs: -1, handler: async () => new Response('x') })
    assert.unreachable()
  } catch (e) {
    assert.ok(isApprError(e, 'invalid-parameters'), String(e))
  }
})

test.run()
