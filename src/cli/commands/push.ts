/**
 * `appr-core push NS/NAME [PATH]`: packs (if needed), checks and uploads a package.
 * @module
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { inspectArchive } from '../../archive/inspect.js'
import { packDirectory } from '../../archive/pack.js'
import { DEFAULT_FORMAT, parseChannelName, parseFormat } from '../../model/index.js'
import { CLIENT_OPTIONS, CLIENT_USAGE, UsageError, runCommand, stallGuard, usageChecked } from '../args.js'
import { counting, formatBytes, printJson, progress } from '../output.js'
import { parseRef } from '../refs.js'

export const usage = `Usage: appr-core push NAMESPACE/NAME [PATH] [options]

Uploads a package. PATH is a package tarball or a directory (default .), which is packed
first (under <chart-name>/ when it has a Chart.yaml, as Helm does). The tarball is checked
locally as the registry will check it before anything is sent.

Options:
  --release <r>      the release (default: version from Chart.yaml or manifest.yaml)
  --format <f>       helm, kpm, … (default: helm with a Chart.yaml, else kpm)
  --metadata <json>  free JSON stored with the release
  --channel <c>      then add the release to channel <c> (created if needed), as
                     \`appr push --channel\` does
  --force            overwrite an existing release of that format
${CLIENT_USAGE}
`

export async function run(args: string[]): Promise<number> {
  return runCommand('push', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      ...CLIENT_OPTIONS,
      release: { type: 'string' },
      format: { type: 'string' },
      metadata: { type: 'string' },
      channel: { type: 'string' },
      force: { type: 'boolean', default: false },
    })
    if (positionals.length > 2) throw new UsageError('push takes a package and one path')
    const ref = parseRef(positionals[0])
    if (ref.release !== undefined || ref.channel !== undefined || ref.digest !== undefined) {
      throw new UsageError('push takes NAMESPACE/NAME; give the release with --release')
    }
    let metadata: unknown
    if (values.metadata !== undefined) {
      try {
        metadata = JSON.parse(values.metadata)
      } catch {
        throw new UsageError('--metadata must be JSON')
      }
    }
    const channel = values.channel === undefined ? undefined : usageChecked(() => parseChannelName(values.channel!))
    const { client, registry, timeoutMs } = cli.connect(values)
    const path = positionals[1] ?? '.'
    const info = await stat(path).catch(() => {
      throw new UsageError(`no such file or directory: ${path}`)
    })
    const temp = info.isDirectory() ? await mkdtemp(join(tmpdir(), 'appr-push-')) : undefined
    try {
      let file = path
      if (temp !== undefined) {
        file = join(temp, 'package.tgz')
        const helm = await stat(join(path, 'Chart.yaml')).then(() => true, () => false)
        await pipeline(Readable.from(counting(packDirectory(path, { prefix: helm }), progress(`pack ${path}`, undefined))), createWriteStream(file))
      }
      const size = (await stat(file)).size
      const facts = await inspectArchive(counting(createReadStream(file), progress(`check ${temp === undefined ? file : path}`, size)))
      const release = values.release ?? facts.manifest?.version
      if (release === undefined) throw new UsageError('no version in the package manifest: give --release')
      const format = values.format === undefined ? (facts.manifest?.kind === 'helm' ? 'helm' : DEFAULT_FORMAT) : parseFormat(values.format)
      const bar = progress(`push ${ref.package.full}@${release}`, facts.size)
      // A large upload may take long: what is bounded is silence (no byte sent, no answer).
      const guard = stallGuard(timeoutMs, `push to ${registry}`)
      try {
        // Streamed from the file: the client base64-encodes it on the fly, never holding it whole.
        await client.push(ref.package.full, {
          release,
          format,
          blob: createReadStream(file, { highWaterMark: 3 * 64 * 1024 }) as AsyncIterable<Uint8Array>,
          size: facts.size,
          force: values.force,
          ...(metadata === undefined ? {} : { metadata }),
          ...guard.callOptions((p) => bar.update(p.loaded)),
        })
      } finally {
        guard.stop()
      }
      bar.done()
      if (channel !== undefined) await client.channels.add(ref.package.full, channel, release)
      const result = { package: ref.package.full, release, format, digest: facts.digest, size: facts.size, ...(channel === undefined ? {} : { channel }), status: 'ok' }
      if (values.json) printJson(result)
      else {
        const into = channel === undefined ? '' : `, channel ${channel}`
        process.stdout.write(`pushed ${result.package}@${release} (${format}${into}) digest ${facts.digest} size ${formatBytes(facts.size)}\n`)
      }
      return 0
    } finally {
      if (temp !== undefined) await rm(temp, { recursive: true, force: true })
    }
  })
}
