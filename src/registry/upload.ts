/**
 * Getting a blob's bytes into the blob store before its release is recorded: staged for the
 * commit itself (inline: small bytes on the default store), written whole after an in-memory
 * validation (small bytes on a separate store), or streamed through validation; each object
 * marked `uploading` first so gc reclaims what no commit makes live, and discarded on failure.
 * @module
 */
import { quickInspect } from '../archive/inspect.js'
import { QUICK_BYTES, quickFacts } from '../archive/quick.js'
import { analyzeBlob, type BlobFacts } from '../archive/validate.js'
import { ApprError, type ErrorDetails } from '../errors/index.js'
import type { KvPut } from '../storage/kv.js'
import type { RegistryContext } from './context.js'
import { decode, encode, keys, ObjectRecordType } from './records.js'
import type { PushInput } from './types.js'

export interface Upload {
  readonly id: string
  readonly facts: BlobFacts
  /** The object's own writes, not made yet: they go into the commit that records the release (inline push). */
  readonly staged?: { readonly puts: readonly KvPut[]; readonly absent: string }
  /** The bytes, when the push gave them (an inline push: its object is not written yet). */
  readonly bytes?: Uint8Array
  /** The archive's manifest document as validation read it (an inline push of a chart with an OCI view), so the commit need not read the archive again. */
  readonly chart?: { readonly document: unknown }
  /** The object is an OCI blob's, live already (a chart pushed through `/v2/`): shared, never deleted here. */
  readonly adopted?: boolean
}

/** When the release would be recorded (the clock of the context). */
const now = (ctx: RegistryContext): string => ctx.clock().toISOString()

/**
 * A small blob given as bytes, validated in memory, whose object can be written by the very
 * commit that records the release: push is then one read and one commit, and a rejected or
 * conflicting push has written nothing. `undefined` → the streaming path.
 */
export function inlineUpload(ctx: RegistryContext, blob: PushInput['blob'], withChart = false): { upload: Upload; bytes: Uint8Array } | undefined {
  if (ctx.kvBlobs === undefined || !(blob instanceof Uint8Array) || blob.byteLength > QUICK_BYTES) return undefined
  const bytes = blob.slice() // the caller may reuse its buffer meanwhile
  // Inspection's pass is quickFacts' with a visitor; what it is unsure of, quickFacts alone may still take.
  const inspected = withChart ? quickInspect(bytes, ctx.limits && { limits: ctx.limits }) : undefined
  const facts: BlobFacts | undefined = inspected ?? quickFacts(bytes, ctx.limits)
  if (facts === undefined) return undefined
  const id = crypto.randomUUID()
  const staged = ctx.kvBlobs.stage(id, bytes)
  const chart = inspected && { document: inspected.manifest?.document }
  return staged && { upload: { id, facts, staged, bytes, ...(chart && { chart }) }, bytes }
}

/**
 * Validates small bytes in one synchronous pass and writes them as one object (marked first, so
 * gc reclaims it if no commit makes it live). The upload keeps the bytes, so a commit that needs
 * the Chart.yaml reads it from them, not from the store. `undefined` when the quick pass cannot
 * decide: the caller streams instead.
 */
export async function writeSmall(ctx: RegistryContext, bytes: Uint8Array, withChart: boolean, details: ErrorDetails): Promise<Upload | undefined> {
  const inspected = withChart ? quickInspect(bytes, ctx.limits && { limits: ctx.limits }) : undefined
  const facts: BlobFacts | undefined = inspected ?? quickFacts(bytes, ctx.limits)
  if (facts === undefined) return undefined
  const id = await startUpload(ctx, details)
  try {
    await ctx.blobs.write(id, oneChunk(bytes))
  } catch (error) {
    await discardUpload(ctx, id)
    throw error
  }
  return { id, facts, bytes, ...(inspected && { chart: { document: inspected.manifest?.document } }) }
}

async function* oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes
}

/**
 * Streams `source` through validation into a fresh BlobStore object marked `uploading`; gc
 * reclaims it if no commit ever makes it live. A failed upload is discarded.
 */
export async function uploadBlob(ctx: RegistryContext, source: AsyncIterable<Uint8Array>, details: ErrorDetails, expect?: { readonly digest: string; readonly size: number }): Promise<Upload> {
  const id = await startUpload(ctx, details)
  try {
    const analysis = analyzeBlob(source, ctx.limits)
    analysis.facts.catch(() => undefined) // observed below; avoids an unhandled rejection when write throws first
    await ctx.blobs.write(id, analysis.chunks)
    const facts = await analysis.facts
    if (expect && (expect.digest !== facts.digest || expect.size !== facts.size)) {
      throw new ApprError('invalid-parameters', 'the blob does not match its manifest (digest or size)', {
        details: { ...details, digest: expect.digest, actual: facts.digest },
      })
    }
    return { id, facts }
  } catch (error) {
    await discardUpload(ctx, id)
    throw error
  }
}

/** A fresh object id, marked `uploading` before anything is written under it: gc reclaims it if no commit makes it live. */
export async function startUpload(ctx: RegistryContext, details: ErrorDetails): Promise<string> {
  const id = crypto.randomUUID()
  const marker = keys.obj(id)
  const started = await ctx.store.commit({
    checks: [{ key: marker, version: null }],
    puts: [{ key: marker, value: encode({ state: 'uploading', started_at: now(ctx) }) }],
  })
  if (!started.ok) throw new ApprError('internal-error', 'an upload id was used twice', { details })
  return id
}

/** Deletes an upload that was never recorded: bytes first, then its marker (so a crash leaves a marker gc finds). */
export async function discardUpload(ctx: RegistryContext, id: string): Promise<void> {
  try {
    const marker = await ctx.store.get(keys.obj(id))
    if (marker !== undefined && decode(ObjectRecordType, marker.value, { object: id }).state !== 'uploading') return
    await ctx.blobs.delete(id)
    await ctx.store.commit({ deletes: [keys.obj(id)] })
  } catch {
    // gc reclaims it once the upload times out
  }
}

/** Deletes objects whose records a commit removed. Failures leave orphans for gc. */
export async function deleteObjects(ctx: RegistryContext, ids: readonly string[]): Promise<void> {
  for (const id of ids) await ctx.blobs.delete(id).catch(() => undefined)
}
