/**
 * `appr-core show NS/NAME[@RELEASE|:CHANNEL]`: a release's manifest.
 * @module
 */
import { inspectArchive } from '../../archive/inspect.js'
import { parseFormat } from '../../model/index.js'
import { CLIENT_OPTIONS, CLIENT_USAGE, UsageError, runCommand, stallGuard } from '../args.js'
import { DOWNLOAD_LIMITS, formatBytes, manifestLines, nodeReadable, printJson } from '../output.js'
import { parseRef, selectorOf } from '../refs.js'

export const usage = `Usage: appr-core show NAMESPACE/NAME[@RELEASE|:CHANNEL] [options]

Shows a release's manifest: release, format, digest, size, creation time, channels.
RELEASE may be a query (">=1.0,<2", "1"); default: the highest release.

Options:
  --format <f>  helm, kpm, … (default -: the release's only format)
  --contents    also download the package and show its own manifest (Chart.yaml fields)
                and file list
${CLIENT_USAGE}
`

export async function run(args: string[]): Promise<number> {
  return runCommand('show', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      ...CLIENT_OPTIONS,
      format: { type: 'string', default: '-' },
      contents: { type: 'boolean', default: false },
    })
    if (positionals.length !== 1) throw new UsageError('show takes one package reference')
    const ref = parseRef(positionals[0])
    if (ref.digest !== undefined) throw new UsageError('show takes a release or a channel, not a digest')
    const { client, registry, timeoutMs } = cli.connect(values)
    const manifest = await client.show(ref.package.full, selectorOf(ref, values.format === '-' ? '-' : parseFormat(values.format)))
    let contents: Awaited<ReturnType<typeof inspectArchive>> | undefined
    if (values.contents) {
      const guard = stallGuard(timeoutMs, `pull from ${registry}`)
      try {
        const { body } = await client.pullRelease(ref.package.full, manifest.release, parseFormat(manifest.mediaType), guard.callOptions())
        contents = await inspectArchive(nodeReadable(body), { limits: DOWNLOAD_LIMITS })
      } finally {
        guard.stop()
      }
    }
    if (values.json) {
      printJson(contents === undefined ? manifest : { ...manifest, contents: { manifest: contents.manifest ?? null, files: contents.files } })
      return 0
    }
    const lines = [
      `package     ${manifest.package}`,
      `release     ${manifest.release}`,
      `format      ${parseFormat(manifest.mediaType)}`,
      `digest      ${manifest.content.digest}`,
      `size        ${formatBytes(manifest.content.size)}`,
      `created_at  ${manifest.created_at}`,
      `channels    ${(manifest.channels ?? []).join(', ') || '-'}`,
    ]
    if (manifest.metadata !== null && manifest.metadata !== undefined) lines.push(`metadata    ${JSON.stringify(manifest.metadata)}`)
    if (contents !== undefined) {
      const m = contents.manifest
      if (m) lines.push(...manifestLines(m))
      lines.push('files')
      for (const f of contents.files) lines.push(`  ${f.path}${f.type === 'directory' ? '/' : ''}`)
    }
    process.stdout.write(`${lines.join('\n')}\n`)
    return 0
  })
}
