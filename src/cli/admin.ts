/**
 * What the admin commands (backup, restore, gc, stats) share: where they act — a store opened
 * directly (`--store`, serve's store specs) or a running server's admin routes (`--registry`,
 * a token with the `admin` scope) — and their progress line on stderr.
 * @module
 */
import { type ApprClient, apiBase, createClient } from '../client/index.js'
import { Registry } from '../registry/registry.js'
import { UsageError } from './args.js'
import { storedLogin } from './credentials.js'
import { formatBytes } from './output.js'
import { openBlobs, openStore } from './serve.js'

/** Options every admin command takes. */
export const ADMIN_OPTIONS = {
  store: { type: 'string' },
  blobs: { type: 'string' },
  registry: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const

export const ADMIN_USAGE = `Where (one of):
  --store <spec>     the store itself, as serve takes it (level:<dir>, redis://…, etcd://…);
                     a level directory must not be open in a running server
  --blobs <spec>     with --store: blob bytes kept elsewhere, as serve's --blobs
  --registry <url>   a running appr-core serve, through its admin routes (needs a token
                     with the admin scope)
  --token <t>        with --registry (env APPR_TOKEN; else the token "appr-core login"
                     stored for that registry)
  --json             machine-readable output on stdout
  -h, --help         this text`

/** An opened store, or a server's admin routes. */
export type AdminTarget =
  | { readonly kind: 'store'; readonly registry: Registry; readonly label: string; close(): Promise<void> }
  | { readonly kind: 'server'; readonly client: ApprClient; readonly label: string; close(): Promise<void> }

/** Opens what `--store`/`--registry` name (exactly one of them). */
export async function openTarget(values: { store?: string | undefined; blobs?: string | undefined; registry?: string | undefined; token?: string | undefined }): Promise<AdminTarget> {
  if ((values.store === undefined) === (values.registry === undefined)) throw new UsageError('give exactly one of --store <spec> and --registry <url>')
  if (values.store !== undefined) {
    const opened = await openStore(values.store)
    let blobs = opened.blobs
    if (values.blobs !== undefined) {
      blobs = (
        await openBlobs(values.blobs).catch(async (error: unknown) => {
          await opened.store.close()
          throw error
        })
      ).blobs
    }
    const registry = new Registry({ store: opened.store, ...(blobs && { blobs }) })
    return { kind: 'store', registry, label: opened.label, close: () => registry.close() }
  }
  if (values.blobs !== undefined) throw new UsageError('--blobs goes with --store')
  let api: string
  try {
    api = apiBase(values.registry!).api
  } catch {
    throw new UsageError(`--registry must be an http(s) URL: ${values.registry}`)
  }
  // As the client commands resolve it: --token, APPR_TOKEN, then the login stored for the registry.
  const token = values.token ?? (process.env.APPR_TOKEN || undefined) ?? storedLogin(values.registry!)?.token
  // No deadline on an answer: a gc or a restore of a large store rightly takes long before it answers.
  const client = createClient({ registry: values.registry!, timeoutMs: 0, ...(token ? { token } : {}), headers: { 'User-Agent': 'appr-core-cli' } })
  return { kind: 'server', client, label: api, close: async () => {} }
}

/**
 * Progress of a long admin run on stderr: one line redrawn in place on a terminal (at most 5 a
 * second), otherwise a line every `every` records; `done` prints the last state once.
 */
export function recordProgress(label: string, every = 10_000): { update(records: number, bytes: number): void; done(): void } {
  const tty = process.stderr.isTTY === true
  let last = { records: 0, bytes: 0 }
  let shownAt = 0
  let shownRecords = 0
  const line = () => `${label}: ${last.records.toLocaleString('en-US')} records, ${formatBytes(last.bytes)}`
  return {
    update(records, bytes) {
      last = { records, bytes }
      if (tty) {
        const now = Date.now()
        if (now - shownAt < 200) return
        shownAt = now
        process.stderr.write(`\r${line()}\x1b[K`)
      } else if (records - shownRecords >= every) {
        shownRecords = records
        process.stderr.write(`${line()}\n`)
      }
    },
    done() {
      process.stderr.write(tty ? `\r${line()}\x1b[K\n` : `${line()}\n`)
    },
  }
}
