/**
 * `appr-core inspect FILE`: the digest, size, manifest and file tree of a package tarball.
 * @module
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { inspectArchive } from '../../archive/inspect.js'
import { UsageError, runCommand } from '../args.js'
import { counting, formatBytes, manifestLines, printJson, progress } from '../output.js'

export const usage = `Usage: appr-core inspect FILE [options]

Validates a package tarball as a registry would (gzip, tar, path rules, limits) and shows
its appr digest, size, the package's manifest (Chart.yaml, or manifest.yaml/.jsonnet for
appr packages) and its files. FILE - reads standard input.

Options:
  --json       everything as JSON (the manifest's full parsed document included)
  -h, --help   this text
`

export async function run(args: string[]): Promise<number> {
  return runCommand('inspect', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      json: { type: 'boolean', default: false },
    })
    const [file, ...extra] = positionals
    if (file === undefined || extra.length > 0) throw new UsageError('inspect takes one file')
    const input = file === '-' ? process.stdin : createReadStream(file)
    const size = file === '-' ? undefined : (await stat(file)).size
    const result = await inspectArchive(counting(input, progress(`check ${file === '-' ? 'standard input' : file}`, size)))
    if (values.json) {
      printJson(result)
      return 0
    }
    const out: string[] = [
      `digest      ${result.digest}`,
      `oci digest  ${result.ociDigest}`,
      `size        ${formatBytes(result.size)} (${formatBytes(result.uncompressedSize)} unpacked, ${result.entries} entries)`,
    ]
    out.push(...(result.manifest ? manifestLines(result.manifest) : ['manifest    none found']))
    out.push('files')
    for (const f of result.files) {
      const size = f.type === 'file' ? formatBytes(f.size).padStart(10) : f.type.padStart(10)
      out.push(`  ${f.mode.toString(8).padStart(4, '0')} ${size}  ${f.path}${f.target !== undefined ? ` -> ${f.target}` : ''}`)
    }
    process.stdout.write(`${out.join('\n')}\n`)
    return 0
  })
}
