/**
 * Every option of `appr-core serve`, once: flag, `APPR_*` variable, config file key, schema,
 * default and description. Parsing, validation, `--help` and the table in docs/cli.md come from
 * here (a test checks the docs against it). To add an option, add an entry.
 * @module
 */
import { z } from 'zod'
import { DEFAULT_LIMITS } from '../../archive/limits.js'
import { DEFAULT_MAX_BODY_BYTES } from '../../http/middleware/body-limit.js'
import { option } from './table.js'
import { LOG_LEVELS } from '../logger.js'
import { duration, flag, integer, list, nonNegative, oneOf, seconds, text } from './values.js'

const bytes = (min = 1) => integer(min, Number.MAX_SAFE_INTEGER, 'a whole number of bytes')
const count = (min = 1) => integer(min)
/** Chunks of 1 MiB at least keep a chunked upload's record (one entry per chunk) small on any store. */
const DEFAULT_OCI_CHUNK_MIN = 1024 * 1024

export const serveOptions = {
  host: option({ flag: 'host', env: 'APPR_HOST', envAliases: ['HOST'], kind: 'value', schema: text('an interface address'), default: '127.0.0.1', placeholder: '<addr>', description: 'interface to bind' }),
  port: option({ flag: 'port', env: 'APPR_PORT', envAliases: ['PORT'], kind: 'value', schema: integer(0, 65535, 'a port'), default: 5000, placeholder: '<n>', description: 'port (0 = any free port)' }),
  store: option({
    flag: 'store',
    env: 'APPR_STORE',
    kind: 'value',
    schema: text('a store spec'),
    default: 'level:./appr-data',
    placeholder: '<spec>',
    description: 'where data lives',
    details: [
      'level:<dir>                       LevelDB files in <dir>',
      'memory                            in memory, lost on exit',
      'redis://[:pass@]host:port[/db]    Redis (also rediss://)',
      'etcd://host:port[,host:port…]     etcd v3',
    ],
  }),
  blobs: option({
    flag: 'blobs',
    env: 'APPR_BLOBS',
    kind: 'value',
    schema: text('a blob store spec'),
    placeholder: '<spec>',
    description: 'keep blob bytes elsewhere; records stay in --store',
    details: ['oci://[user:pass@]host[:port]/<repository>   an OCI registry (https)', 'oci+http://…                                  the same over plain http'],
  }),
  token: option({
    flag: 'token',
    env: 'APPR_TOKEN',
    kind: 'value',
    schema: text('a token', 'empty token: give a non-empty token, or drop it to run without auth'),
    placeholder: '<t>',
    secret: true,
    description: 'a token with every scope: writes and admin routes need "Authorization: <t>" (or Bearer <t>, or Basic with <t> as password); reads stay open unless --private-reads',
    details: ['`appr login -u ANY -p <t>` stores the token; OCI clients exchange it at /v2/token'],
  }),
  ociAuth: option({
    flag: 'oci-auth',
    env: 'APPR_OCI_AUTH',
    kind: 'value',
    schema: z.enum(['basic', 'bearer'], { error: 'expected basic or bearer' }),
    placeholder: '<mode>',
    shown: 'bearer with --token',
    description: 'how /v2/ challenges OCI clients: bearer = the token flow, where clients exchange the token at /v2/token; basic = Basic only (docs/oci.md)',
  }),
  ociChunkMin: option({
    flag: 'oci-chunk-min',
    env: 'APPR_OCI_CHUNK_MIN',
    kind: 'value',
    schema: bytes(0),
    default: DEFAULT_OCI_CHUNK_MIN,
    placeholder: '<bytes>',
    description: 'OCI-Chunk-Min-Length of chunked /v2/ uploads: every chunk but the last at least this long (0 = none)',
  }),
  tokens: option({
    flag: 'tokens',
    env: 'APPR_TOKENS',
    kind: 'value',
    schema: text('a file'),
    placeholder: '<file>',
    description: 'scoped tokens (YAML or JSON): each with scopes read, write or admin and optional namespace globs (docs/operate.md)',
    details: ['tokens: [{name: ci, token: s3cret, scopes: [write], namespaces: ["acme-*"]}]'],
  }),
  privateReads: option({ flag: 'private-reads', env: 'APPR_PRIVATE_READS', kind: 'boolean', schema: flag, default: false, description: 'anonymous reads are refused (needs --token or --tokens)' }),
  prefix: option({ flag: 'prefix', env: 'APPR_PREFIX', kind: 'value', schema: z.string({ error: 'expected a path such as /cnr' }), placeholder: '<path>', shown: '/cnr and /', description: 'serve the API only under this prefix' }),
  apiVersion: option({ flag: 'api-version', env: 'APPR_API_VERSION', kind: 'value', schema: text('a version'), placeholder: '<v>', shown: '0.7.4', description: 'API level GET /version reports as appr-api' }),
  cors: option({ flag: 'cors', env: 'APPR_CORS', kind: 'boolean', schema: flag, default: true, description: 'send Access-Control-Allow-Origin and answer preflights (--no-cors: off)' }),
  maxBody: option({ flag: 'max-body', env: 'APPR_MAX_BODY', kind: 'value', schema: bytes(), default: DEFAULT_MAX_BODY_BYTES, placeholder: '<bytes>', description: 'largest request body' }),
  headerTimeout: option({ flag: 'header-timeout', env: 'APPR_HEADER_TIMEOUT', kind: 'value', schema: seconds, default: 20_000, shown: '20', placeholder: '<s>', description: 'seconds a client has to send its request head (0 = no limit)' }),
  requestTimeout: option({ flag: 'request-timeout', env: 'APPR_REQUEST_TIMEOUT', kind: 'value', schema: seconds, default: 300_000, shown: '300', placeholder: '<s>', description: 'seconds a client has to send its whole request, body included (0 = no limit)' }),
  idleTimeout: option({ flag: 'idle-timeout', env: 'APPR_IDLE_TIMEOUT', kind: 'value', schema: seconds, default: 30_000, shown: '30', placeholder: '<s>', description: 'seconds a connection may pass with no byte moving either way while the client sends or reads; not while the server computes an answer (0 = no limit)' }),
  uploadTimeout: option({ flag: 'upload-timeout', env: 'APPR_UPLOAD_TIMEOUT', kind: 'value', schema: seconds, default: 3_600_000, shown: '3600', placeholder: '<s>', description: 'seconds after which an unfinished upload counts as abandoned (gc may reclaim it)' }),
  maxRetries: option({ flag: 'max-retries', env: 'APPR_MAX_RETRIES', kind: 'value', schema: count(0), default: 16, placeholder: '<n>', description: 'retries of a mutation after a commit conflict' }),
  cacheEntries: option({ flag: 'cache-entries', env: 'APPR_CACHE_ENTRIES', kind: 'value', schema: count(0), default: 10_000, placeholder: '<n>', description: 'decoded manifests and package records kept in memory (0 = off)' }),
  blobCacheBytes: option({ flag: 'blob-cache-bytes', env: 'APPR_BLOB_CACHE_BYTES', kind: 'value', schema: bytes(0), default: 16 * 1024 * 1024, placeholder: '<bytes>', description: 'bytes of small blobs kept in memory (0 = off)' }),
  maxCompressedBytes: option({ flag: 'max-compressed-bytes', env: 'APPR_MAX_COMPRESSED_BYTES', kind: 'value', schema: bytes(), default: DEFAULT_LIMITS.maxCompressedBytes, placeholder: '<bytes>', description: 'largest package (gzip) accepted' }),
  maxUncompressedBytes: option({ flag: 'max-uncompressed-bytes', env: 'APPR_MAX_UNCOMPRESSED_BYTES', kind: 'value', schema: bytes(), default: DEFAULT_LIMITS.maxUncompressedBytes, placeholder: '<bytes>', description: "largest package's tar stream, gunzipped" }),
  maxRatio: option({ flag: 'max-ratio', env: 'APPR_MAX_RATIO', kind: 'value', schema: nonNegative('a ratio'), default: DEFAULT_LIMITS.maxRatio, placeholder: '<r>', description: 'largest gunzipped ÷ gzip size ratio (checked past 1 MiB)' }),
  maxEntries: option({ flag: 'max-entries', env: 'APPR_MAX_ENTRIES', kind: 'value', schema: count(), default: DEFAULT_LIMITS.maxEntries, placeholder: '<n>', description: 'most files in a package' }),
  maxEntryBytes: option({ flag: 'max-entry-bytes', env: 'APPR_MAX_ENTRY_BYTES', kind: 'value', schema: bytes(), default: DEFAULT_LIMITS.maxEntryBytes, placeholder: '<bytes>', description: 'largest file in a package' }),
  maxPathLength: option({ flag: 'max-path-length', env: 'APPR_MAX_PATH_LENGTH', kind: 'value', schema: count(), default: DEFAULT_LIMITS.maxPathLength, placeholder: '<n>', description: 'longest file path in a package, in characters' }),
  signaturePolicy: option({
    flag: 'signature-policy',
    env: 'APPR_SIGNATURE_POLICY',
    kind: 'list',
    schema: list('a signature policy'),
    default: [] as string[],
    shown: 'none',
    placeholder: '<ns>=<push|channel>:<key.pub>[,…]',
    description: 'require signatures by these public keys in namespace <ns> (* = every other namespace) on every push, or before a channel points at a release (docs/trust.md)',
    details: ['repeatable; in the environment, separate policies with ";"'],
  }),
  gcInterval: option({
    flag: 'gc-interval',
    env: 'APPR_GC_INTERVAL',
    kind: 'value',
    schema: seconds,
    default: 0,
    placeholder: '<s>',
    description: 'run gc in the background every <s> seconds; servers sharing a store take turns through a lease in it (0 = off)',
  }),
  events: option({ flag: 'events', env: 'APPR_EVENTS', kind: 'boolean', schema: flag, default: false, description: 'record the change feed and serve it at GET /api/v1/events (with --token the feed needs the token)' }),
  ui: option({
    flag: 'ui',
    env: 'APPR_UI',
    kind: 'boolean',
    schema: flag,
    default: false,
    description: 'serve the web UI at /ui (docs/ui.md)',
    details: ['off by default: an API host should not start serving HTML on an upgrade'],
  }),
  webhooks: option({
    flag: 'webhooks',
    env: 'APPR_WEBHOOKS',
    kind: 'value',
    schema: text('a file'),
    placeholder: '<file>',
    description: 'deliver the feed to the webhooks in <file>; implies --events',
    details: ['JSON: [{"id", "url", "secret", "types"?, "namespaces"?, "maxAttempts"?}]; several servers', 'on one Redis/etcd store: one delivers at a time; see appr-core webhooks'],
  }),
  logLevel: option({ flag: 'log-level', env: 'APPR_LOG_LEVEL', kind: 'value', schema: oneOf(LOG_LEVELS), default: 'info', placeholder: '<level>', description: `log lines at this level and above: ${LOG_LEVELS.join(', ')}` }),
  metrics: option({ flag: 'metrics', env: 'APPR_METRICS', kind: 'boolean', schema: flag, default: false, description: 'serve Prometheus metrics at GET /metrics, without credentials (docs/monitoring.md)' }),
  waitForStore: option({
    flag: 'wait-for-store',
    env: 'APPR_WAIT_FOR_STORE',
    kind: 'value',
    schema: duration,
    default: 0,
    shown: '0',
    placeholder: '<duration>',
    description: 'at start, keep retrying an unreachable store this long (30s, 2m; 0 = exit 1 at once)',
  }),
  drainTimeout: option({ flag: 'drain-timeout', env: 'APPR_DRAIN_TIMEOUT', kind: 'value', schema: seconds, default: 10_000, shown: '10', placeholder: '<s>', description: 'on SIGTERM/SIGINT, seconds in-flight requests get to finish before their connections are cut' }),
}
