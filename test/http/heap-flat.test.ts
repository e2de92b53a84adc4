/**
 * No memory growth in `serve`: `appr-core serve` on a level store runs in a child process
 * (preloaded with test/helpers/memory-probe.mjs), 80 packages are pushed and each pulled once
 * (every cache that can fill has filled), then rounds of pulls, shows, JSON pulls, release
 * lists and a namespace list run over keep-alive connections, some of them on fresh
 * connections. After each round the child reports its heap after full collections; the mean of
 * the last quarter of the rounds must stay within 10% of the first quarter's. A bound, not a
 * timing: a load on the machine makes the test slower, not different.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { freePort } from '../helpers/servers.js'
import { syntheticChart } from '../helpers/synthetic-backup.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const PACKAGES = 80
const ROUNDS = 12
const PER_ROUND = 600
const CLIENTS = 8

interface Probe {
  readonly heapUsed: number
  readonly rss: number
}

/** A small chart tarball: one ustar entry, gzipped. */
const chart = (i: number): Buffer => syntheticChart(i, `heap test chart ${i} ${'x'.repeat(600)}`)

function send(port: number, agent: Agent, method: string, path: string, body?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'content-type': 'application/json', 'content-length': body.byteLength } : {}
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function startServe(store: string): Promise<{ child: ChildProcess; port: number; probe(): Promise<Probe> }> {
  const port = await freePort()
  const child = fork(join(root, 'src/cli/main.ts'), ['serve', '--store', store, '--port', String(port)], {
    cwd: root,
    execArgv: ['--expose-gc', '--conditions=source', '--import', 'tsx', '--import', join(root, 'test/helpers/memory-probe.mjs')],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  let id = 0
  const probe = () =>
    new Promise<Probe>((resolve, reject) => {
      const my = ++id
      const onMessage = (m: { type?: string; id?: number } & Probe) => {
        if (m.type !== 'probe' || m.id !== my) return
        child.off('message', onMessage)
        child.off('exit', reject)
        resolve(m)
      }
      child.on('message', onMessage)
      child.once('exit', reject)
      child.send({ type: 'probe', id: my, gc: true })
    })
  const agent = new Agent({ keepAlive: false })
  for (let waited = 0; ; waited += 100) {
    if ((await send(port, agent, 'GET', '/version').catch(() => 0)) === 200) break
    if (child.exitCode !== null || waited > 20_000) throw new Error('serve did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { child, port, probe }
}

test('serve on level: the post-GC heap stays flat over many requests once every package is cached', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appr-heap-'))
  const { child, port, probe } = await startServe(`level:${dir}`)
  const keep = new Agent({ keepAlive: true, maxSockets: CLIENTS })
  const fresh = new Agent({ keepAlive: false, maxSockets: CLIENTS })
  try {
    const pkg = (i: number) => `/api/v1/packages/heap-${i % 4}/pkg-${i}`
    for (let i = 0; i < PACKAGES; i++) {
      const body = Buffer.from(JSON.stringify({ blob: chart(i).toString('base64'), release: '1.0.0', media_type: 'helm' }))
      assert.is(await send(port, keep, 'POST', pkg(i), body), 200)
      assert.is(await send(port, keep, 'GET', `${pkg(i)}/1.0.0/helm/pull`), 200)
    }
    const paths = [
      (i: number) => `${pkg(i)}/default/helm/pull`,
      (i: number) => `${pkg(i)}/default/helm`,
      (i: number) => `${pkg(i)}/default/helm/pull/json`,
      (i: number) => pkg(i),
      (i: number) => `/api/v1/packages?namespace=heap-${i % 4}`,
    ]
    const heaps: number[] = []
    let n = 0
    for (let round = 0; round < ROUNDS; round++) {
      let next = 0
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (next < PER_ROUND) {
            next++
            const k = n++
            // One request in 16 on a new connection: per-connection state must not pile up either.
            const status = await send(port, k % 16 === 0 ? fresh : keep, 'GET', paths[k % paths.length]!((k * 7919) % PACKAGES))
            assert.is(status, 200)
          }
        }),
      )
      heaps.push((await probe()).heapUsed)
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const q = ROUNDS / 4
    const ratio = mean(heaps.slice(-q)) / mean(heaps.slice(0, q))
    const mib = (b: number) => (b / 2 ** 20).toFixed(1)
    console.log(`[heap] ${ROUNDS * PER_ROUND} requests: post-GC heap ${heaps.map(mib).join(' ')} MiB; last ÷ first quarter ${ratio.toFixed(3)}`)
    assert.ok(ratio <= 1.1, `post-GC heap grew: last ÷ first quarter ${ratio.toFixed(3)}`)
  } finally {
    keep.destroy()
    fresh.destroy()
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
