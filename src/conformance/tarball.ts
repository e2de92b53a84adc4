// Tiny gzipped tarballs for the registry properties: one ustar entry each, built by hand so the
// suite needs no archive library. Deterministic (mtime 0) so every run pushes the same bytes.
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'

function header(path: string, size: number): Uint8Array {
  const h = new Uint8Array(512)
  const put = (text: string, at: number) => h.set(new TextEncoder().encode(text), at)
  put(path, 0)
  put('0000644\0', 100)
  put('0000000\0', 108)
  put('0000000\0', 116)
  put(`${size.toString(8).padStart(11, '0')}\0`, 124)
  put('00000000000\0', 136)
  put('        ', 148) // checksum field counts as spaces while summing
  put('0', 156)
  put('ustar\0', 257)
  put('00', 263)
  const sum = h.reduce((s, b) => s + b, 0)
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  return h
}

/** A gzipped tar with one file, and its appr digest (sha256 hex of the tar stream). */
export interface Tarball {
  readonly gzip: Uint8Array
  readonly digest: string
}

/** Builds a gzipped tar holding `path` with `content`. */
export function tarball(path: string, content: string): Tarball {
  const body = new TextEncoder().encode(content)
  const padded = Math.ceil(body.length / 512) * 512
  const tar = new Uint8Array(512 + padded + 1024)
  tar.set(header(path, body.length), 0)
  tar.set(body, 512)
  return { gzip: new Uint8Array(gzipSync(tar)), digest: createHash('sha256').update(tar).digest('hex') }
}
