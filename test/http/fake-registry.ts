/**
 * A small in-memory stand-in for Registry, used by the HTTP tests only while the real Registry
 * is still a stub (it throws `unsupported`). It follows appr's semantics closely enough to drive
 * every route; `makeRegistry()` in helpers.ts prefers the real Registry whenever it works.
 */
import { createHash } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import semver from 'semver'
import { ApprError } from 'appr-core'
import type { Channel, ListOptions, Manifest, ManifestWithChannels, PushInput, ResolveOptions } from 'appr-core'
import type { RegistryApi } from 'appr-core/http'

const SEG = /^[a-z0-9][a-z0-9._-]{0,254}$/
const manifestType = (f: string) => `application/vnd.appr.package-manifest.${f}.v0.json`
const formatOf = (t: string) => /^application\/vnd\.appr\.package-manifest\.(.+)\.v\d+\.json$/.exec(t)?.[1] ?? t

export function fakeRegistry(): RegistryApi {
  // pkg -> release -> format -> { manifest, bytes }
  const pkgs = new Map<string, Map<string, Map<string, { manifest: Manifest; bytes: Uint8Array }>>>()
  const chans = new Map<string, Map<string, { current: string; releases: Set<string> }>>()

  const name = (p: string) => {
    const parts = p.toLowerCase().split('/')
    if (parts.length !== 2 || !parts.every((s) => SEG.test(s) && s !== '.' && s !== '..')) {
      throw new ApprError('invalid-parameters', `bad package name ${p}`)
    }
    return parts.join('/')
  }
  const release = (r: string) => {
    if (semver.valid(r) !== r) throw new ApprError('invalid-release', `bad release ${r}`)
    return r
  }
  const get = (p: string) => {
    const found = pkgs.get(name(p))
    if (!found) throw new ApprError('package-not-found', `package ${p} not found`)
    return found
  }
  const sorted = (rs: Iterable<string>) => [...rs].sort(semver.rcompare)
  const resolve = (p: string, o: ResolveOptions = {}) => {
    const releases = get(p)
    const q = o.release ?? 'default'
    let r: string | undefined
    if (q === 'default') r = sorted(releases.keys())[0]
    else if (semver.valid(q)) r = releases.has(q) ? q : undefined
    else if (semver.validRange(q.replaceAll(',', ' '))) r = semver.maxSatisfying([...releases.keys()], q.replaceAll(',', ' ')) ?? undefined
    else throw new ApprError('invalid-release', `bad query ${q}`)
    if (r === undefined) throw new ApprError('package-release-not-found', `no release ${q}`)
    const formats = releases.get(r)!
    let f = o.format ?? '-'
    if (f === '-') {
      if (formats.size > 1) throw new ApprError('invalid-usage', 'several formats')
      f = [...formats.keys()][0]!
    }
    const entry = formats.get(formatOf(f))
    if (!entry) throw new ApprError('package-release-not-found', `no format ${f}`)
    return entry
  }
  const withChannels = (m: Manifest): ManifestWithChannels => ({
    ...m,
    channels: [...(chans.get(m.package) ?? new Map()).entries()].filter(([, c]) => c.current === m.release).map(([n]) => n),
  })
  const chan = (p: string, n: string): Channel => {
    const c = chans.get(name(p))?.get(n)
    if (!c) throw new ApprError('channel-not-found', `channel ${n} not found`)
    return { name: n, current: c.current, releases: sorted(c.releases) }
  }
  async function* once(bytes: Uint8Array) {
    yield bytes
  }
  const blobOf = (bytes: Uint8Array, digest: string) => ({
    digest,
    ociDigest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    size: bytes.byteLength,
    stream: once(bytes),
  })

  return {
    async push(input: PushInput) {
      const p = name(input.package)
      const r = release(input.release)
      const f = formatOf(input.format ?? 'kpm')
      if (!(input.blob instanceof Uint8Array)) throw new ApprError('unsupported', 'fake takes bytes only')
      let tar: Buffer
      try {
        tar = gunzipSync(input.blob)
      } catch {
        throw new ApprError('invalid-usage', 'blob is not gzip')
      }
      const existing = pkgs.get(p)?.get(r)?.get(f)
      if (existing && !input.force) throw new ApprError('package-exists', `${p}@${r} exists`)
      const manifest: Manifest = {
        package: p,
        release: r,
        mediaType: manifestType(f),
        content: {
          mediaType: `application/vnd.appr.package.${f}.v0.tar+gzip`,
          size: input.blob.byteLength,
          digest: createHash('sha256').update(tar).digest('hex'),
          urls: [],
        },
        metadata: input.metadata ?? null,
        created_at: new Date().toISOString(),
      }
      if (!pkgs.has(p)) pkgs.set(p, new Map())
      const rels = pkgs.get(p)!
      if (!rels.has(r)) rels.set(r, new Map())
      rels.get(r)!.set(f, { manifest, bytes: input.blob })
      return manifest
    },
    async show(p: string, o?: ResolveOptions) {
      return withChannels(resolve(p, o).manifest)
    },
    async pull(p: string, o?: ResolveOptions) {
      const { manifest, bytes } = resolve(p, o)
      return {
        manifest: withChannels(manifest),
        filename: `${manifest.package.replace('/', '_')}_${manifest.release}.tar.gz`,
        ...blobOf(bytes, manifest.content.digest),
      }
    },
    async blob(p: string, digest: string) {
      for (const formats of get(p).values()) {
        for (const { manifest, bytes } of formats.values()) if (manifest.content.digest === digest) return blobOf(bytes, digest)
      }
      throw new ApprError('package-not-found', 'no such blob')
    },
    async releases(p: string, o: { format?: string } = {}) {
      const rels = get(p)
      return sorted(rels.keys()).flatMap((r) =>
        [...rels.get(r)!.values()].map((e) => e.manifest).filter((m) => o.format === undefined || formatOf(m.mediaType) === formatOf(o.format)),
      )
    },
    async manifests(p: string, r: string) {
      return [...(get(p).get(r)?.values() ?? [])].map((e) => e.manifest)
    },
    async list(o: ListOptions = {}) {
      const packages = [...pkgs.entries()]
        .filter(([p]) => o.namespace === undefined || p.startsWith(`${o.namespace}/`))
        .filter(([p]) => o.query === undefined || p.includes(o.query.toLowerCase()))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([p, rels]) => {
          const releases = sorted(rels.keys())
          const formats = [...rels.get(releases[0]!)!.keys()]
          return { name: p, default: releases[0]!, releases, manifests: formats, visibility: 'public' as const, created_at: '' }
        })
        .filter((s) => o.format === undefined || s.manifests.includes(formatOf(o.format)))
        .filter((s) => o.after === undefined || s.name > o.after)
      const limit = o.limit ?? 1000
      const page = packages.slice(0, limit)
      return packages.length > limit ? { packages: page, next: page.at(-1)!.name } : { packages: page }
    },
    async search(q: string) {
      return [...pkgs.keys()].filter((p) => p.includes(q.toLowerCase())).sort()
    },
    async delete(p: string, r: string, f: string) {
      const rels = get(p)
      const formats = rels.get(r)
      if (!formats?.delete(formatOf(f))) throw new ApprError('package-release-not-found', 'not found')
      if (formats.size === 0) {
        rels.delete(r)
        for (const [n, c] of chans.get(name(p)) ?? []) {
          c.releases.delete(r)
          if (c.releases.size === 0) chans.get(name(p))!.delete(n)
          else c.current = sorted(c.releases)[0]!
        }
      }
      if (rels.size === 0) {
        pkgs.delete(name(p))
        chans.delete(name(p))
      }
    },
    channels: {
      async list(p: string) {
        get(p)
        return [...(chans.get(name(p))?.keys() ?? [])].sort().map((n) => chan(p, n))
      },
      async show(p: string, n: string) {
        get(p)
        return chan(p, n)
      },
      async add(p: string, n: string, r: string) {
        if (!get(p).has(release(r))) throw new ApprError('package-release-not-found', 'no release')
        if (!chans.has(name(p))) chans.set(name(p), new Map())
        const c = chans.get(name(p))!.get(n) ?? { current: r, releases: new Set<string>() }
        c.releases.add(r)
        c.current = r
        chans.get(name(p))!.set(n, c)
        return chan(p, n)
      },
      async remove(p: string, n: string, r: string) {
        get(p)
        chan(p, n)
        const c = chans.get(name(p))!.get(n)!
        c.releases.delete(r)
        if (c.releases.size === 0) {
          chans.get(name(p))!.delete(n)
          return undefined
        }
        if (c.current === r) c.current = sorted(c.releases)[0]!
        return chan(p, n)
      },
      async delete(p: string, n: string) {
        get(p)
        chan(p, n)
        chans.get(name(p))!.delete(n)
      },
    },
  } as unknown as RegistryApi
}
