/**
 * What is inside a package archive: its file tree and the package's own manifest.
 * @module
 */
import { parse as parseYaml } from 'yaml'
import { byteChunks } from '../digest/index.js'
import type { ArchiveLimits } from '../registry/types.js'
import { normalisePath } from './paths.js'
import { parsePlainYaml } from './plain-yaml.js'
import { quickFacts } from './quick.js'
import { type BlobFacts, type EntryVisitor, scanBlob } from './validate.js'

/** One entry of the archive. */
export interface ArchiveFile {
  /** The path as stored (normalised: no `./`, no trailing `/`). */
  readonly path: string
  readonly type: 'file' | 'directory' | 'symlink' | 'link'
  /** Bytes of content (0 for directories and links). */
  readonly size: number
  /** Permission bits. */
  readonly mode: number
  /** Link target, for symlinks and hard links. */
  readonly target?: string
}

/** A dependency listed in `Chart.yaml`. */
export interface ChartDependency {
  readonly name: string
  readonly version?: string
  readonly repository?: string
}

/** The package's own manifest, found at the root or under the single top-level folder. */
export interface PackageManifestInfo {
  /** `helm` for `Chart.yaml`; `appr` for kpm/appr `manifest.yaml` or `manifest.jsonnet`. */
  readonly kind: 'helm' | 'appr'
  /** Path of the manifest file inside the archive. */
  readonly path: string
  readonly name?: string
  readonly version?: string
  readonly description?: string
  /** Helm's `appVersion`. */
  readonly appVersion?: string
  readonly dependencies?: readonly ChartDependency[]
  /** The parsed YAML document; for `manifest.jsonnet`, its source text (it is not evaluated). */
  readonly document?: unknown
  /** Why the manifest could not be read (too large, invalid YAML); the archive itself is valid. */
  readonly error?: string
}

/** Result of {@link inspectArchive}. */
export interface ArchiveInspection extends BlobFacts {
  /** Every entry, in archive order. */
  readonly files: readonly ArchiveFile[]
  /** The single top-level folder every entry lives under (Helm's `<chart>/`), if there is one. */
  readonly root?: string
  /** The package's manifest, if one was found. */
  readonly manifest?: PackageManifestInfo
}

/** Options of {@link inspectArchive}. */
export interface InspectOptions {
  /** The same limits as validation (defaults as there). */
  readonly limits?: ArchiveLimits
  /** Largest manifest file read into memory (default 1 MiB); a larger one is reported with `error`. */
  readonly maxManifestBytes?: number
}

/** Manifest file names by preference. */
const MANIFESTS = [
  { file: 'Chart.yaml', kind: 'helm' },
  { file: 'manifest.yaml', kind: 'appr' },
  { file: 'manifest.jsonnet', kind: 'appr' },
] as const

type ManifestFile = (typeof MANIFESTS)[number]['file']

const isManifestFile = (name: string | undefined): name is ManifestFile => MANIFESTS.some((m) => m.file === name)

function entryType(type: string | null): ArchiveFile['type'] {
  return type === 'directory' || type === 'symlink' || type === 'link' ? type : 'file'
}

/** What the visitor of one pass over an archive collects: its files and candidate manifests. */
function collector(maxManifestBytes: number) {
  const state = {
    files: [] as ArchiveFile[],
    top: undefined as string | undefined,
    singleRoot: true,
    candidates: new Map<string, { chunks: Uint8Array[]; tooLarge: boolean }>(),
  }
  const visit: EntryVisitor = (header) => {
    const path = normalisePath(header.name)
    const type = entryType(header.type)
    const file: ArchiveFile = {
      path,
      type,
      size: type === 'file' ? header.size : 0,
      mode: (header.mode ?? 0) & 0o7777,
      ...(header.linkname && (type === 'symlink' || type === 'link') ? { target: header.linkname } : {}),
    }
    state.files.push(file)
    if (path === '') return undefined
    const segs = path.split('/')
    state.top ??= segs[0]
    if (segs[0] !== state.top || (segs.length === 1 && type !== 'directory')) state.singleRoot = false
    const isCandidate = type === 'file' && isManifestFile(segs.at(-1)) && (segs.length === 1 || (segs.length === 2 && segs[0] === state.top))
    if (!isCandidate) return undefined
    // A later entry with the same path replaces an earlier one, as when extracting.
    // tar-stream delivers exactly `size` bytes, so checking the header bounds the buffer.
    const buffer = { chunks: [] as Uint8Array[], tooLarge: header.size > maxManifestBytes }
    state.candidates.set(path, buffer)
    if (buffer.tooLarge) return undefined
    return (chunk) => void buffer.chunks.push(new Uint8Array(chunk))
  }
  return { visit, state }
}

/**
 * Validates an archive (same rules and limits as `validateBlob`) and lists what is inside.
 *
 * Memory stays bounded: entries are drained, only candidate manifest files (at most three at the
 * root and three under the first top-level folder, each up to `maxManifestBytes`) are buffered.
 *
 * @throws {@link ApprError} as `validateBlob` when the archive is rejected.
 * @example
 * ```ts
 * const { manifest, files } = await inspectArchive(await readFile('nginx-1.2.3.tgz'))
 * console.log(manifest?.name, manifest?.version, files.length)
 * ```
 */
export async function inspectArchive(input: Uint8Array | AsyncIterable<Uint8Array>, options: InspectOptions = {}): Promise<ArchiveInspection> {
  const maxManifestBytes = options.maxManifestBytes ?? 1024 * 1024
  // A small archive held in memory is read synchronously (quickFacts); anything it is not sure of
  // goes through the streaming pass, with what the first attempt collected thrown away.
  const quick = input instanceof Uint8Array ? quickInspect(input, options) : undefined
  if (quick) return quick
  const seen = collector(maxManifestBytes)
  const { chunks, facts } = scanBlob(byteChunks(input), options.limits, seen.visit)
  for await (const _ of chunks) {
    // Drained for validation and the visitor.
  }
  return inspection(await facts, seen.state, maxManifestBytes)
}

/**
 * {@link inspectArchive} of a small archive held in memory, synchronously (one `quickFacts`
 * pass), or `undefined` when that pass is not sure of it (then the streaming pass decides).
 * A push that validates its bytes this way learns the archive's manifest in the same pass.
 */
export function quickInspect(bytes: Uint8Array, options: InspectOptions = {}): ArchiveInspection | undefined {
  const maxManifestBytes = options.maxManifestBytes ?? 1024 * 1024
  const seen = collector(maxManifestBytes)
  const blob = quickFacts(bytes, options.limits, seen.visit)
  return blob && inspection(blob, seen.state, maxManifestBytes)
}

function inspection(blob: BlobFacts, state: ReturnType<typeof collector>['state'], maxManifestBytes: number): ArchiveInspection {
  const { files, candidates, top, singleRoot } = state

  const root = singleRoot && top !== undefined && files.some((f) => f.path.startsWith(`${top}/`)) ? top : undefined
  let manifest: PackageManifestInfo | undefined
  for (const dir of root === undefined ? [''] : ['', `${root}/`]) {
    for (const { file, kind } of MANIFESTS) {
      const found = candidates.get(`${dir}${file}`)
      if (manifest === undefined && found) manifest = readManifest(`${dir}${file}`, kind, found, maxManifestBytes)
    }
  }
  return { ...blob, files, ...(root === undefined ? {} : { root }), ...(manifest === undefined ? {} : { manifest }) }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined)

function optional<T extends object>(fields: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> }
}

function readManifest(
  path: string,
  kind: 'helm' | 'appr',
  buffer: { chunks: Uint8Array[]; tooLarge: boolean },
  maxBytes: number,
): PackageManifestInfo {
  if (buffer.tooLarge) return { kind, path, error: `manifest is larger than ${maxBytes} bytes` }
  const text = new TextDecoder().decode(Buffer.concat(buffer.chunks))
  if (path.endsWith('.jsonnet')) return { kind, path, document: text }
  let document: unknown
  try {
    // `yaml` caps alias expansion by default, so a "billion laughs" document fails instead of exploding.
    document = parsePlainYaml(text) ?? parseYaml(text)
  } catch (e) {
    return { kind, path, error: `invalid YAML: ${(e as Error).message}` }
  }
  const doc = (typeof document === 'object' && document !== null ? document : {}) as Record<string, unknown>
  if (kind === 'helm') {
    const deps = Array.isArray(doc.dependencies) ? doc.dependencies : undefined
    return {
      kind,
      path,
      ...optional({
        name: str(doc.name),
        version: str(doc.version),
        description: str(doc.description),
        appVersion: str(doc.appVersion),
        dependencies: deps?.flatMap((d: unknown) => {
          const dep = (typeof d === 'object' && d !== null ? d : {}) as Record<string, unknown>
          const name = str(dep.name)
          return name === undefined ? [] : [{ name, ...optional({ version: str(dep.version), repository: str(dep.repository) }) }]
        }),
      }),
      document,
    }
  }
  // kpm/appr: `package: { name, version, description }`.
  const pkg = (typeof doc.package === 'object' && doc.package !== null ? doc.package : {}) as Record<string, unknown>
  return { kind, path, ...optional({ name: str(pkg.name), version: str(pkg.version), description: str(pkg.description) }), document }
}
