import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import * as tar from 'tar-stream'
import { countingStore, listAll, toNdjson, zeroCounts } from 'appr-core'
import type { BackupDocument, KvStore, Registry } from 'appr-core'
import { ociDigestOf } from 'appr-core/oci'

const here = new URL('./fixtures/', import.meta.url)

export const rocketchat = new Uint8Array(Buffer.from(readFileSync(new URL('rocketchat.tar.gz.b64', here), 'utf8'), 'base64'))
export const kubeUi = new Uint8Array(readFileSync(new URL('kube-ui.tar.gz', here)))
export const backup1 = (): unknown => JSON.parse(readFileSync(new URL('backup1.json', here), 'utf8'))

/** A gzipped tar of `files` (name → text). */
export async function tgz(files: Record<string, string>): Promise<Uint8Array> {
  const pack = tar.pack()
  for (const [name, text] of Object.entries(files)) pack.entry({ name }, text)
  pack.finalize()
  const parts: Buffer[] = []
  for await (const part of pack) parts.push(part as Buffer)
  return new Uint8Array(gzipSync(Buffer.concat(parts)))
}

/** Uploads `bytes` as a blob of `repo` through the OCI upload operations (one chunk). */
export async function ociUpload(registry: Registry, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = ociDigestOf(bytes)
  const { id } = await registry.ociBlobs.startUpload(repo)
  await registry.ociBlobs.finishUpload(repo, id, digest, (async function* () {
    yield bytes
  })())
  return digest
}

/** A registry's streamed backup as NDJSON text. */
export async function backupText(registry: Registry): Promise<string> {
  let text = ''
  for await (const line of toNdjson(registry.backupStream())) text += line
  return text
}

/** The text as bytes cut into small pieces, so records cross chunk boundaries. */
export async function* textChunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text)
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

/** A backup document in a fixed order, to compare two registries' content. */
export function sortedBackup(doc: BackupDocument): BackupDocument {
  return {
    packages: [...doc.packages].sort((a, b) => `${a.package}@${a.release}@${a.mediaType}`.localeCompare(`${b.package}@${b.release}@${b.mediaType}`)),
    channels: [...doc.channels].sort((a, b) => `${a.package}:${a.name}`.localeCompare(`${b.package}:${b.name}`)),
  }
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of stream) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

/** Every key and its version, to prove a failed operation changed nothing. */
export async function snapshot(store: KvStore): Promise<string[]> {
  const out: string[] = []
  for await (const e of listAll(store, '')) out.push(`${e.key}@${e.version}`)
  return out
}

export interface Counts {
  readonly calls: number
  readonly keys: number
  readonly conflicts: number
}

/** A KvStore proxy counting calls and keys touched (reads, list results, writes, checks). */
export function counting(store: KvStore): { store: KvStore; counts: Counts; reset(): void } {
  const counted = countingStore(store)
  const c = counted.counts
  const counts: Counts = {
    get calls() {
      return c.reads + c.commits
    },
    get keys() {
      return c.keysRead + c.keysChecked + c.keysWritten
    },
    get conflicts() {
      return c.conflicts
    },
  }
  return { store: counted.store, counts, reset: () => void Object.assign(c, zeroCounts()) }
}
