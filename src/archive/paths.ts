/**
 * Path rules for archive entries, shared by validate, inspect and pack.
 *
 * An entry is acceptable when its path is relative, has no `..` segment, fits the length limit,
 * is a file, directory, symlink or hard link (no devices, FIFOs or unknown types), and any link
 * target stays inside the archive.
 * @module
 */
import type { ApprError } from '../errors/index.js'
import type { ArchiveLimits } from '../registry/types.js'
import { rejection } from './limits.js'

/**
 * The fields of a tar header the rules look at. tar-stream's bundled types claim `type` and
 * `linkname` are always strings; at run time they are `null` for unknown types and plain files.
 */
export interface EntryHeader {
  readonly name: string
  readonly type: string | null
  readonly linkname: string | null
  readonly size: number
  readonly mode?: number
}

/** Splits on `/` and `\` (a Windows extractor treats both as separators). */
function segments(path: string): string[] {
  return path.split(/[/\\]/)
}

function isAbsolute(path: string): boolean {
  return /^[/\\]/.test(path) || /^[A-Za-z]:/.test(path)
}

/** `a/./b//c/` → `a/b/c`: the form used to compare entry paths. Assumes a path that passed the rules. */
export function normalisePath(path: string): string {
  return segments(path)
    .filter((s) => s !== '' && s !== '.')
    .join('/')
}

/**
 * Resolves a link target lexically from `base` (a list of directory segments).
 * Returns the prefixes stepped back out of by `..` (they must not be symlinks themselves), or
 * `undefined` when the target leaves the archive.
 */
function resolveInside(base: string[], target: string): string[] | undefined {
  const stack = [...base]
  const steppedOut: string[] = []
  for (const seg of segments(target)) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') {
      if (stack.length === 0) return undefined
      steppedOut.push(stack.join('/'))
      stack.pop()
    } else stack.push(seg)
  }
  return steppedOut
}

function linkBase(header: EntryHeader): string[] {
  // A symlink's target is relative to the link's directory; a hard link's to the archive root.
  return header.type === 'symlink' ? normalisePath(header.name).split('/').slice(0, -1).filter(Boolean) : []
}

/** Checks one entry header against the path rules and the per-entry limits. */
export function checkEntryHeader(header: EntryHeader, max: Required<ArchiveLimits>): ApprError | undefined {
  const entry = header.name
  if (entry.length > max.maxPathLength) {
    return rejection('path-too-long', `entry path is longer than ${max.maxPathLength} characters`, {
      entry: entry.slice(0, 256),
      limit: max.maxPathLength,
    })
  }
  if (isAbsolute(entry)) return rejection('absolute-path', 'entry path is absolute', { entry })
  if (segments(entry).includes('..')) return rejection('path-traversal', 'entry path contains ..', { entry })
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
    case 'directory':
      break
    case 'symlink':
    case 'link': {
      const target = header.linkname ?? ''
      if (target.length > max.maxPathLength) {
        return rejection('path-too-long', `link target is longer than ${max.maxPathLength} characters`, { entry, limit: max.maxPathLength })
      }
      if (target === '' || isAbsolute(target) || resolveInside(linkBase(header), target) === undefined) {
        return rejection('link-outside', 'link points outside the archive', { entry, target })
      }
      break
    }
    case 'character-device':
    case 'block-device':
    case 'fifo':
      return rejection('device-file', `entry is a ${header.type}`, { entry })
    default:
      return rejection('unsupported-entry', 'entry has an unsupported type', { entry, type: header.type ?? null })
  }
  const size = header.size ?? 0
  // Only files carry data. tar-stream never ends the data stream of a directory or link that
  // claims some, so such an entry would stall validation forever instead of failing.
  if (size !== 0 && header.type !== 'file' && header.type !== 'contiguous-file') {
    return rejection('unsupported-entry', `a ${header.type} entry must not carry data`, { entry, type: header.type ?? null, size })
  }
  if (size > max.maxEntryBytes) {
    return rejection('entry-too-large', `entry is larger than ${max.maxEntryBytes} bytes`, { entry, size, limit: max.maxEntryBytes })
  }
  return undefined
}

/**
 * For a symlink that passed {@link checkEntryHeader}: the paths its target steps back out of with
 * `..`. If any of them is itself a symlink the lexical check proves nothing (`a -> .`,
 * `b -> a/..`), so the caller rejects the archive once it knows every symlink.
 */
export function linkPrefixesToCheck(header: EntryHeader): string[] {
  return resolveInside(linkBase(header), header.linkname ?? '') ?? []
}
