/**
 * The Helm chart repository view: `GET /helm/<namespace>/index.yaml` (one namespace) and
 * `GET /helm/index.yaml` (all), generated from the registry's `helm`-format releases, and the
 * chart archives at the URLs they list. An index is rebuilt only when what it lists changed
 * (a signature of every package, release and digest in scope), and answered 304 to a client
 * that already holds it (`If-None-Match`), so `helm repo update` costs little when nothing moved.
 * @module
 */
import { sha256Hex } from '../../digest/index.js'
import { ApprError, isApprError } from '../../errors/index.js'
import type { Manifest } from '../../model/types.js'
import { LruMap } from '../../registry/lru.js'
import type { HandlerOptions, RegistryApi } from '../options.js'
import { acceptsGzip, gzip } from '../gzip.js'
import { type Reply, reply } from '../reply.js'
import type { Route, RouteContext } from '../router.js'
import { chartReader, type IndexedChart, indexYaml, type SkippedChart } from './index-file.js'

/** An index as built for one scope: the hash of what it lists, its bytes, and them gzipped once asked for. */
export interface BuiltIndex {
  readonly hash: string
  readonly yaml: Uint8Array
  gzipped?: Promise<Uint8Array>
}

/** Indexes kept built (one per namespace asked for, and the top level). */
const BUILT_SCOPES = 256
/** Version entries kept written (a 10 000-chart namespace listed alone and at the top level is 20 000). */
const FRAGMENTS = 40_000

/** What one Helm view keeps between requests, bounded. */
export interface HelmCaches {
  /**
   * The last index built per scope (a namespace, or '' for all): reused while its signature holds.
   * Bounded: any name in the URL is a scope, so a crawler could otherwise grow it for ever.
   */
  readonly built: LruMap<string, BuiltIndex>
  /** Each listed version's YAML, by what it is written from: a rebuild writes only what changed. */
  readonly fragments: LruMap<string, string>
}

/** Empty caches with the view's bounds (256 scopes, 40 000 version entries). */
export function helmCaches(): HelmCaches {
  return { built: new LruMap(BUILT_SCOPES), fragments: new LruMap(FRAGMENTS) }
}

/** The Helm view's routes (none when `options.helm` is false); `caches` is given only by tests that look into them. */
export function helmRoutes<P>(registry: RegistryApi, options: HandlerOptions<P> = {}, caches: HelmCaches = helmCaches()): Route[] {
  if (options.helm === false) return []
  const readChart = chartReader(registry)
  const { built, fragments } = caches
  // Builds under way, by scope and signature (removed when they settle).
  const building = new Map<string, Promise<BuiltIndex>>()

  async function releasesIn(namespace: string | undefined): Promise<{ pkg: string; manifest: Manifest }[]> {
    const out: { pkg: string; manifest: Manifest }[] = []
    let after: string | undefined
    if (registry.listManifests !== undefined) {
      // One scan of the manifest records in scope: a few store reads however many packages.
      do {
        const page = await registry.listManifests({ format: 'helm', limit: 1000, ...(namespace === undefined ? {} : { namespace }), ...(after === undefined ? {} : { after }) })
        for (const manifest of page.manifests) out.push({ pkg: manifest.package, manifest })
        after = page.next
      } while (after !== undefined)
      return out
    }
    // A registry without it (another RegistryApi): the packages, then each one's releases.
    do {
      const page = await registry.list({ format: 'helm', ...(namespace === undefined ? {} : { namespace }), ...(after === undefined ? {} : { after }) })
      for (const summary of page.packages) {
        // Deleted since it was listed: not there. Any other failure fails the index (never a short one).
        const manifests = await registry.releases(summary.name, { format: 'helm' }).catch((error: unknown) => {
          if (isApprError(error, 'package-not-found')) return []
          throw error
        })
        for (const manifest of manifests) out.push({ pkg: summary.name, manifest })
      }
      after = page.next
    } while (after !== undefined)
    return out
  }

  async function serveIndex({ req }: RouteContext, namespace: string | undefined): Promise<Reply> {
    const releases = await releasesIn(namespace)
    // Sorted: the same releases give the same ETag whichever way they were listed.
    const signature = releases.map(({ pkg, manifest }) => `${pkg} ${manifest.release} ${manifest.content.digest} ${manifest.created_at}`).sort().join('\n')
    const hash = sha256Hex(signature)
    // For clients that take gzip (curl --compressed, proxies; Helm 3 sends no Accept-Encoding,
    // helm/helm#32479 asks for it): a 3.3 MB index travels as ~0.6 MB. The gzipped bytes are
    // another representation, so they carry another strong validator.
    const gzipped = acceptsGzip(req.headers.get('accept-encoding'))
    const etag = gzipped ? `"${hash}-gz"` : `"${hash}"`
    const headers = { etag, 'content-type': 'application/x-yaml; charset=utf-8', 'cache-control': 'no-cache', vary: 'Accept-Encoding' }
    const ifNoneMatch = req.headers.get('if-none-match')
    if (matches(ifNoneMatch, `"${hash}"`) || matches(ifNoneMatch, `"${hash}-gz"`)) return reply(304, headers)
    const scope = namespace ?? ''
    let index = built.get(scope, true)
    if (index?.hash !== hash) {
      // One build per scope and signature: `helm repo update` from many clients right after a
      // push waits for the one build under way instead of starting its own.
      const key = `${scope}\n${hash}`
      let build = building.get(key)
      if (build === undefined) {
        build = buildIndex(releases, namespace).then((yaml) => {
          const done: BuiltIndex = { hash, yaml: new TextEncoder().encode(yaml) }
          built.set(scope, done)
          return done
        })
        building.set(key, build)
        const forget = () => building.delete(key)
        build.then(forget, forget)
      }
      index = await build
    }
    if (!gzipped) return reply(200, { ...headers, 'content-length': String(index.yaml.byteLength) }, index.yaml)
    // Compressed once per built index, on the first request that takes gzip.
    index.gzipped ??= gzip(index.yaml)
    const bytes = await index.gzipped
    return reply(200, { ...headers, 'content-encoding': 'gzip', 'content-length': String(bytes.byteLength) }, bytes)
  }

  async function buildIndex(releases: readonly { pkg: string; manifest: Manifest }[], namespace: string | undefined): Promise<string> {
    const charts: IndexedChart[] = []
    const skipped: SkippedChart[] = []
    for (const { pkg, manifest } of releases) {
      const facts = await readChart(pkg, manifest)
      if (typeof facts === 'string') skipped.push({ package: pkg, release: manifest.release, reason: facts })
      else charts.push({ package: pkg, manifest, facts })
    }
    const prefix = namespace === undefined ? (c: IndexedChart) => `${c.package.split('/')[0]}/` : () => ''
    return indexYaml(charts, skipped, (c) => `${prefix(c)}charts/${c.package.split('/')[1]}/${c.manifest.release}/${String(c.facts.chart.name)}-${c.manifest.release}.tgz`, fragments)
  }

  return [
    { path: '/helm/index.yaml', methods: { GET: { operation: 'helm-index', run: (ctx) => serveIndex(ctx, undefined) } } },
    { path: '/helm/:ns/index.yaml', methods: { GET: { operation: 'helm-index', run: (ctx) => serveIndex(ctx, ctx.params.ns!) } } },
    {
      path: '/helm/:ns/charts/:name/:release/:file',
      package: (params) => `${params.ns}/${params.name}`,
      methods: {
        GET: {
          operation: 'helm-chart',
          run: async ({ req, pkg, params }) => {
            if (!params.file!.endsWith(`-${params.release}.tgz`)) {
              throw new ApprError('resource-not-found', `no chart archive ${params.file}`, { details: { file: params.file } })
            }
            const pulled = await registry.pull(pkg, { release: params.release!, format: 'helm' })
            const release = pulled.manifest.release
            // Served only at the URL an index lists: an exact release of a chart Helm can load,
            // under its Chart.yaml name (known from the index's build, else read once and kept).
            const facts = release === params.release ? await readChart(pkg, pulled.manifest) : 'not an exact release'
            const notFound = typeof facts === 'string' ? facts : params.file !== `${String(facts.chart.name)}-${release}.tgz` ? `the chart is ${String(facts.chart.name)}-${release}.tgz` : undefined
            const etag = `"${pulled.ociDigest}"`
            if (notFound !== undefined || matches(req.headers.get('if-none-match'), etag)) {
              await pulled.stream[Symbol.asyncIterator]().return?.()
              if (notFound !== undefined) throw new ApprError('resource-not-found', `no chart archive ${params.file}: ${notFound}`, { details: { file: params.file } })
              return reply(304, { etag })
            }
            return reply(200, { 'content-type': 'application/gzip', 'content-length': String(pulled.size), etag }, pulled.stream)
          },
        },
      },
    },
  ]
}

function matches(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t === etag || t === `W/${etag}`
  })
}
