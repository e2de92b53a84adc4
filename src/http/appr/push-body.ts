/**
 * appr request bodies: JSON or form-urlencoded objects, and the push body in its three shapes.
 * @module
 */
import { ApprError } from '../../errors/index.js'
import { DEFAULT_FORMAT } from '../../model/index.js'
import type { Manifest } from '../../model/types.js'
import { decodeBase64 } from '../../registry/blob-input.js'
import type { BlobInput, StagedBlob, StagedPushInput } from '../../registry/types.js'
import { limitedBody, readBody } from '../middleware/body-limit.js'
import type { RegistryApi } from '../options.js'
import type { HttpRequest } from '../request-view.js'
import { type BlobSink, type ScannedBody, scanPushBody } from './json-push.js'

const decoder = new TextDecoder('utf-8', { fatal: false })

/**
 * Parses a body that must be a JSON object (or, when the content type says so, a
 * form-urlencoded one; its `metadata` field is parsed as JSON when it is JSON).
 * @throws invalid-usage for an empty body, malformed JSON, or anything but an object
 */
export function parseObjectBody(bytes: Uint8Array, contentType: string | null): Record<string, unknown> {
  const text = decoder.decode(bytes)
  if ((contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const fields: Record<string, unknown> = Object.create(null)
    for (const [key, value] of new URLSearchParams(text)) fields[key] = value
    if (typeof fields.metadata === 'string') {
      try {
        fields.metadata = JSON.parse(fields.metadata)
      } catch {
        // Not JSON: keep the text as the metadata.
      }
    }
    return fields
  }
  if (text.trim() === '') throw new ApprError('invalid-usage', 'the request body is empty; a JSON object is expected')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ApprError('invalid-usage', 'the request body is not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApprError('invalid-usage', 'the request body must be a JSON object')
  }
  return parsed as Record<string, unknown>
}

/** A push, checked: what {@link Registry.push} needs besides the package. */
export interface PushFields {
  readonly release: string
  /** The blob's bytes, or the blob staged while a JSON body streamed in. */
  readonly blob: BlobInput | StagedBlob
  readonly format: string
  readonly metadata: unknown
  readonly force: boolean
  /** Signatures of the manifest the push creates (appr-core extension, docs/trust.md). */
  readonly signatures?: readonly unknown[]
}

/** `true`, `"true"` and `"True"` (Python's spelling) mean yes; anything else no. */
export function truthy(value: unknown): boolean {
  return value === true || value === 'true' || value === 'True'
}

/**
 * Extracts appr's push fields from a parsed body. `media_type` defaults to `kpm` as in appr;
 * the registry reduces a full media type to its format and validates the release and the blob.
 * `blob` is the blob when it does not come as the body's base64 `blob` member (raw or streamed bodies).
 */
export function pushFields(body: Record<string, unknown>, blob?: BlobInput | StagedBlob): PushFields {
  const { release } = body
  if (typeof release !== 'string' || release === '') {
    throw new ApprError('invalid-release', 'the push body needs a release (an exact SemVer version)', {
      details: { field: 'release' },
    })
  }
  if (blob === undefined && typeof body.blob !== 'string') {
    throw new ApprError('invalid-parameters', 'the push body needs a blob (the base64 of a gzipped tarball)', {
      details: { field: 'blob' },
    })
  }
  const mediaType = body.media_type ?? body.mediaType
  if (mediaType !== undefined && mediaType !== null && typeof mediaType !== 'string') {
    throw new ApprError('invalid-parameters', 'media_type must be a string', { details: { field: 'media_type' } })
  }
  const { signatures } = body
  if (signatures !== undefined && signatures !== null && !Array.isArray(signatures)) {
    throw new ApprError('invalid-parameters', 'signatures must be an array', { details: { field: 'signatures' } })
  }
  return {
    release,
    blob: blob ?? decodeBase64(body.blob as string),
    format: typeof mediaType === 'string' && mediaType !== '' ? mediaType : DEFAULT_FORMAT,
    metadata: body.metadata ?? null,
    force: truthy(body.force),
    ...(Array.isArray(signatures) && { signatures }),
  }
}

/**
 * A JSON push whose declared Content-Length is at most this is read whole and parsed with
 * `JSON.parse` (a chart is a few KiB): the streaming scanner and its blob channel cost more
 * than they save there. Same outcomes as the scanner (see {@link smallJsonPush}).
 */
const SMALL_JSON_BYTES = 256 * 1024

/** What the scanner lets through a blob string: base64 (either alphabet), padding, `\n` and `\r` escapes. */
const SCANNABLE_BLOB = /^[A-Za-z0-9+/_=\r\n-]*$/

const RAW_TYPES = /^application\/(?:gzip|x-gzip|octet-stream|x-tar\+gzip|vnd\.(?:appr|cnr)\.package\.[^;]*\+gzip)\s*(?:;|$)/i

/** Stores a received push: a staged blob through its own `push`, any other through the registry's. */
export function submitPush(registry: Pick<RegistryApi, 'push'>, input: StagedPushInput, blob: PushFields['blob']): Promise<Manifest> {
  return isStaged(blob) ? blob.push(input) : registry.push({ ...input, blob })
}

const isStaged = (blob: PushFields['blob']): blob is StagedBlob => typeof (blob as Partial<StagedBlob>).discard === 'function'

/**
 * Receives a push in any of its three shapes and hands it to `run` once:
 * - JSON `{blob, release, media_type?, metadata?, force?}` (appr's), members in any order: the
 *   blob is decoded and streamed into `stage` (validated and stored, not yet recorded) as it
 *   arrives, so memory does not grow with the blob; once the body has ended, `run` gets the
 *   members, wherever they came, and the staged blob to record. A body that fails fails with
 *   the staging's own error (413, an unsafe entry, a store outage) when that is what stopped it.
 * - form-urlencoded with the same fields (read whole, within `limit`).
 * - the raw gzip bytes as the body (`Content-Type: application/gzip` or
 *   `application/octet-stream`) with `release`, `media_type`, `metadata` and `force` in the
 *   query string: an appr-core extension, always streamed.
 * `run` gets every body member too (for `POST /api/v1/packages`, which names the package there).
 */
export async function receivePush(
  request: HttpRequest,
  limit: number,
  stage: (blob: BlobInput) => Promise<StagedBlob>,
  run: (body: Record<string, unknown>, push: PushFields) => Promise<unknown>,
): Promise<void> {
  const type = request.headers.get('content-type') ?? ''
  if (RAW_TYPES.test(type)) {
    const q = request.query
    const body: Record<string, unknown> = Object.create(null)
    for (const name of ['release', 'media_type', 'package'] as const) {
      const value = q.get(name)
      if (value !== null) body[name] = value
    }
    if (q.has('metadata')) {
      try {
        body.metadata = JSON.parse(q.get('metadata')!)
      } catch {
        throw new ApprError('invalid-parameters', 'metadata must be JSON', { details: { field: 'metadata' } })
      }
    }
    await run(body, pushFields(body, limitedBody(request, limit)))
    return
  }
  if (type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const body = parseObjectBody(await readBody(request, limit), type)
    await run(body, pushFields(body))
    return
  }

  const declared = request.headers.get('content-length')
  let small: Uint8Array | undefined
  if (declared !== null && /^\d{1,7}$/.test(declared) && Number(declared) <= Math.min(SMALL_JSON_BYTES, limit)) {
    small = await readBody(request, limit)
    if (await smallJsonPush(small, stage, run)) return
  }

  let channel: BlobChannel | undefined
  let staging: Promise<StagedBlob> | undefined
  const onBlobStart = (): BlobSink => {
    const opened = blobChannel()
    channel = opened
    staging = stage(opened.stream)
    // A blob the registry refuses (or cannot store) stops the producer at its next write.
    staging.catch((error: unknown) => opened.fail(error))
    return opened.sink
  }
  let scanned: ScannedBody
  try {
    // A small body that JSON.parse refused (or without a string blob) is scanned from the bytes
    // already read, so its errors are the scanner's.
    scanned = await scanPushBody(small === undefined ? limitedBody(request, limit) : oneChunk(small), { onBlobStart })
  } catch (error) {
    // Whatever stopped the scan also ends the staging. When the staging failed first, its error
    // (a limit, an unsafe entry, the store) is the cause; the scan only saw the channel close.
    channel?.fail(error)
    const staged = await staging
    await staged?.discard()
    throw error
  }
  channel?.end()
  const staged = await staging
  try {
    await run(scanned.fields, pushFields(scanned.fields, staged))
  } finally {
    // After a push this does nothing; a body that named no valid release leaves nothing behind.
    await staged?.discard()
  }
}

/**
 * A small JSON push, parsed whole: false (nothing done) unless the body is a JSON object with a
 * string `blob`. As on the streaming path, the blob is staged (validated and stored) before the
 * other members are checked, so a push fails with the same code whatever the body's size; a blob
 * string the scanner would refuse fails as the scanner does.
 */
async function smallJsonPush(
  bytes: Uint8Array,
  stage: (blob: BlobInput) => Promise<StagedBlob>,
  run: (body: Record<string, unknown>, push: PushFields) => Promise<unknown>,
): Promise<boolean> {
  let body: unknown
  try {
    body = JSON.parse(decoder.decode(bytes))
  } catch {
    return false
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false
  const fields = body as Record<string, unknown>
  if (typeof fields.blob !== 'string') return false
  if (!SCANNABLE_BLOB.test(fields.blob)) throw new ApprError('invalid-parameters', 'blob is not valid base64', { details: { field: 'blob' } })
  const staged = await stage(decodeBase64(fields.blob))
  const { blob: _, ...rest } = fields
  try {
    await run(rest, pushFields(rest, staged))
  } finally {
    await staged.discard()
  }
  return true
}

async function* oneChunk(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

interface BlobChannel {
  readonly sink: BlobSink
  readonly stream: AsyncIterable<Uint8Array>
  /** No more chunks: the consumer sees the end once the queue is drained. */
  end(): void
  /** Both sides see `error` from now on. */
  fail(error: unknown): void
}

/**
 * One producer (the body scanner), one consumer (the registry): at most `highWater` bytes
 * queued, beyond which `write` waits. A consumer that stops early fails the channel, so a
 * waiting producer does not wait forever.
 */
function blobChannel(highWater = 1024 * 1024): BlobChannel {
  const queue: Uint8Array[] = []
  let queued = 0
  let ended = false
  let failed = false
  let failure: unknown
  let wakeConsumer: (() => void) | undefined
  let wakeProducer: (() => void) | undefined
  const wake = (): void => {
    const consumer = wakeConsumer
    const producer = wakeProducer
    wakeConsumer = undefined
    wakeProducer = undefined
    consumer?.()
    producer?.()
  }
  const fail = (error: unknown): void => {
    if (failed) return
    failed = true
    failure = error
    wake()
  }
  async function* stream(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        if (failed) throw failure
        const chunk = queue.shift()
        if (chunk !== undefined) {
          queued -= chunk.byteLength
          wake()
          yield chunk
          continue
        }
        if (ended) return
        await new Promise<void>((resolve) => (wakeConsumer = resolve))
      }
    } finally {
      if (!ended) fail(new ApprError('invalid-usage', 'the push stopped reading the blob'))
    }
  }
  return {
    stream: stream(),
    sink: {
      async write(chunk) {
        if (failed) throw failure
        queue.push(chunk)
        queued += chunk.byteLength
        wake()
        while (queued > highWater && !failed) await new Promise<void>((resolve) => (wakeProducer = resolve))
        if (failed) throw failure
      },
    },
    end() {
      ended = true
      wake()
    },
    fail,
  }
}

