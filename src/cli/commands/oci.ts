/**
 * `appr-core oci push|pull`: appr packages to and from any OCI registry, as Helm charts (format
 * `helm`) or appr artifacts, over `pushRelease`/`pullRelease` of `appr-core/oci`.
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises'
import { inspectArchive } from '../../archive/inspect.js'
import { parseFormat } from '../../model/index.js'
import { type OciClient, ociClient } from '../../oci/client.js'
import { pullRelease, pushRelease } from '../../oci/releases.js'
import { runCommand, UsageError } from '../args.js'
import { printJson } from '../output.js'

export const usage = `Usage: appr-core oci push TARBALL [oci://]HOST[:PORT]/REPOSITORY:RELEASE [options]
       appr-core oci pull [oci://]HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST] [options]

push writes a package tarball to an OCI registry: a Helm chart exactly as "helm push" does
(SemVer "+" becomes "_" in the tag), any other format as an appr artifact. pull reads one
back (also a chart pushed by helm), verified against its digests.

Options:
  --format <f>         push: helm, kpm, … (default: helm with a Chart.yaml, else kpm);
                       pull: which format of a multi-format release (default: the only one)
  --package <ns/name>  push: the appr package (default: the repository's last two segments)
  -o, --output <file>  pull: where to write (default <name>-<release>.tgz)
  --plain-http         talk http instead of https (a local registry)
  --username <u>       registry user (env APPR_OCI_USERNAME)
  --password <p>       registry password or token (env APPR_OCI_PASSWORD)
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

function clientFor(ref: OciRef, values: { 'plain-http'?: boolean; username?: string; password?: string }): OciClient {
  const username = values.username ?? process.env.APPR_OCI_USERNAME
  const password = values.password ?? process.env.APPR_OCI_PASSWORD
  return ociClient({
    url: `${values['plain-http'] ? 'http' : 'https'}://${ref.host}`,
    ...(username !== undefined && password !== undefined ? { auth: { username, password } } : {}),
  })
}

export async function run(args: string[]): Promise<number> {
  return runCommand('oci', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      format: { type: 'string' },
      package: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'plain-http': { type: 'boolean', default: false },
      username: { type: 'string' },
      password: { type: 'string' },
      json: { type: 'boolean', default: false },
    })
    const [action, ...rest] = positionals
    if (action === 'push') {
      if (rest.length !== 2) throw new UsageError('oci push takes a tarball and a reference')
      const ref = parseOciRef(rest[1])
      if (ref.reference === undefined) throw new UsageError('oci push needs the release: REPOSITORY:RELEASE')
      const blob = new Uint8Array(await readFile(rest[0]!))
      const format = values.format !== undefined ? parseFormat(values.format) : (await inspectArchive(blob)).manifest?.kind === 'helm' ? 'helm' : 'kpm'
      const pkg = values.package ?? ref.repository.split('/').slice(-2).join('/')
      const pushed = await pushRelease(clientFor(ref, values), { repository: ref.repository, package: pkg, release: ref.reference, formats: [{ format, blob }] })
      if (values.json) printJson(pushed)
      else process.stdout.write(`pushed ${ref.host}/${pushed.repository}:${pushed.tag} ${pushed.digest}\n`)
      return 0
    }
    if (action === 'pull') {
      if (rest.length !== 1) throw new UsageError('oci pull takes one reference')
      const ref = parseOciRef(rest[0])
      const reference = ref.reference ?? 'latest'
      const pulled = await pullRelease(clientFor(ref, values), ref.repository, reference)
      const wanted = values.format === undefined ? undefined : parseFormat(values.format)
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
    throw new UsageError(`unknown oci action '${action ?? ''}' (push or pull)`)
  })
}
