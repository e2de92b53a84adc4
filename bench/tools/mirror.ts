/**
 * Mirror throughput: a source registry of N packages (one release, one channel each, small
 * charts) served over node:http, mirrored into an empty registry, then mirrored again (nothing to
 * transfer). Prints packages/s and MiB/s of each run. Never part of `npm test`.
 *
 *   node --conditions=source --import tsx bench/tools/mirror.ts [packages=1000] [concurrency=4]
 */
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { createHandler } from 'appr-core/http'
import { serve } from 'appr-core/http/node'
import { mirror } from 'appr-core/trust'
import { gzipSync } from 'node:zlib'
import * as tar from 'tar-stream'

const packages = Number(process.argv[2] ?? 1000)
const concurrency = Number(process.argv[3] ?? 4)

async function chart(name: string, version: string, padding: number): Promise<Uint8Array> {
  const pack = tar.pack()
  pack.entry({ name: `${name}/Chart.yaml`, mtime: new Date(0) }, `name: ${name}\nversion: ${version}\n`)
  // Incompressible-ish filler so blobs have a realistic size (a few KiB of gzip).
  pack.entry({ name: `${name}/templates/data.txt`, mtime: new Date(0) }, Buffer.from(Array.from({ length: padding }, (_, i) => (i * 7919 + name.length * 31) % 251)).toString('base64'))
  pack.finalize()
  const parts: Buffer[] = []
  for await (const part of pack) parts.push(part as Buffer)
  return new Uint8Array(gzipSync(Buffer.concat(parts)))
}

const source = new Registry({ store: memoryStore() })
for (let i = 0; i < packages; i++) {
  const pkg = `ns${i % 10}/pkg${i}`
  await source.push({ package: pkg, release: '1.0.0', format: 'helm', blob: await chart(`pkg${i}`, '1.0.0', 4096 + (i % 7) * 512) })
  await source.channels.add(pkg, 'stable', '1.0.0')
}
const server = await serve({ handler: createHandler(source), host: '127.0.0.1', port: 0 })
const destination = new Registry({ store: memoryStore() })
for (const label of ['first run', 'second run']) {
  const report = await mirror({ source: server.url, destination, concurrency })
  const mib = report.bytes / 1024 / 1024
  console.log(
    `${label}: ${packages} packages in ${report.seconds.toFixed(2)} s = ${(packages / report.seconds).toFixed(0)} packages/s, ` +
      `${mib.toFixed(2)} MiB = ${(mib / report.seconds).toFixed(2)} MiB/s (copied ${report.releases.copied}, skipped ${report.releases.skipped}, failed ${report.releases.failed}; concurrency ${concurrency})`,
  )
}
await server.close()
await Promise.all([source.close(), destination.close()])
