/**
 * `appr-core backup`: the whole registry as an NDJSON stream (constant memory) or appr's JSON
 * backup document, from a store or a running server.
 * @module
 */
import { once } from 'node:events'
import { createWriteStream, type WriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { ApprError } from '../../errors/index.js'
import { toNdjson } from '../../registry/ndjson.js'
import { ADMIN_OPTIONS, ADMIN_USAGE, type AdminTarget, openTarget, recordProgress } from '../admin.js'
import { runCommand, UsageError } from '../args.js'
import { printJson } from '../output.js'

export const usage = `Usage: appr-core backup (--store <spec> | --registry <url>) [-o FILE] [--format ndjson|json]

Writes every package, release (with its blob), signature and channel of a registry:
  ndjson (default)  one JSON record per line, streamed package by package, then the OCI content
                    (/v2/ images, indexes, tags and their blobs): memory stays flat however large
                    the registry; \`appr-core restore\` reads it back and can resume
  json              appr's backup document ({packages, channels}), built in memory, as appr's
                    own tools and older appr-core versions read it: appr packages only, no
                    OCI-only content
To FILE (written as FILE.partial and renamed once complete) or stdout. Progress on stderr.

Options:
  -o, --output <file>  where to write (default: stdout)
  --format <f>         ndjson or json
${ADMIN_USAGE}
`

/** Writes `text` to `out`, waiting when the stream's buffer is full (so a slow disk bounds memory). */
async function write(out: NodeJS.WritableStream, text: string | Uint8Array): Promise<void> {
  if (!out.write(text)) await once(out, 'drain')
}

/** Writes the backup to `out`; answers the records and bytes written. */
async function copy(target: AdminTarget, format: 'ndjson' | 'json', out: NodeJS.WritableStream): Promise<{ records: number; bytes: number }> {
  const shown = recordProgress('backup')
  let records = 0
  let bytes = 0
  if (target.kind === 'store') {
    if (format === 'json') {
      const text = JSON.stringify(await target.registry.backup())
      await write(out, text)
      return { records: 1, bytes: Buffer.byteLength(text) }
    }
    for await (const line of toNdjson(target.registry.backupStream())) {
      await write(out, line)
      records++
      bytes += Buffer.byteLength(line)
      shown.update(records, bytes)
    }
  } else {
    const download = await target.client.admin.backup(format)
    let tail = ''
    for await (const chunk of download.body as unknown as AsyncIterable<Uint8Array>) {
      await write(out, chunk)
      bytes += chunk.byteLength
      for (const b of chunk) if (b === 10) records++
      // The last bytes, to check the stream ends with its end record.
      tail = (tail + Buffer.from(chunk).toString('latin1')).slice(-200)
      shown.update(records, bytes)
    }
    if (format === 'ndjson' && !/"kind":"end"[^\n]*\n$/.test(tail)) throw new ApprError('unavailable', 'the server ended the backup before its end record: the backup is incomplete', { transient: true })
  }
  shown.done()
  return { records, bytes }
}

export async function run(args: string[]): Promise<number> {
  return runCommand('backup', usage, async ({ parse }) => {
    const { values, positionals } = parse(args, { ...ADMIN_OPTIONS, output: { type: 'string', short: 'o' }, format: { type: 'string', default: 'ndjson' } })
    if (positionals.length > 0) throw new UsageError('backup takes no arguments (use -o FILE)')
    if (values.format !== 'ndjson' && values.format !== 'json') throw new UsageError('--format must be ndjson or json')
    const format = values.format
    const file = values.output === '-' ? undefined : values.output
    const target = await openTarget(values)
    try {
      let out: WriteStream | NodeJS.WriteStream = process.stdout
      if (file !== undefined) out = createWriteStream(`${file}.partial`)
      let written: { records: number; bytes: number }
      try {
        written = await copy(target, format, out)
        if (file !== undefined) {
          out.end()
          await once(out, 'close')
          await rename(`${file}.partial`, file)
        }
      } catch (error) {
        if (file !== undefined) {
          out.destroy()
          await rm(`${file}.partial`, { force: true })
        }
        throw error
      }
      const summary = { format, ...(file !== undefined && { file }), records: written.records, bytes: written.bytes, from: target.label }
      if (values.json && file !== undefined) printJson(summary)
      else process.stderr.write(`backup: ${written.records} records, ${written.bytes} bytes from ${target.label}${file !== undefined ? ` to ${file}` : ''}\n`)
      return 0
    } finally {
      await target.close()
    }
  })
}
