/**
 * The oci section: pushes and pulls through the appr API and through `/v2/`, on one `appr-core`
 * handler over one registry and store. Pushes: the appr push (one JSON request with the base64
 * blob) and `pushRelease` (blob uploads, then the manifest: a chart pushed as `helm push` does,
 * which becomes an appr release) of distinct charts of one size. Pulls: the very same releases
 * both ways, since both views are the same records — the appr pull (`GET …/<release>/helm/pull`,
 * one request) and `pullRelease` (the manifest by tag, then the chart blob, verified). Each pair
 * alternates in blocks, each side first in turn, so load on the machine hits both sides alike.
 */
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { Registry } from '../../src/index.js'
import { createHandler } from '../../src/http/index.js'
import { serve } from '../../src/http/node.js'
import { ociClient, pullRelease, pushRelease } from '../../src/oci/index.js'
import type { Backend } from '../lib/backends.js'
import { tar } from '../lib/tarball.js'

/** One backend, operation and chart size: operations per second through each API. */
export interface OciRow {
  readonly backend: string
  readonly op: 'push' | 'pull'
  readonly kib: number
  readonly releases: number
  /** Operations on each side. */
  readonly ops: number
  readonly apprPerSec: number
  readonly ociPerSec: number
  /** `ociPerSec / apprPerSec`. */
  readonly ratio: number
  /** Requests per operation through each API. */
  readonly requests: { readonly appr: number; readonly oci: number }
}

/** Runs `n` operations of each side in alternating blocks (each side first in turn); milliseconds spent by each. */
async function alternate(n: number, block: number, sides: Record<'appr' | 'oci', (k: number) => Promise<void>>): Promise<{ appr: number; oci: number }> {
  const spent = { appr: 0, oci: 0 }
  for (let done = 0; done < n; done += block) {
    const m = Math.min(block, n - done)
    const order = (done / block) % 2 === 0 ? (['appr', 'oci'] as const) : (['oci', 'appr'] as const)
    for (const side of order) {
      const started = performance.now()
      for (let i = 0; i < m; i++) await sides[side](done + i)
      spent[side] += performance.now() - started
    }
  }
  return spent
}

function chart(name: string, kib: number): Uint8Array {
  // Random bytes, so the gzip is about `kib` large.
  return new Uint8Array(gzipSync(tar(name, { 'Chart.yaml': `apiVersion: v2\nname: ${name}\nversion: 1.0.0\n`, 'data.bin': new Uint8Array(randomBytes(kib * 1024)) })))
}

export async function ociSection(
  backend: Backend,
  options: { readonly kibs: readonly number[]; readonly releases: number; readonly pulls: number; readonly block: number; readonly log: (line: string) => void },
): Promise<OciRow[]> {
  const registry = new Registry({ store: await backend.store() })
  const server = await serve({ handler: createHandler(registry), port: 0 })
  const client = ociClient({ url: server.url })
  const rows: OciRow[] = []
  try {
    for (const kib of options.kibs) {
      const n = kib >= 1024 ? Math.max(10, Math.floor(options.releases / 5)) : options.releases
      const block = Math.max(1, Math.min(options.block, Math.ceil(n / 10)))
      // Pushes: distinct charts of one size, new packages on each side.
      const blobs = Array.from({ length: n }, (_, i) => ({ appr: chart(`a${kib}k${i}`, kib), oci: chart(`o${kib}k${i}`, kib) }))
      let requests = 0
      const counted = ociClient({
        url: server.url,
        fetch: (input, init) => {
          requests++
          return fetch(input, init)
        },
      })
      const pushed = await alternate(n, block, {
        appr: async (k) => {
          const res = await fetch(`${server.url}/api/v1/packages/bench/a${kib}k${k}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ blob: Buffer.from(blobs[k]!.appr).toString('base64'), release: '1.0.0', media_type: 'helm' }),
          })
          if (res.status !== 200) throw new Error(`appr push: ${res.status} ${await res.text()}`)
        },
        oci: async (k) => {
          const name = `bench/o${kib}k${k}`
          await pushRelease(counted, { repository: name, package: name, release: '1.0.0', formats: [{ format: 'helm', blob: blobs[k]!.oci }] })
        },
      })
      const row = (op: 'push' | 'pull', ops: number, spent: { appr: number; oci: number }, oci: number): OciRow => {
        const apprPerSec = ops / (spent.appr / 1000)
        const ociPerSec = ops / (spent.oci / 1000)
        options.log(`${backend.name} oci ${op} ${kib} KiB: appr ${apprPerSec.toFixed(0)}/s, /v2/ ${ociPerSec.toFixed(0)}/s`)
        return { backend: backend.name, op, kib, releases: n, ops, apprPerSec, ociPerSec, ratio: ociPerSec / apprPerSec, requests: { appr: 1, oci } }
      }
      rows.push(row('push', n, pushed, requests / n))
      // Pulls: the releases the appr side pushed, through both APIs.
      const pulls = kib >= 1024 ? Math.max(20, Math.floor(options.pulls / 20)) : options.pulls
      const sizes = blobs.map((b) => b.appr.byteLength)
      const pulled = await alternate(pulls, block, {
        appr: async (i) => {
          const k = i % n
          const res = await fetch(`${server.url}/api/v1/packages/bench/a${kib}k${k}/1.0.0/helm/pull`)
          if ((await res.arrayBuffer()).byteLength !== sizes[k]) throw new Error(`appr pull of a${kib}k${k}: ${res.status}`)
        },
        oci: async (i) => {
          const k = i % n
          const release = await pullRelease(client, `bench/a${kib}k${k}`, '1.0.0')
          if (release.formats[0]!.blob.byteLength !== sizes[k]) throw new Error(`/v2/ pull of a${kib}k${k}: wrong size`)
        },
      })
      rows.push(row('pull', pulls, pulled, 2))
    }
  } finally {
    await server.close()
    await registry.close()
  }
  return rows
}
