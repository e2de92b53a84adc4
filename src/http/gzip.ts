/**
 * Gzip for answers that are compressed once and served many times (the UI's assets, a built Helm
 * index): whether a client takes gzip, and the compression itself on `CompressionStream`, so any
 * runtime the handler runs on can do it.
 * @module
 */

/** Whether `Accept-Encoding` takes gzip (`gzip`, `x-gzip` or `*`, with a q-value above 0). */
export function acceptsGzip(acceptEncoding: string | null): boolean {
  if (acceptEncoding === null) return false
  return acceptEncoding.split(',').some((part) => {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase())
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') return false
    const q = params.find((p) => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  })
}

/** `bytes` gzipped. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}
