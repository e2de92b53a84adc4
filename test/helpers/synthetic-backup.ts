/**
 * A streamed backup of `packages` synthetic packages (one small distinct chart each, every tenth
 * in a `stable` channel), produced lazily: for memory tests and the backup round-trip bench,
 * where building it up front would measure the generator instead of the restore.
 */
import { gzipSync } from 'node:zlib'
import { type BackupRecord, digestBlob } from 'appr-core'

/** A one-entry ustar archive (`pkg-<i>/Chart.yaml`), gzipped: the chart of package `i`. */
export function syntheticChart(i: number, description = `synthetic chart ${i}`): Buffer {
  const body = Buffer.from(`apiVersion: v1\nname: pkg-${i}\nversion: 1.0.0\ndescription: ${description}\n`)
  const header = Buffer.alloc(512)
  header.write(`pkg-${i}/Chart.yaml`, 0)
  header.write('0000644\0', 100)
  header.write('0000000\0', 108)
  header.write('0000000\0', 116)
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124)
  header.write('00000000000\0', 136)
  header.write('        ', 148)
  header.write('0', 156)
  header.write('ustar\0', 257)
  header.write('00', 263)
  let sum = 0
  for (const b of header) sum += b
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512)
  body.copy(padded)
  return gzipSync(Buffer.concat([header, padded, Buffer.alloc(1024)]))
}

export async function* syntheticBackup(packages: number): AsyncGenerator<BackupRecord> {
  yield { kind: 'header', format: 'appr-core-backup', version: 2, created_at: '2026-01-01T00:00:00.000Z' }
  for (let i = 0; i < packages; i++) {
    const bytes = syntheticChart(i)
    const { digest, size } = await digestBlob(bytes)
    const pkg = `ns${i % 100}/pkg-${i}`
    const stable = i % 10 === 0
    yield {
      kind: 'release',
      package: pkg,
      release: '1.0.0',
      mediaType: 'application/vnd.cnr.package-manifest.helm.v0.json',
      content: { mediaType: 'application/vnd.cnr.package.helm.v0.tar+gzip', digest, size, urls: [] },
      metadata: null,
      created_at: '2026-01-01T00:00:00.000Z',
      blob: bytes.toString('base64'),
      channels: stable ? ['stable'] : [],
    }
    if (stable) yield { kind: 'channel', package: pkg, name: 'stable', current: '1.0.0' }
  }
  yield { kind: 'end', packages, releases: packages, channels: Math.ceil(packages / 10), repositories: 0, manifests: 0, tags: 0, blobs: 0 }
}
