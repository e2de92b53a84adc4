/**
 * `appr-core pack DIR [-o FILE] [--prefix]`: a directory → a reproducible package tarball.
 * @module
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { inspectArchive } from '../../archive/inspect.js'
import { packDirectory } from '../../archive/pack.js'
import { UsageError, runCommand } from '../args.js'
import { counting, formatBytes, printJson, progress } from '../output.js'

export const usage = `Usage: appr-core pack [DIR] [options]

Packs DIR (default .) into a gzipped tar, reproducibly: the same tree always gives the same
digest (sorted entries, normalised times, owners and modes, fixed gzip header). Files matched
by DIR/.helmignore or DIR/.apprignore (gitignore syntax) are left out. The archive is
validated as a registry would before it is kept.

Options:
  -o, --output <file>  where to write (default <name>-<version>.tgz from Chart.yaml or
                       manifest.yaml, else <dir>.tgz, in the current directory)
  --prefix             put every file under <chart-name>/ as Helm packages do (the
                       default for a directory with a Chart.yaml)
  --prefix-name <n>    put every file under <n>/
  --flat               no folder, even for a chart (appr/kpm layout)
  --ignore <pattern>   one more ignore pattern (repeatable)
  --json               print {file, digest, ociDigest, size, entries, name, version} as JSON
  -h, --help           this text
`

export async function run(args: string[]): Promise<number> {
  return runCommand('pack', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      output: { type: 'string', short: 'o' },
      prefix: { type: 'boolean' },
      flat: { type: 'boolean', default: false },
      'prefix-name': { type: 'string' },
      ignore: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    })
    if (positionals.length > 1) throw new UsageError('pack takes one directory')
    const dir = resolve(positionals[0] ?? '.')
    if (values.flat && (values.prefix || values['prefix-name'] !== undefined)) throw new UsageError('--flat and --prefix exclude each other')
    const prefix = values['prefix-name'] ?? (values.flat ? false : values.prefix)
    const target = values.output === undefined ? undefined : resolve(values.output)
    // Write beside the final file, then rename: a failed pack never leaves a partial archive.
    const temp = join(target === undefined ? process.cwd() : dirname(target), `.appr-pack-${process.pid}-${Date.now()}.tmp`)
    try {
      // Neither the output nor its temporary file may end up inside the archive.
      const ignore = [...(values.ignore ?? []), ...[target, temp].map((f) => (f === undefined ? '' : relativeIgnore(dir, f)))]
      const packed = packDirectory(dir, { ...(prefix === undefined ? {} : { prefix }), ignore: ignore.filter((p) => p !== '') })
      await pipeline(Readable.from(counting(packed, progress(`pack ${dir}`, undefined))), createWriteStream(temp))
      const facts = await inspectArchive(counting(createReadStream(temp), progress(`check ${dir}`, (await stat(temp)).size)))
      const name = facts.manifest?.name?.split('/').at(-1)
      const version = facts.manifest?.version
      const file = target ?? resolve(name && version ? `${name}-${version}.tgz` : `${basename(dir)}.tgz`)
      await rename(temp, file)
      const result = { file, digest: facts.digest, ociDigest: facts.ociDigest, size: facts.size, entries: facts.entries, name, version }
      if (values.json) printJson(result)
      else process.stdout.write(`${file}\n  digest ${facts.digest}\n  size   ${formatBytes(facts.size)} (${facts.entries} entries)\n`)
      return 0
    } finally {
      await rm(temp, { force: true })
    }
  })
}

/** An ignore pattern for the output file when it lies inside the packed directory. */
function relativeIgnore(dir: string, file: string): string {
  return file.startsWith(`${dir}/`) ? `/${file.slice(dir.length + 1)}` : ''
}
