/**
 * `appr-core restore`: loads a backup (NDJSON, resumable; or appr's JSON document) into a store
 * or a running server.
 * @module
 */
import { createReadStream } from 'node:fs'
import { fromNdjson } from '../../registry/ndjson.js'
import type { RestoreProgress } from '../../registry/types.js'
import { ADMIN_OPTIONS, ADMIN_USAGE, openTarget, recordProgress } from '../admin.js'
import { runCommand, UsageError } from '../args.js'
import { printJson } from '../output.js'

export const usage = `Usage: appr-core restore FILE|- (--store <spec> | --registry <url>)

Loads a backup written by \`appr-core backup\`:
  NDJSON (a streamed backup)  restored record by record in constant memory, OCI content too
                              (images, tags, blobs streamed and verified); what is stored
                              already (a release with the same blob, a channel set the same way,
                              an OCI manifest, tag or blob) is skipped, so after an
                              interruption, run the same command again to resume
  JSON (appr's document)      validated as a whole first, then written (appr packages only)
The format is recognised from the file's first record. Progress on stderr.

${ADMIN_USAGE}
`

const NDJSON_HEAD = /^\s*\{\s*"kind"\s*:\s*"header"/

/** The input's chunks, and whether it is NDJSON (decided from its first chunk, which is kept). */
async function openInput(path: string): Promise<{ ndjson: boolean; chunks: AsyncIterable<Uint8Array> }> {
  const source = (path === '-' ? process.stdin : createReadStream(path))[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const first = await source.next().catch((error: Error) => {
    throw new UsageError(`cannot read ${path}: ${error.message}`)
  })
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (first.done) return
    yield first.value
    for (let next = await source.next(); !next.done; next = await source.next()) yield next.value
  }
  return { ndjson: !first.done && NDJSON_HEAD.test(first.value.subarray(0, 200).toString('utf8')), chunks: chunks() }
}

async function* counted(chunks: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  let n = 0
  for await (const chunk of chunks) {
    n += chunk.byteLength
    onBytes(n)
    yield chunk
  }
}

export async function run(args: string[]): Promise<number> {
  return runCommand('restore', usage, async ({ parse }) => {
    const { values, positionals } = parse(args, ADMIN_OPTIONS)
    if (positionals.length !== 1) throw new UsageError('restore takes one FILE (or - for stdin)')
    const path = positionals[0]!
    const input = await openInput(path)
    const target = await openTarget(values)
    try {
      const shown = recordProgress('restore')
      let result: RestoreProgress | { status: string }
      if (!input.ndjson) {
        const chunks: Uint8Array[] = []
        for await (const chunk of input.chunks) chunks.push(chunk)
        const text = Buffer.concat(chunks).toString('utf8')
        if (target.kind === 'store') {
          let doc: unknown
          try {
            doc = JSON.parse(text)
          } catch {
            throw new UsageError(`${path} is neither a streamed backup (NDJSON) nor a JSON backup document`)
          }
          await target.registry.restore(doc)
          result = { status: 'ok' }
        } else {
          result = await target.client.admin.restore({ format: 'json', body: text })
        }
      } else if (target.kind === 'store') {
        result = await target.registry.restoreStream(fromNdjson(input.chunks), { onProgress: (p) => shown.update(p.records, p.bytes) })
      } else {
        let sent = 0
        result = await target.client.admin.restore({ format: 'ndjson', body: counted(input.chunks, (n) => shown.update(++sent, n)) })
      }
      shown.done()
      if (values.json) printJson(result)
      else if ('records' in result) {
        const oci = `${result.manifests ?? 0} OCI manifests, ${result.tags ?? 0} tags, ${result.blobs ?? 0} blobs`
        process.stdout.write(`restored ${result.releases} releases (${result.skipped} already there), ${result.channels} channels, ${oci}, ${result.bytes} bytes into ${target.label}\n`)
      }
      else process.stdout.write(`restored the backup document into ${target.label}\n`)
      return 0
    } finally {
      await target.close()
    }
  })
}
