// How much memory `appr-core oci copy` holds while it copies a large chart between an appr-core
// server (its own process, LevelDB) and a docker-registry, both ways: the copy's peak RSS
// (/usr/bin/time -v) beside the chart's size, and the same for a tiny chart as the baseline.
// Not part of npm test or npm run bench (it needs docker-registry and /usr/bin/time):
//   node --conditions=source --import tsx bench/tools/oci-copy-memory.ts [--mib 48]
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseArgs } from 'node:util'
import { createClient } from 'appr-core/client'
import { root, startServe } from '../../test/cli/serve-helpers.js'
import { startDockerRegistry } from '../../test/helpers/servers.js'
import { tgz } from '../../test/registry/helpers.js'

const run = promisify(execFile)
const { values } = parseArgs({ options: { mib: { type: 'string', default: '48' } } })
const mib = Number(values.mib)
const dir = mkdtempSync(join(tmpdir(), 'appr-copy-bench-'))
const peer = await startDockerRegistry({ suite: 'oci copy memory' })
if (!peer) process.exit(0)
const served = await startServe(['--store', `level:${dir}`, '--port', '0', '--max-body', String(512 * 1024 * 1024)])
try {
  const appr = createClient({ registry: served.url })
  // base64 of random bytes: incompressible enough that the gzip is about the size asked for.
  const big = await tgz({ 'big/Chart.yaml': 'apiVersion: v2\nname: big\nversion: 1.0.0\n', 'big/data.txt': randomBytes(Math.floor((mib * 1024 * 1024 * 3) / 4)).toString('base64') })
  const small = await tgz({ 'small/Chart.yaml': 'apiVersion: v2\nname: small\nversion: 1.0.0\n' })
  await appr.push('bench/big', { release: '1.0.0', format: 'helm', blob: big })
  await appr.push('bench/small', { release: '1.0.0', format: 'helm', blob: small })
  const main = join(root, 'src/cli/main.ts')
  const measure = async (label: string, args: string[], bytes: number) => {
    const started = performance.now()
    const { stderr } = await run('/usr/bin/time', ['-v', process.execPath, ...(process.env.COPY_NODE_FLAGS ? process.env.COPY_NODE_FLAGS.split(' ') : []), '--conditions=source', '--import', 'tsx', main, 'oci', 'copy', ...args, '--plain-http', '--registry', served.url], { cwd: root, maxBuffer: 1 << 24 })
    const seconds = (performance.now() - started) / 1000
    const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? Number.NaN) / 1024
    console.log(`${label.padEnd(34)} blob ${(bytes / 1048576).toFixed(1).padStart(6)} MiB  peak RSS ${rss.toFixed(0).padStart(5)} MiB  ${seconds.toFixed(1)} s`)
  }
  await measure('appr → OCI, tiny chart', ['bench/small', `oci://${peer.host}/bench/small`], small.byteLength)
  await measure('appr → OCI, large chart', ['bench/big', `oci://${peer.host}/bench/big`], big.byteLength)
  await measure('OCI → appr, tiny chart', [`oci://${peer.host}/bench/small`, 'back/small'], small.byteLength)
  await measure('OCI → appr, large chart', [`oci://${peer.host}/bench/big`, 'back/big'], big.byteLength)
} finally {
  await served.stop()
  await peer.stop()
  rmSync(dir, { recursive: true, force: true })
}
