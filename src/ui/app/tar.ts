/**
 * Reading a package archive in the browser: gunzip with the platform's `DecompressionStream`,
 * then a minimal tar reader (ustar, with pax `path` records and GNU long names), enough to list
 * a chart's files and show its text files.
 * @module
 */

/** One regular file of an archive. */
export interface ArchiveFile {
  readonly path: string
  readonly size: number
  readonly bytes: Uint8Array
}

/** The regular files of a gzipped tar, in archive order (directories, links and the rest left out). */
export async function readArchive(gzipped: Uint8Array): Promise<ArchiveFile[]> {
  const stream = new Blob([gzipped as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'))
  const tar = new Uint8Array(await new Response(stream).arrayBuffer())
  const decoder = new TextDecoder()
  const text = (from: number, length: number) => {
    const field = tar.subarray(from, from + length)
    const end = field.indexOf(0)
    return decoder.decode(end < 0 ? field : field.subarray(0, end))
  }
  const files: ArchiveFile[] = []
  let longName: string | undefined
  let offset = 0
  while (offset + 512 <= tar.length) {
    if (tar[offset] === 0) break
    const size = Number.parseInt(text(offset + 124, 12).trim() || '0', 8)
    if (!Number.isFinite(size) || size < 0) break
    const type = String.fromCharCode(tar[offset + 156] ?? 0)
    const prefix = decoder.decode(tar.subarray(offset + 257, offset + 263)).startsWith('ustar') ? text(offset + 345, 155) : ''
    const name = longName ?? (prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100))
    const body = tar.subarray(offset + 512, offset + 512 + size)
    longName = undefined
    if (type === 'x') longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(decoder.decode(body))?.[1]
    else if (type === 'L') longName = decoder.decode(body).replace(/\0+$/, '')
    else if (type === '0' || type === '\0') files.push({ path: name.replace(/^\.\//, ''), size, bytes: body })
    offset += 512 + Math.ceil(size / 512) * 512
  }
  return files
}

/** The file's text, or undefined when it does not look like UTF-8 text (a NUL byte, or invalid UTF-8). */
export function textOf(file: ArchiveFile): string | undefined {
  if (file.bytes.includes(0)) return undefined
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(file.bytes)
  } catch {
    return undefined
  }
}
