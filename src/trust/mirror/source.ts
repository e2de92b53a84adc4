/**
 * Reading an appr v1 server that the mirror does not trust: every answer is bounded, parsed with
 * a schema and returned as data to check, never as something already believed.
 * @module
 */
import { z } from 'zod'
import type { ApprClient, CallOptions } from '../../client/index.js'
import { ApprError } from '../../errors/index.js'
import { ChannelSchema, type PackageName } from '../../model/index.js'
import { blobChunks, collectBytes } from '../../registry/blob-input.js'
import { deadline } from '../../timing/deadline.js'

/** Per-request options: cancellation and a time limit. */
export interface RequestOptions {
  readonly signal?: AbortSignal | undefined
  readonly timeoutMs: number
}

/**
 * Runs `request` under a deadline of `options.timeoutMs` that bounds the whole of it, a streamed
 * body included (the client's own `timeoutMs` bounds only the wait for headers), and cancels it
 * with `options.signal`; the timer is held until `request` settles ({@link deadline}), so a
 * source that stalls mid-body cannot hold the mirror forever.
 * @throws ApprError `unavailable` (transient) when the deadline passes first
 */
async function withDeadline<T>(what: string, options: RequestOptions, request: (call: CallOptions) => Promise<T>): Promise<T> {
  const { timeoutMs } = options
  const bound = deadline(options.signal, timeoutMs, `no complete answer within ${timeoutMs} ms`)
  try {
    return await request({ signal: bound.signal, timeoutMs })
  } catch (error) {
    if (bound.expired() && options.signal?.aborted !== true) {
      throw new ApprError('unavailable', `the source did not finish sending ${what} within ${timeoutMs} ms`, { details: { timeoutMs }, transient: true, cause: error })
    }
    throw error
  } finally {
    bound.clear()
  }
}

const ListSchema = z.array(z.object({ name: z.string().max(600) }))
const ManifestListSchema = z.array(z.unknown())
const ChannelListSchema = z.array(ChannelSchema)

function invalidAnswer(what: string, error: z.ZodError): ApprError {
  return new ApprError('invalid-parameters', `the source answered ${what} that is not what appr sends: ${error.issues[0]?.message ?? 'invalid'}`, {
    details: { issues: error.issues.slice(0, 3).map((i) => ({ path: i.path.join('.'), message: i.message })) },
  })
}

/** An answer of the typed client, which does not check shapes, checked against `schema`. */
async function checked<T>(answer: (call: CallOptions) => Promise<unknown>, schema: z.ZodType<T>, what: string, options: RequestOptions): Promise<T> {
  const result = schema.safeParse(await withDeadline(what, options, answer))
  if (!result.success) throw invalidAnswer(what, result.error)
  return result.data
}

/** Names of every package the source lists (as it spells them: still to be validated). */
export async function listPackages(client: ApprClient, options: RequestOptions): Promise<string[]> {
  const list = await checked((call) => client.list({}, call), ListSchema, 'a package list', options)
  return list.map((p) => p.name)
}

/** Every manifest of a package (all releases, all formats), unparsed. */
export async function packageManifests(client: ApprClient, name: PackageName, options: RequestOptions): Promise<unknown[]> {
  return checked((call) => client.releases(name.full, {}, call), ManifestListSchema, 'a release list', options)
}

/** The channels of a package. */
export async function packageChannels(client: ApprClient, name: PackageName, options: RequestOptions): Promise<z.infer<typeof ChannelListSchema>> {
  return checked((call) => client.channels.list(name.full, call), ChannelListSchema, 'a channel list', options)
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
export async function fetchBlob(client: ApprClient, name: PackageName, digest: string, maxBytes: number, options: RequestOptions): Promise<Uint8Array> {
  async function* capped(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
    let total = 0
    for await (const chunk of blobChunks(body)) {
      total += chunk.byteLength
      if (total > maxBytes) throw new BlobTooLarge(`the source sent more than ${maxBytes} bytes`)
      yield chunk
    }
  }
  return withDeadline(`the blob ${digest} of ${name.full}`, options, async (call) => collectBytes(capped((await client.blob(name.full, digest, call)).body)))
}
