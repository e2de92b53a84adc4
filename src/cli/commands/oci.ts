/**
 * `appr-core oci push|pull|copy`: appr packages to and from any OCI registry, as Helm charts
 * (format `helm`) or appr artifacts, over `pushRelease`/`pullRelease` and
 * `copyToOci`/`copyFromOci` of `appr-core/oci`.
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises'
import { inspectArchive } from '../../archive/inspect.js'
import { parseFormat } from '../../model/index.js'
import { type OciClient, ociClient } from '../../oci/client.js'
import { type CopiedChannel, type CopiedRelease, type CopyOptions, type CopyReport, copyFromOci, copyToOci } from '../../oci/copy.js'
import { pullRelease, pushRelease } from '../../oci/releases.js'
import { CLIENT_OPTIONS, runCommand, UsageError } from '../args.js'
import { printJson } from '../output.js'
import { parseRef } from '../refs.js'

export const usage = `Usage: appr-core oci push TARBALL… [oci://]HOST[:PORT]/REPOSITORY:RELEASE [options]
       appr-core oci pull [oci://]HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST] [options]
       appr-core oci copy NS/NAME[@RELEASE] oci://HOST[:PORT]/REPOSITORY [options]
       appr-core oci copy oci://HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST] NS/NAME [options]

push writes package tarballs to an OCI registry as one release: a Helm chart exactly as
"helm push" does (SemVer "+" becomes "_" in the tag), any other format as an appr artifact;
several tarballs (one per format) become one image index. pull reads one back (also a chart
pushed by helm), verified against its digests. copy moves releases between the appr registry
(--registry) and an OCI registry, either way: one release, or every release (every SemVer tag),
streaming each blob and verifying it; releases already there with the same blobs are skipped.
Signatures go along as OCI referrers of each format's manifest (the referrers tag schema where
the registry has no referrers API) and are checked by the appr registry as any signature push:
a refused one fails its release.

Options:
  --format <f>         push: helm, kpm, … per tarball, in order (repeatable; default: helm
                       with a Chart.yaml, else kpm); pull: which format of a multi-format
                       release (default: the only one)
  --package <ns/name>  push: the appr package (default: the repository's last two segments)
  -o, --output <file>  pull: where to write (default <name>-<release>.tgz)
  --force              copy: replace releases the destination holds with other blobs
  --channels           copy from OCI: tags that are not releases but name a copied release's
                       manifest become channels (appr -> OCI always copies channels as tags)
  --plain-http         talk http instead of https (a local registry)
  --username <u>       OCI registry user (env APPR_OCI_USERNAME)
  --password <p>       OCI registry password or token (env APPR_OCI_PASSWORD)
  --registry <url>     copy: the appr registry (default http://127.0.0.1:5000; env APPR_REGISTRY)
  --token <t>          copy: sent to the appr registry as "Authorization: <t>" (env APPR_TOKEN)
  --json               machine-readable output on stdout
  -h, --help           this text
`

interface OciRef {
  readonly host: string
  readonly repository: string
  readonly reference?: string
}

/** `[oci://]host[:port]/repo[:tag|@digest]` */
export function parseOciRef(input: string | undefined): OciRef {
  const m = input ? /^(?:oci:\/\/)?([^/]+)\/([^:@]+)(?:[:@](.+))?$/.exec(input) : null
  if (!m) throw new UsageError(`expected [oci://]HOST[:PORT]/REPOSITORY[:TAG], got '${input ?? ''}'`)
  return { host: m[1]!, repository: m[2]!, ...(m[3] === undefined ? {} : { reference: m[3] }) }
}

/** An OCI client for `ref.host`: http with `--plain-http`, credentials from the flags or `APPR_OCI_USERNAME`/`APPR_OCI_PASSWORD`. */
export function clientFor(ref: Pick<OciRef, 'host'>, values: { 'plain-http'?: boolean; username?: string; password?: string }): OciClient {
  const username = values.username ?? process.env.APPR_OCI_USERNAME
  const password = values.password ?? process.env.APPR_OCI_PASSWORD
  return ociClient({
    url: `${values['plain-http'] ? 'http' : 'https'}://${ref.host}`,
    ...(username !== undefined && password !== undefined ? { auth: { username, password } } : {}),
  })
}

/** The format of each tarball: `--format` in order when given, else read from the archive. */
async function tarballFormats(paths: readonly string[], given: readonly string[] | undefined): Promise<{ format: string; blob: Uint8Array }[]> {
  if (given !== undefined && given.length !== paths.length) throw new UsageError(`${paths.length} tarballs and ${given.length} --format: give one per tarball, or none`)
  const formats = await Promise.all(
    paths.map(async (path, i) => {
      const blob = new Uint8Array(await readFile(path))
      const format = given?.[i] !== undefined ? parseFormat(given[i]) : (await inspectArchive(blob)).manifest?.kind === 'helm' ? 'helm' : 'kpm'
      return { format, blob }
    }),
  )
  const seen = new Set<string>()
  for (const { format } of formats) {
    if (seen.has(format)) throw new UsageError(`two tarballs have format ${format}: a release has one blob per format (say which with --format)`)
    seen.add(format)
  }
  return formats
}

function printCopied(r: CopiedRelease): void {
  const signed = r.signatures ? `, ${r.signatures} signature${r.signatures === 1 ? '' : 's'}` : ''
  const line = `${r.outcome} ${r.release} (${r.formats.join(', ')}${signed})${r.digest ? ` ${r.digest}` : ''}${r.message ? `: ${r.message}` : ''}\n`
  ;(r.outcome === 'failed' ? process.stderr : process.stdout).write(line)
}

function printChannel(c: CopiedChannel): void {
  ;(c.outcome === 'failed' ? process.stderr : process.stdout).write(`${c.outcome} channel ${c.channel} -> ${c.release}${c.message ? `: ${c.message}` : ''}\n`)
}

/** `N copied, N skipped, N failed` over entries with an outcome. */
const counts = (entries: readonly { readonly outcome: string }[]) =>
  ['copied', 'skipped', 'failed'].map((outcome) => `${entries.filter((e) => e.outcome === outcome).length} ${outcome}`).join(', ')

export async function run(args: string[]): Promise<number> {
  return runCommand('oci', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      ...CLIENT_OPTIONS,
      format: { type: 'string', multiple: true },
      force: { type: 'boolean', default: false },
      channels: { type: 'boolean', default: false },
      package: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'plain-http': { type: 'boolean', default: false },
      username: { type: 'string' },
      password: { type: 'string' },
      json: { type: 'boolean', default: false },
    })
    const [action, ...rest] = positionals
    if (action === 'push') {
      if (rest.length < 2) throw new UsageError('oci push takes tarballs and a reference')
      const ref = parseOciRef(rest.at(-1))
      if (ref.reference === undefined) throw new UsageError('oci push needs the release: REPOSITORY:RELEASE')
      const formats = await tarballFormats(rest.slice(0, -1), values.format)
      const pkg = values.package ?? ref.repository.split('/').slice(-2).join('/')
      const pushed = await pushRelease(clientFor(ref, values), { repository: ref.repository, package: pkg, release: ref.reference, formats })
      if (values.json) printJson(pushed)
      else process.stdout.write(`pushed ${ref.host}/${pushed.repository}:${pushed.tag} ${pushed.digest}\n`)
      return 0
    }
    if (action === 'pull') {
      if (rest.length !== 1) throw new UsageError('oci pull takes one reference')
      const ref = parseOciRef(rest[0])
      const reference = ref.reference ?? 'latest'
      const pulled = await pullRelease(clientFor(ref, values), ref.repository, reference)
      if ((values.format?.length ?? 0) > 1) throw new UsageError('oci pull takes one --format')
      const wanted = values.format?.[0] === undefined ? undefined : parseFormat(values.format[0])
      const candidates = wanted === undefined ? pulled.formats : pulled.formats.filter((f) => f.format === wanted)
      if (candidates.length !== 1) {
        throw new UsageError(
          candidates.length === 0 ? `no format ${wanted} here (${pulled.formats.map((f) => f.format).join(', ')})` : `several formats (${pulled.formats.map((f) => f.format).join(', ')}): choose one with --format`,
        )
      }
      const chosen = candidates[0]!
      const output = values.output ?? `${ref.repository.split('/').at(-1)}-${pulled.release ?? reference}.tgz`
      await writeFile(output, chosen.blob)
      if (values.json) printJson({ release: pulled.release ?? null, format: chosen.format, digest: chosen.digest, size: chosen.blob.byteLength, output })
      else process.stdout.write(`pulled ${chosen.format} ${pulled.release ?? reference} ${chosen.digest} -> ${output}\n`)
      return 0
    }
    if (action === 'copy') {
      if (rest.length !== 2) throw new UsageError('oci copy takes a source and a destination')
      const [from, to] = rest as [string, string]
      const isOci = (r: string) => r.startsWith('oci://')
      if (isOci(from) === isOci(to)) throw new UsageError('oci copy goes between an appr package (NS/NAME) and an oci:// reference')
      const appr = cli.connect(values).client
      const options: CopyOptions = { force: values.force, channels: values.channels, ...(values.json ? {} : { onRelease: printCopied }) }
      let report: CopyReport
      if (isOci(to)) {
        const ref = parseOciRef(to)
        if (ref.reference !== undefined) throw new UsageError('the destination repository takes no tag: each release is tagged with its own')
        const pkg = parseRef(from)
        if (pkg.channel !== undefined || pkg.digest !== undefined) throw new UsageError('copy takes NS/NAME or NS/NAME@RELEASE')
        report = await copyToOci({
          source: appr,
          package: pkg.package.full,
          ...(pkg.release === undefined ? {} : { release: pkg.release }),
          target: clientFor(ref, values),
          repository: ref.repository,
          options,
        })
      } else {
        const ref = parseOciRef(from)
        const pkg = parseRef(to)
        if (pkg.release !== undefined || pkg.channel !== undefined || pkg.digest !== undefined) throw new UsageError('the destination is a package: NS/NAME')
        report = await copyFromOci({
          source: clientFor(ref, values),
          repository: ref.repository,
          ...(ref.reference === undefined ? {} : { reference: ref.reference }),
          target: appr,
          package: pkg.package.full,
          options,
        })
      }
      if (values.json) printJson(report)
      else {
        for (const c of report.channels) printChannel(c)
        process.stdout.write(`${counts(report.releases)}${report.channels.length > 0 ? `; channels: ${counts(report.channels)}` : ''}\n`)
      }
      return report.ok ? 0 : 1
    }
    throw new UsageError(`unknown oci action '${action ?? ''}' (push, pull or copy)`)
  })
}
