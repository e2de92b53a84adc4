/**
 * Push and pull over /v2/ (appr-core's OCI client: blob uploads + manifest PUT; manifest +
 * blob GETs) beside the appr API (one JSON push with the base64 blob; one pull) on the same
 * server, registry and store, in one run. Prints a table; never part of `npm test`.
 *
 *   node --conditions=source --import tsx bench/oci-throughput.ts [--count 200] [--kib 16,1024] [--store memory|level]
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gzipSync } from 'node:zlib'
import { Registry } from '../src/index.js'
import { memoryStore } from '../adapters/memory/index.js'
import { fileBlobStore, levelStore } from '../adapters/level/index.js'
import { createHandler } from '../src/http/index.js'
import { serve } from '../src/http/node.js'
import { ociClient, pullRelease, pushRelease } from '../src/oci/index.js'
import { tar } from './lib/tarball.js'

const { values } = parseArgs({ options: { count: { type: 'string' }, kib: { type: 'string' }, store: { type: 'string' } } })
const count = Number(values.count ?? 200)
const sizes = (values.kib ?? '16,1024').split(',').map(Number)
const kind = values.store ?? 'memory'

const dir = mkdtempSync(join(tmpdir(), 'appr-oci-bench-'))
const store = kind === 'level' ? levelStore({ path: join(dir, 'kv') }) : memoryStore()
const registry = new Registry(kind === 'level' ? { store, blobs: fileBlobStore({ path: join(dir, 'blobs') }) } : { store })
const server = await serve({ handler: createHandler(registry), port: 0 })
const client = ociClient({ url: server.url })

function chart(name: string, version: string, kib: number): Uint8Array {
  // Random, so the gzip size is about `kib`.
  const payload = new Uint8Array(randomBytes(kib * 1024))
  return new Uint8Array(gzipSync(tar(name, { 'Chart.yaml': `name: ${name}\nversion: ${version}\n`, 'data.bin': payload })))
}

async function time(label: string, n: number, bytes: number, run: (i: number) => Promise<void>) {
  const started = performance.now()
  for (let i = 0; i < n; i++) await run(i)
  const s = (performance.now() - started) / 1000
  return { label, opsPerS: n / s, mibPerS: (n * bytes) / 1024 / 1024 / s }
}

const rows: { label: string; opsPerS: number; mibPerS: number }[] = []
for (const kib of sizes) {
  const n = kib >= 1024 ? Math.max(10, Math.floor(count / 10)) : count
  const blobs = Array.from({ length: n }, (_, i) => chart(`c${kib}x${i}`, '1.0.0', kib))
  const size = blobs[0]!.byteLength
  rows.push(
    await time(`appr push ${kib} KiB`, n, size, async (i) => {
      const res = await fetch(`${server.url}/api/v1/packages/appr/c${kib}x${i}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ blob: Buffer.from(blobs[i]!).toString('base64'), release: '1.0.0', media_type: 'helm' }),
      })
      if (res.status !== 200) throw new Error(`appr push: ${res.status} ${await res.text()}`)
    }),
  )
  rows.push(
    await time(`/v2/ push ${kib} KiB`, n, size, async (i) => {
      await pushRelease(client, { repository: `oci/c${kib}x${i}`, package: `oci/c${kib}x${i}`, release: '1.0.0', formats: [{ format: 'helm', blob: blobs[i]! }] })
    }),
  )
  rows.push(
    await time(`appr pull ${kib} KiB`, n, size, async (i) => {
      const res = await fetch(`${server.url}/api/v1/packages/appr/c${kib}x${i}/1.0.0/helm/pull`)
      if ((await res.arrayBuffer()).byteLength !== blobs[i]!.byteLength) throw new Error('appr pull: wrong size')
    }),
  )
  rows.push(
    await time(`/v2/ pull ${kib} KiB`, n, size, async (i) => {
      const pulled = await pullRelease(client, `oci/c${kib}x${i}`, '1.0.0')
      if (pulled.formats[0]!.blob.byteLength !== blobs[i]!.byteLength) throw new Error('/v2/ pull: wrong size')
    }),
  )
}
await server.close()
await registry.close()
rmSync(dir, { recursive: true, force: true })
console.log(`store ${kind}, ${count} packages per small size (a tenth for ≥ 1 MiB), sequential, one process`)
for (const r of rows) console.log(`${r.label.padEnd(22)} ${r.opsPerS.toFixed(1).padStart(8)} ops/s ${r.mibPerS.toFixed(1).padStart(8)} MiB/s`)
