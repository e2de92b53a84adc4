/**
 * The admin routes (`/api/v1/admin/…`): backup, restore, gc and stats of the whole registry, for
 * `appr-core backup|restore|gc|stats --registry URL`. Served only with `HandlerOptions.admin`;
 * every one is an `admin` action for the authorize hook (never open by default).
 * @module
 */
import { ApprError } from '../../errors/index.js'
import { fromNdjson, toNdjson } from '../../registry/ndjson.js'
import { readBody } from '../middleware/body-limit.js'
import type { HandlerOptions, RegistryApi } from '../options.js'
import { jsonReply, reply } from '../reply.js'
import type { Route } from '../router.js'

/** The media type of streamed backups. */
export const NDJSON = 'application/x-ndjson'

/** The admin part of a registry: what the admin routes call. */
type AdminApi = Required<Pick<RegistryApi, 'backup' | 'restore' | 'backupStream' | 'restoreStream' | 'gc' | 'stats'>>

function adminApi(registry: RegistryApi): AdminApi | undefined {
  const { backup, restore, backupStream, restoreStream, gc, stats } = registry
  if (!backup || !restore || !backupStream || !restoreStream || !gc || !stats) return undefined
  return registry as AdminApi
}

async function* encoded(lines: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder()
  for await (const line of lines) yield encoder.encode(line)
}

/**
 * - `GET …/admin/stats` → {@link RegistryStats}
 * - `POST …/admin/gc` → `{deletedBlobs}`
 * - `GET …/admin/backup` → the NDJSON backup, streamed (`?format=json`: appr's backup document, built in memory)
 * - `POST …/admin/restore` → an NDJSON body is restored as it arrives (resumable; no body limit,
 *   lines are bounded), answering the restore's counts; an `application/json` body is appr's
 *   backup document (within `maxBodyBytes`), answering `{status: "ok"}`
 */
export function adminRoutes<P>(registry: RegistryApi, options: HandlerOptions<P>, maxBodyBytes: number): Route[] {
  const api = options.admin ? adminApi(registry) : undefined
  const paths = ['/api/v1/admin/stats', '/api/v1/admin/gc', '/api/v1/admin/backup', '/api/v1/admin/restore']
  if (api === undefined) return paths.map((path) => ({ path, methods: {} }))
  return [
    { path: paths[0]!, methods: { GET: { operation: 'admin-stats', action: 'admin', run: async () => jsonReply(await api.stats(), 200, { 'cache-control': 'no-store' }) } } },
    { path: paths[1]!, methods: { POST: { operation: 'admin-gc', action: 'admin', run: async () => jsonReply(await api.gc()) } } },
    {
      path: paths[2]!,
      methods: {
        GET: {
          operation: 'admin-backup',
          action: 'admin',
          run: async ({ query }) => {
            const format = query.get('format') ?? 'ndjson'
            if (format === 'json') return jsonReply(await api.backup(), 200, { 'cache-control': 'no-store' })
            if (format !== 'ndjson') throw new ApprError('invalid-parameters', 'format must be ndjson or json', { details: { format: format.slice(0, 20) } })
            return reply(200, { 'content-type': NDJSON, 'cache-control': 'no-store' }, encoded(toNdjson(api.backupStream())))
          },
        },
      },
    },
    {
      path: paths[3]!,
      methods: {
        POST: {
          operation: 'admin-restore',
          action: 'admin',
          run: async ({ req }) => {
            const type = req.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
            if (type === 'application/json') {
              const bytes = await readBody(req, maxBodyBytes)
              let doc: unknown
              try {
                doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
              } catch (cause) {
                throw new ApprError('invalid-parameters', 'the body is not JSON', { cause })
              }
              await api.restore(doc)
              return jsonReply({ status: 'ok' })
            }
            if (type !== NDJSON) throw new ApprError('invalid-usage', `restore takes ${NDJSON} (a streamed backup) or application/json (appr's backup document)`, { details: { 'content-type': type ?? null } })
            if (req.body === null) throw new ApprError('invalid-parameters', 'the backup is empty')
            return jsonReply(await api.restoreStream(fromNdjson(req.body)))
          },
        },
      },
    },
  ]
}
