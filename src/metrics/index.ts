/**
 * appr-core/metrics: Prometheus metrics of one server on prom-client, in a registry of its own
 * (never prom-client's global one), so two servers in one process count apart. Plug the result
 * into `createHandler({ metrics })` (request metrics, `GET /metrics`), wrap the store and blob
 * store with {@link Metrics.store} / {@link Metrics.blobs}, give the Registry
 * {@link Metrics.onMutation} and hand it to {@link Metrics.caches}. No label carries a package name, a path or anything a client chose:
 * every label's values are bounded by the code or the configuration. The metric names are in
 * docs/monitoring.md.
 * @module
 */
import { Counter, collectDefaultMetrics, Histogram, Registry as PromRegistry } from 'prom-client'
import { isApprError } from '../errors/index.js'
import type { HttpMetrics, RequestObservation } from '../http/options.js'
import type { CacheStats } from '../registry/release-cache.js'
import type { MutationOutcome } from '../registry/types.js'
import type { BlobStore } from '../storage/blob.js'
import type { KvStore } from '../storage/kv.js'
import { meteredBlobs, meteredStore, type StoreMetrics } from './store.js'

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Also export prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC; default true). */
  readonly processMetrics?: boolean
}

/** What {@link Metrics.caches} reads: `Registry.cacheStats()`. */
export interface CacheSource {
  cacheStats(): Readonly<Record<string, CacheStats>>
}

/** One server's metrics. */
export interface Metrics extends HttpMetrics {
  /** The prom-client registry every metric here lives in. */
  readonly registry: PromRegistry
  /** `store` with every round trip timed and its errors and commit conflicts counted, by adapter. */
  store(store: KvStore): KvStore
  /** `blobs` with the bytes written and read counted, labelled `store` (e.g. `file`, `oci`). */
  blobs(blobs: BlobStore, store: string): BlobStore
  /** Exports the hits and misses of `source`'s caches, read at each scrape. */
  caches(source: CacheSource): void
  /**
   * Counts mutations by outcome and whether they were retried, and their retries: pass it as
   * the Registry's `onMutation` option (a plain function, no `this`).
   */
  readonly onMutation: (outcome: MutationOutcome) => void
}

const SECONDS_HTTP = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const SECONDS_STORE = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** Creates the metrics of one server, in a fresh prom-client registry. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new PromRegistry()
  const registers = [registry]
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry })

  const requests = new Counter({
    name: 'appr_http_requests_total',
    help: 'HTTP requests by method, route template and status, counted when the response body has gone out',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  })
  const latency = new Histogram({
    name: 'appr_http_request_duration_seconds',
    help: 'From the arrival of a request to the end of its response body',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS_HTTP,
    registers,
  })
  const operations = new Counter({
    name: 'appr_operations_total',
    help: 'Registry operations by name and outcome (ok, or the appr error code)',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  })
  const mutations = new Counter({
    name: 'appr_mutations_total',
    help: 'Registry mutations by outcome (committed, failed: its own error or the store\'s, gave-up: resource-in-use after the last retry) and retried (yes: it ran again after a commit conflict)',
    labelNames: ['outcome', 'retried'] as const,
    registers,
  })
  const retries = new Counter({
    name: 'appr_mutation_retries_total',
    help: 'Times a mutation ran again after a commit conflict (or after an error decided on reads another writer changed)',
    registers,
  })
  // Every series exists from the start (rate() of a series that appears late misses its first
  // increase), each child bound once.
  const mutationSeries = new Map<string, ReturnType<typeof mutations.labels>>()
  for (const outcome of ['committed', 'failed', 'gave-up'] as const) {
    for (const retried of ['no', 'yes'] as const) {
      const child = mutations.labels({ outcome, retried })
      child.inc(0)
      mutationSeries.set(`${outcome} ${retried}`, child)
    }
  }
  retries.inc(0)
  const store: StoreMetrics = {
    duration: new Histogram({
      name: 'appr_store_request_duration_seconds',
      help: 'Store round trips (get, getMany, list, commit) by adapter, errors included',
      labelNames: ['adapter', 'op'] as const,
      buckets: SECONDS_STORE,
      registers,
    }),
    errors: new Counter({
      name: 'appr_store_errors_total',
      help: 'Store round trips that failed, by adapter and call',
      labelNames: ['adapter', 'op'] as const,
      registers,
    }),
    conflicts: new Counter({
      name: 'appr_store_commit_conflicts_total',
      help: 'Commits refused because a checked key had changed: each makes its mutation run again (retry), or give up with resource-in-use after the last',
      labelNames: ['adapter'] as const,
      registers,
    }),
    blobBytes: new Counter({
      name: 'appr_blob_bytes_total',
      help: 'Blob bytes written to (in) and read from (out) the blob store, by store (kv: chunks inside the KV store)',
      labelNames: ['direction', 'store'] as const,
      registers,
    }),
  }
  const sources: CacheSource[] = []
  // prom-client counters only go up: each scrape adds what the caches counted since the last one.
  const seen = new Map<string, number>()
  const cacheCounter = new Counter({
    name: 'appr_cache_requests_total',
    help: 'Cache look-ups by cache (records, manifests, blobs) and result (hit, miss): hit ratio = hit / (hit + miss)',
    labelNames: ['cache', 'result'] as const,
    registers,
    collect() {
      const totals = new Map<string, number>()
      for (const source of sources) {
        for (const [cache, stats] of Object.entries(source.cacheStats())) {
          for (const [result, value] of [
            ['hit', stats.hits],
            ['miss', stats.misses],
          ] as const) {
            const key = `${cache}\u0000${result}`
            totals.set(key, (totals.get(key) ?? 0) + value)
          }
        }
      }
      for (const [key, total] of totals) {
        const delta = total - (seen.get(key) ?? 0)
        seen.set(key, total)
        const [cache, result] = key.split('\u0000') as [string, string]
        if (delta > 0) this.inc({ cache, result }, delta)
        else if (delta === 0) this.inc({ cache, result }, 0)
      }
    },
  })
  void cacheCounter

  // prom-client hashes a label object on every call: the children of each label set are looked
  // up once and kept (the sets are bounded: route templates × methods × statuses).
  const series = new Map<string, { readonly count: ReturnType<typeof requests.labels>; readonly time: ReturnType<typeof latency.labels> }>()
  const outcomes = new Map<string, ReturnType<typeof operations.labels>>()

  return {
    registry,
    request(o: RequestObservation) {
      const key = `${o.method} ${o.status} ${o.route}`
      let child = series.get(key)
      if (child === undefined) {
        const labels = { method: o.method, route: o.route, status: String(o.status) }
        child = { count: requests.labels(labels), time: latency.labels(labels) }
        series.set(key, child)
      }
      child.count.inc()
      child.time.observe(o.seconds)
      if (o.operation !== undefined) {
        const outcome = o.error === undefined ? 'ok' : isApprError(o.error) ? o.error.code : 'internal-error'
        const okey = `${o.operation} ${outcome}`
        let counter = outcomes.get(okey)
        if (counter === undefined) {
          counter = operations.labels({ operation: o.operation, outcome })
          outcomes.set(okey, counter)
        }
        counter.inc()
      }
    },
    async exposition() {
      return { contentType: registry.contentType, body: await registry.metrics() }
    },
    store: (kv) => meteredStore(kv, store),
    blobs: (blobs, label) => meteredBlobs(blobs, label, store.blobBytes),
    caches(source) {
      sources.push(source)
    },
    onMutation({ outcome, retries: n }) {
      mutationSeries.get(`${outcome} ${n > 0 ? 'yes' : 'no'}`)?.inc()
      if (n > 0) retries.inc(n)
    },
  }
}
