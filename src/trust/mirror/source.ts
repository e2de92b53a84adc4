/**
 * Reading an appr v1 server that the mirror does not trust: every answer is bounded, parsed with
 * a schema and returned as data to check, never as something already believed.
 * @module
 */
import { z } from 'zod'
import { type Client, call, getJson, packagePath } from '../../client/index.js'
import { ApprError } from '../../errors/index.js'
import { ChannelSchema, type PackageName } from '../../model/index.js'
import { blobChunks, collectBytes } from '../../registry/blob-input.js'

/** Per-request options: cancellation and a time limit. */
export interface RequestOptions {
  readonly signal?: AbortSignal | undefined
  readonly timeoutMs: number
}

const requestInit = (options: RequestOptions): RequestInit => {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  return { signal: options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]) }
}

const ListSchema = z.array(z.object({ name: z.string().max(600) }))
const ManifestListSchema = z.array(z.unknown())
const ChannelListSchema = z.array(ChannelSchema)

function invalidAnswer(what: string, error: z.ZodError): ApprError {
  return new ApprError('invalid-parameters', `the source answered ${what} that is not what appr sends: ${error.issues[0]?.message ?? 'invalid'}`, {
    details: { issues: error.issues.slice(0, 3).map((i) => ({ path: i.path.join('.'), message: i.message })) },
  })
}

async function getParsed<T>(client: Client, url: string, schema: z.ZodType<T>, what: string, options: RequestOptions): Promise<T> {
  const parsed = schema.safeParse(await getJson<unknown>(client, url, requestInit(options)))
  if (!parsed.success) throw invalidAnswer(what, parsed.error)
  return parsed.data
}

/** Names of every package the source lists (as it spells them: still to be validated). */
export async function listPackages(client: Client, options: RequestOptions): Promise<string[]> {
  const list = await getParsed(client, `${client.api}/packages`, ListSchema, 'a package list', options)
  return list.map((p) => p.name)
}

/** Every manifest of a package (all releases, all formats), unparsed. */
export async function packageManifests(client: Client, name: PackageName, options: RequestOptions): Promise<unknown[]> {
  return getParsed(client, packagePath(client, name), ManifestListSchema, 'a release list', options)
}

/** The channels of a package. */
export async function packageChannels(client: Client, name: PackageName, options: RequestOptions): Promise<z.infer<typeof ChannelListSchema>> {
  // The appr client asks with a trailing slash; both appr-core and the reference accept it.
  return getParsed(client, `${packagePath(client, name, 'channels')}/`, ChannelListSchema, 'a channel list', options)
}

/** A blob answer longer than `maxBytes`: the download stops there. */
export class BlobTooLarge extends Error {
  override readonly name = 'BlobTooLarge'
}

/**
 * The bytes the source serves for a blob digest of a package, at most `maxBytes` of them (a
 * longer answer is cut off with {@link BlobTooLarge}, so a hostile source cannot make the mirror
 * hold more than it expects).
 */
export async function fetchBlob(client: Client, name: PackageName, digest: string, maxBytes: number, options: RequestOptions): Promise<Uint8Array> {
  const response = await call(client, packagePath(client, name, 'blobs', 'sha256', digest), requestInit(options))
  if (response.body === null) return new Uint8Array(0)
  async function* capped(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
    let total = 0
    for await (const chunk of blobChunks(body)) {
      total += chunk.byteLength
      if (total > maxBytes) throw new BlobTooLarge(`the source sent more than ${maxBytes} bytes`)
      yield chunk
    }
  }
  return collectBytes(capped(response.body))
}
