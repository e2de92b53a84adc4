/**
 * The oci section: pulls of the same releases through the appr API and through `/v2/`, on one
 * `appr-core` handler over one registry, now that both views are the same records. Each release
 * is pushed once (appr API); then the appr pull (`GET …/<release>/helm/pull`, one request) and
 * the OCI pull (`pullRelease`: the manifest by tag, then the chart blob, verified) alternate in
 * blocks (each side first in turn), so load on the machine hits both sides alike.
 */
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { Registry } from '../../src/index.js'
import { createHandler } from '../../src/http/index.js'
import { serve } from '../../src/http/node.js'
import { ociClient, pullRelease } from '../../src/oci/index.js'
import type { Backend } from '../lib/backends.js'
import { tar } from '../lib/tarball.js'

/** One backend and chart size: pulls per second through each API. */
export interface OciRow {
  readonly backend: string
  readonly kib: number
  readonly releases: number
  readonly pulls: number
  readonly apprPerSec: number
  readonly ociPerSec: number
  /** `ociPerSec / apprPerSec`. */
  readonly ratio: number
  /** Requests per pull: 1 through the appr API, 2 through `/v2/`. */
  readonly requests: { readonly appr: number; readonly oci: number }
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
      const names = Array.from({ length: options.releases }, (_, i) => `bench/oci${kib}k${i}`)
      const sizes: number[] = []
      for (const name of names) {
        const blob = chart(name.split('/')[1]!, kib)
        sizes.push(blob.byteLength)
        await registry.push({ package: name, release: '1.0.0', format: 'helm', blob })
      }
      const pulls = kib >= 1024 ? Math.max(20, Math.floor(options.pulls / 20)) : options.pulls
      const block = Math.max(1, Math.min(options.block, Math.ceil(pulls / 10)))
      const spent = { appr: 0, oci: 0 }
      const sides = {
        appr: async (k: number) => {
          const res = await fetch(`${server.url}/api/v1/packages/${names[k]}/1.0.0/helm/pull`)
          if ((await res.arrayBuffer()).byteLength !== sizes[k]) throw new Error(`appr pull of ${names[k]}: ${res.status}`)
        },
        oci: async (k: number) => {
          const pulled = await pullRelease(client, names[k]!, '1.0.0')
          if (pulled.formats[0]!.blob.byteLength !== sizes[k]) throw new Error(`/v2/ pull of ${names[k]}: wrong size`)
        },
      }
      for (let done = 0; done < pulls; done += block) {
        const n = Math.min(block, pulls - done)
        // Each block runs both sides, in turns first, so a change of load hits both alike.
        const order = (done / block) % 2 === 0 ? (['appr', 'oci'] as const) : (['oci', 'appr'] as const)
        for (const side of order) {
          const started = performance.now()
          for (let i = 0; i < n; i++) await sides[side]((done + i) % names.length)
          spent[side] += performance.now() - started
        }
      }
      const apprPerSec = pulls / (spent.appr / 1000)
      const ociPerSec = pulls / (spent.oci / 1000)
      rows.push({ backend: backend.name, kib, releases: names.length, pulls, apprPerSec, ociPerSec, ratio: ociPerSec / apprPerSec, requests: { appr: 1, oci: 2 } })
      options.log(`${backend.name} oci ${kib} KiB: appr ${apprPerSec.toFixed(0)}/s, /v2/ ${ociPerSec.toFixed(0)}/s`)
    }
  } finally {
    await server.close()
    await registry.close()
  }
  return rows
}
