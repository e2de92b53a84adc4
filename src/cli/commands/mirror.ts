/**
 * `appr-core mirror SRC DST`: copies packages from an appr server into another server or a store,
 * verifying everything on the way.
 * @module
 */
import { createClient } from '../../client/index.js'
import { Registry } from '../../registry/registry.js'
import { type MirrorDestination, type MirrorEvent, type MirrorReport, mirror, registryDestination, serverDestination } from '../../trust/index.js'
import { ociDestination } from '../../oci/mirror-destination.js'
import { openStore } from '../serve.js'
import { clientFor } from './oci.js'
import { runCommand, UsageError } from '../args.js'
import { formatBytes, printJson } from '../output.js'

export const usage = `Usage: appr-core mirror SOURCE DESTINATION [options]

Copies packages (every release and format, then their channels) from the appr server SOURCE
into DESTINATION, trusting nothing SOURCE sends: each manifest is checked against its route,
each blob against its manifest's size and digest and validated as a safe tarball; a release
that fails any check is not stored and is reported. Releases DESTINATION already holds with
the same manifest digest are skipped, so a re-run transfers nothing and an interrupted run
resumes. Exits 1 when anything failed.

SOURCE       an appr server: http(s)://host[:port][/cnr[/api/v1]]
DESTINATION  an appr server URL, a store (level:<dir>, redis://…, etcd://host:port[,…]), or
             an OCI registry: oci://HOST[:PORT][/PREFIX] (package NS/NAME goes to the
             repository PREFIX/NS/NAME; signatures as referrers, channels as tags)

Options:
  -p, --package <glob>   only packages matching (repeatable; * and ? within a segment,
                         ** across "/"; default: all)
  --concurrency <n>      requests in flight at once (default 4)
  --force                replace destination releases that differ from the source's
  --timeout <seconds>    time limit of each request to the source (default 60)
  --source-token <t>     sent as "Authorization: <t>" to SOURCE
  --dest-token <t>       sent as "Authorization: <t>" to a DESTINATION server
  --plain-http           an oci:// DESTINATION over http (a local registry)
  --username <u>         oci:// DESTINATION user (env APPR_OCI_USERNAME)
  --password <p>         oci:// DESTINATION password or token (env APPR_OCI_PASSWORD)
  --json                 the JSON report on stdout
  -h, --help             this text
`

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer`)
  return n
}

/** Progress on stderr: one line rewritten in place on a terminal (at most 10 times a second); failures as they happen. */
function progressLine(): { onProgress(event: MirrorEvent): void; done(): void } {
  const tty = process.stderr.isTTY === true
  let total = 0
  let packages = 0
  const n = { copied: 0, skipped: 0, failed: 0 }
  let bytes = 0
  let shown = 0
  const line = () => `mirror: ${packages}/${total} packages, releases ${n.copied} copied, ${n.skipped} skipped, ${n.failed} failed, ${formatBytes(bytes)}`
  const draw = (force: boolean) => {
    if (!tty || (!force && Date.now() - shown < 100)) return
    shown = Date.now()
    process.stderr.write(`\r\x1b[K${line()}`)
  }
  return {
    onProgress(event) {
      if (event.type === 'packages') total = event.total
      else if (event.type === 'package') packages++
      else if (event.type === 'release') {
        n[event.outcome]++
        bytes += event.bytes
        if (event.outcome === 'failed' && tty) process.stderr.write(`\r\x1b[K`)
      }
      draw(false)
    },
    done() {
      if (tty) process.stderr.write(`\r\x1b[K`)
    },
  }
}

function summary(report: MirrorReport): string {
  const lines = [
    `${report.packages.total} packages in ${report.seconds.toFixed(1)} s: releases ${report.releases.copied} copied, ${report.releases.skipped} skipped, ${report.releases.failed} failed; ` +
      `channels ${report.channels.copied} copied, ${report.channels.skipped} skipped, ${report.channels.failed} failed; ${formatBytes(report.bytes)}${report.aborted ? ' (interrupted)' : ''}`,
  ]
  for (const f of report.failures) {
    const what = [f.package, f.release && `@${f.release}`, f.format && ` (${f.format})`, f.channel && `:${f.channel}`].filter(Boolean).join('')
    lines.push(`  failed ${what}: ${f.reason}: ${f.message}`)
  }
  return `${lines.join('\n')}\n`
}

export async function run(args: string[]): Promise<number> {
  return runCommand('mirror', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      package: { type: 'string', short: 'p', multiple: true },
      concurrency: { type: 'string' },
      force: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      'source-token': { type: 'string' },
      'dest-token': { type: 'string' },
      'plain-http': { type: 'boolean', default: false },
      username: { type: 'string' },
      password: { type: 'string' },
      json: { type: 'boolean', default: false },
    })
    if (positionals.length !== 2) throw new UsageError('mirror takes a SOURCE and a DESTINATION')
    const [sourceArg, destArg] = positionals as [string, string]
    if (!/^https?:\/\//i.test(sourceArg)) throw new UsageError(`SOURCE must be an http(s) URL: ${sourceArg}`)
    const source = mirrorClient(sourceArg, values['source-token'])
    const concurrency = positiveInt(values.concurrency, '--concurrency', 4)
    const timeoutMs = positiveInt(values.timeout, '--timeout', 60) * 1000

    let destination: MirrorDestination
    let close = async () => {}
    const oci = /^oci:\/\/([^/]+)(?:\/(.*))?$/i.exec(destArg)
    if (/^https?:\/\//i.test(destArg)) {
      destination = serverDestination(mirrorClient(destArg, values['dest-token']))
    } else if (oci) {
      destination = ociDestination(clientFor({ host: oci[1]! }, values), { prefix: oci[2] ?? '' })
    } else {
      const opened = await openStore(destArg)
      const registry = new Registry({ store: opened.store, ...(opened.blobs && { blobs: opened.blobs }) })
      destination = registryDestination(registry)
      close = () => registry.close()
    }

    // Ctrl-C stops starting new work; what is in flight finishes, and the report says so.
    const controller = new AbortController()
    const stop = () => controller.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    const progress = progressLine()
    let report: MirrorReport
    try {
      report = await mirror({
        source,
        destination,
        concurrency,
        timeoutMs,
        force: values.force,
        signal: controller.signal,
        onProgress: progress.onProgress,
        ...(values.package !== undefined && { packages: values.package }),
      })
    } finally {
      progress.done()
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      await close()
    }
    if (values.json) printJson(report)
    else process.stdout.write(summary(report))
    return report.ok ? 0 : 1
  })
}

/** A client of one side of the copy: its token, if any, and the mirror's User-Agent. */
function mirrorClient(registry: string, token: string | undefined) {
  return createClient({ registry, ...(token ? { token } : {}), headers: { 'User-Agent': 'appr-core-mirror' } })
}
