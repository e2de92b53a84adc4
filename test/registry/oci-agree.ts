/**
 * The invariant of one registry with two views, checked on its records: the appr view and the
 * OCI view agree (every release at its tag, its formats' manifests naming the blobs appr serves,
 * channels at their release's manifest) and every reference count in the OCI records is true.
 * Shared by the interleaving property (oci-views.test.ts), the backup round trips and the backfill
 * (oci-backfill.test.ts). Packages whose names are not OCI names have no view, and are skipped.
 */
import * as assert from 'uvu/assert'
import type { KvStore, Registry } from 'appr-core'
import { helmTagOf, isRepositoryName, parseManifest, projectIndex } from 'appr-core/oci'
import { collect } from './helpers.js'

const hexOf = (digest: string) => digest.slice('sha256:'.length)
export const formatOf = (mediaType: string) => /package-manifest\.([^.]+)\./.exec(mediaType)![1]!

/** The two views agree, and every count in the OCI records is what the records say. */
export async function assertAgree(registry: Registry, store: KvStore): Promise<void> {
  const all = new Map<string, unknown>()
  for (const e of await store.list({ prefix: 'oci/' })) all.set(e.key, JSON.parse(new TextDecoder().decode(e.value)))
  const manifests = [...all].filter(([k]) => k.startsWith('oci/manifest/'))
  for (const { name } of (await registry.list()).packages) {
    if (!isRepositoryName(name)) continue // no OCI view
    const repo = name
    for (const manifest of await registry.releases(name)) {
      const release = manifest.release
      const top = await registry.ociManifests.get(repo, helmTagOf(release))
      assert.ok(top, `${name} ${release} is at its tag`)
      const formats = await registry.manifests(name, release)
      const record = all.get(`oci/release/${repo}@${release}`) as { formats: Record<string, { digest: string; size: number; mediaType: string }> }
      assert.equal(Object.keys(record.formats).sort(), formats.map((m) => formatOf(m.mediaType)).sort())
      const expectedTop = formats.length === 1 ? Object.values(record.formats)[0]!.digest : projectIndex(Object.entries(record.formats).map(([format, d]) => ({ format, ...d }))).digest
      assert.is(top.digest, expectedTop, `${name} ${release}: the tag names the release's manifest or index`)
      for (const [format, d] of Object.entries(record.formats)) {
        const m = await registry.ociManifests.get(repo, d.digest)
        assert.ok(m, `${name} ${release} ${format}: its manifest is stored`)
        const layer = parseManifest(m.bytes, m.mediaType).layers.find((l) => l.mediaType.includes('tar+gzip'))!
        const pulled = await registry.pull(name, { release, format })
        assert.is(layer.digest, pulled.ociDigest, `${name} ${release} ${format}: the OCI layer is the appr blob`)
        const blob = await registry.ociBlobs.get(repo, layer.digest)
        assert.equal(await collect(blob!.stream), await collect(pulled.stream))
      }
    }
    for (const channel of await registry.channels.list(name)) {
      const t = all.get(`oci/tag/${repo}@${channel.name}`) as { digest: string; appr?: string } | undefined
      if (t?.appr !== 'channel') continue // a client's own tag of that name keeps it
      assert.is(t.digest, (await registry.ociManifests.head(repo, helmTagOf(channel.current)))?.digest, `channel ${channel.name} follows ${channel.current}`)
    }
  }
  // Every appr tag, release record and appr-owned manifest belongs to a release appr has.
  for (const [key, value] of all) {
    const [repo, rest] = [key.slice(key.indexOf('/', 4) + 1, key.lastIndexOf('@')), key.slice(key.lastIndexOf('@') + 1)]
    if (key.startsWith('oci/release/')) assert.ok((await registry.manifests(repo, rest)).length > 0, `${key} is a release`)
    if (key.startsWith('oci/tag/') && (value as { appr?: string }).appr === 'release') assert.ok((await registry.manifests(repo, rest.replaceAll('_', '+'))).length > 0, `${key} is a release`)
    if (key.startsWith('oci/tag/') && (value as { appr?: string }).appr === 'channel') assert.ok(await registry.channels.show(repo, rest), `${key} is a channel`)
    if (key.startsWith('oci/manifest/')) {
      const m = value as { tags: string[]; refs?: number; appr?: { release: string }; bytes: string; mediaType: string }
      if (m.appr) assert.ok(m.tags.length > 0 || m.refs, `${key}: a manifest of the appr view is reachable`)
      for (const t of m.tags) assert.is((all.get(`oci/tag/${repo}@${t}`) as { digest: string }).digest, `sha256:${rest}`)
      const parsed = parseManifest(Buffer.from(m.bytes, 'base64'), m.mediaType)
      for (const child of parsed.manifests) assert.ok(all.has(`oci/manifest/${repo}@${hexOf(child.digest)}`), `${key} names a stored manifest`)
    }
  }
  // Reference counts: links count the manifests naming them, manifests the indexes, blobs the links.
  const count = (pred: (parsed: ReturnType<typeof parseManifest>) => boolean, repo: string) =>
    manifests.filter(([k, v]) => k.startsWith(`oci/manifest/${repo}@`) && pred(parseManifest(Buffer.from((v as { bytes: string }).bytes, 'base64'), (v as { mediaType: string }).mediaType))).length
  for (const [key, value] of all) {
    const repo = key.slice(key.indexOf('/', 4) + 1, key.lastIndexOf('@'))
    const hex = key.slice(key.lastIndexOf('@') + 1)
    if (key.startsWith('oci/link/')) {
      const names = count((p) => [p.config, ...p.layers].some((d) => d && hexOf(d.digest) === hex), repo)
      assert.is((value as { refs?: number }).refs ?? 0, names, `${key} counts the manifests naming it`)
    }
    if (key.startsWith('oci/manifest/')) assert.is((value as { refs?: number }).refs ?? 0, count((p) => p.manifests.some((d) => hexOf(d.digest) === hex), repo), `${key} counts its indexes`)
    if (key.startsWith('oci/blob/')) assert.is((value as { refs: number }).refs, [...all.keys()].filter((k) => k.startsWith('oci/link/') && k.endsWith(`@${key.slice(9)}`)).length, `${key} counts its links`)
  }
}

