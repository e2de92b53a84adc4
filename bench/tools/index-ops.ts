/**
 * Operations (checks + puts + deletes) in the largest commit of a release of n formats, on the
 * memory store: the index PUT through `/v2/` (every format in one commit), an appr push of one
 * more format, and the `/v2/` DELETE of the whole release. etcd refuses commits over its
 * `maxOpsPerCommit` (127 by default), and the registry then goes one format a commit (docs/oci.md, "Limits").
 *
 *   node --conditions=source --import tsx bench/tools/index-ops.ts [--max 8] [--events]
 */
import { parseArgs } from 'node:util'
import { gzipSync } from 'node:zlib'
import { memoryStore } from '../../adapters/memory/index.js'
import { inspectArchive } from '../../src/archive/index.js'
import { type KvCommit, Registry } from '../../src/index.js'
import { OCI_INDEX, ociDigestOf, projectRelease } from '../../src/oci/index.js'
import { tar } from '../lib/tarball.js'

const tgz = (dir: string, files: Record<string, string>): Uint8Array => gzipSync(tar(dir, files))

const { values } = parseArgs({ options: { max: { type: 'string', default: '8' }, events: { type: 'boolean', default: false } } })
const ops = (c: KvCommit) => (c.checks?.length ?? 0) + (c.puts?.length ?? 0) + (c.deletes?.length ?? 0)
const REPO = 'acme/app'

for (let n = 2; n <= Number(values.max); n++) {
  const store = memoryStore()
  const commits: KvCommit[] = []
  const registry = new Registry({
    events: values.events,
    store: { ...store, name: store.name, capabilities: store.capabilities, commit: async (c) => { commits.push(c); return store.commit(c) } },
  })
  const formats = ['helm', ...Array.from({ length: n - 1 }, (_, i) => `fmt${i}`)]
  const archives = new Map<string, Uint8Array>()
  archives.set('helm', tgz('hello', { 'Chart.yaml': 'apiVersion: v2\nname: hello\nversion: 1.0.0\n' }))
  for (const f of formats.slice(1)) archives.set(f, tgz(f, { 'manifest.yaml': `name: ${f}\n` }))
  const chartYaml = (await inspectArchive(archives.get('helm')!)).manifest?.document
  const projected = projectRelease({
    package: REPO,
    release: '1.0.0',
    created: '2025-01-01T00:00:00Z',
    formats: formats.map((format) => ({ format, blob: { digest: ociDigestOf(archives.get(format)!), size: archives.get(format)!.byteLength }, ...(format === 'helm' ? { chartYaml } : {}) })),
  })
  for (const f of projected.formats) {
    for (const bytes of [f.config.bytes, archives.get(f.format)!]) {
      const { id } = await registry.ociBlobs.startUpload(REPO)
      await registry.ociBlobs.finishUpload(REPO, id, ociDigestOf(bytes), (async function* () { yield bytes })())
    }
    await registry.ociManifests.put(REPO, f.manifest.digest, f.manifest.bytes, f.manifest.mediaType)
  }
  const big = () => Math.max(...commits.splice(0).map(ops))
  commits.length = 0
  await registry.ociManifests.put(REPO, projected.tag, projected.manifest.bytes, OCI_INDEX)
  const put = big()
  await registry.push({ package: REPO, release: '1.0.0', format: 'extra', blob: tgz('extra', { 'manifest.yaml': 'name: extra\n' }) })
  const one = big()
  await registry.ociManifests.delete(REPO, projected.tag)
  const del = big()
  console.log(`${n} formats: index PUT ${put} ops, one more format by appr push ${one}, DELETE of the release (${n + 1} formats) ${del}`)
  await registry.close()
}
