/**
 * The OCI content graph inside one transaction: manifests, the tags naming them, the indexes
 * naming them and the blobs they name, with the reference counts that let gc tell garbage from
 * content in use. Every writer of OCI records (a `/v2/` manifest PUT or DELETE, and the appr
 * commits that keep a release's OCI view, oci-projection.ts) goes through {@link OciGraph}, so
 * the counts stay true whoever writes.
 *
 * - a blob link counts the manifests of its repository naming the blob (`refs`); when none is
 *   left it records `free_at`, and gc unlinks it once the grace period has passed since;
 * - a manifest counts the indexes of its repository naming it; one with neither tags nor
 *   indexes records `free_at` the same way (an untagged manifest pushed by digest before its
 *   index is not garbage yet);
 * - the repository record counts manifests (the catalog lists repositories that have some).
 * @module
 */
import { parseOciDigest } from '../oci/digest.js'
import { OciError } from '../oci/errors.js'
import { type ParsedManifest, parseManifest } from '../oci/schemas.js'
import type { RegistryContext } from './context.js'
import {
  type OciBlobRecord,
  OciBlobRecordType,
  type OciLinkRecord,
  OciLinkRecordType,
  type OciManifestRecord,
  OciManifestRecordType,
  type OciReferrerRecord,
  type OciReleaseRecord,
  OciReleaseRecordType,
  OciRepoRecordType,
  type OciTagRecord,
  OciTagRecordType,
  ociKeys,
} from './oci-records.js'
import { BlobRecordType, decode, encode, keys, type RecordType } from './records.js'
import type { Transaction } from './transaction.js'

/** A manifest to store: its exact bytes, parsed. */
export interface ManifestInput {
  readonly hex: string
  readonly bytes: Uint8Array
  readonly parsed: ParsedManifest
  /** The appr release (and format) whose OCI view it is, and whether appr-core projected it. */
  readonly appr?: { readonly release: string; readonly format?: string; readonly projected?: true }
}

/** The blob digests (hex, each once) a manifest names, and the manifests an index names. */
export function referencesOf(parsed: ParsedManifest): { blobs: string[]; children: string[] } {
  const blobs = new Set([...(parsed.config ? [parsed.config] : []), ...parsed.layers].map((d) => parseOciDigest(d.digest)))
  return { blobs: [...blobs], children: [...new Set(parsed.manifests.map((d) => parseOciDigest(d.digest)))] }
}

const isFree = (m: OciManifestRecord): boolean => m.tags.length === 0 && m.refs === undefined

/** What a link keeps while manifests name it: when it was created, and a client's upload since. */
const heldOf = (link: OciLinkRecord): OciLinkRecord => ({ created_at: link.created_at, ...(link.uploaded_at === undefined ? {} : { uploaded_at: link.uploaded_at }) })

/**
 * OCI records of one transaction, decoded once and read back as last written (a
 * {@link Transaction} answers a key read twice with its first read, not a pending write).
 */
export class OciGraph {
  readonly #tx: Transaction
  readonly #at: string
  readonly #values = new Map<string, unknown>()
  /** BlobStore objects to delete once the commit succeeded. */
  readonly doomed: string[] = []

  constructor(tx: Transaction, at: string) {
    this.#tx = tx
    this.#at = at
  }

  get tx(): Transaction {
    return this.#tx
  }

  /** Reads `keys` in one round trip (those not read yet), so later reads cost nothing. */
  async prefetch(keys: readonly string[]): Promise<void> {
    await this.#tx.getMany(keys.filter((k) => !this.#values.has(k)))
  }

  async read<T>(type: RecordType<T>, key: string): Promise<T | undefined> {
    if (this.#values.has(key)) return this.#values.get(key) as T | undefined
    const bytes = await this.#tx.latest(key)
    const value = bytes && decode(type, bytes, { key: key.replace(/^oci\/[a-z]+\//, '') })
    this.#values.set(key, value)
    return value
  }

  write(key: string, value: unknown): void {
    this.#values.set(key, value)
    this.#tx.put(key, encode(value))
  }

  remove(key: string): void {
    this.#values.set(key, undefined)
    this.#tx.delete(key)
  }

  manifest(repo: string, hex: string): Promise<OciManifestRecord | undefined> {
    return this.read(OciManifestRecordType, ociKeys.manifest(repo, hex))
  }

  tag(repo: string, tag: string): Promise<OciTagRecord | undefined> {
    return this.read(OciTagRecordType, ociKeys.tag(repo, tag))
  }

  release(repo: string, release: string): Promise<OciReleaseRecord | undefined> {
    return this.read(OciReleaseRecordType, ociKeys.release(repo, release))
  }

  /**
   * Stores a manifest unless it is stored already: every blob it names must be linked to the
   * repository and every manifest it names stored there; their counts go up. With `dangling`
   * (a restore), one that is missing is skipped instead: a client may have deleted a blob or a
   * manifest that a stored manifest names (as CNCF distribution allows), and the restored
   * manifest is then as it was.
   * @throws OciError `MANIFEST_BLOB_UNKNOWN`
   */
  async putManifest(repo: string, input: ManifestInput, options: { readonly dangling?: boolean } = {}): Promise<OciManifestRecord> {
    const key = ociKeys.manifest(repo, input.hex)
    const { blobs, children } = referencesOf(input.parsed)
    await this.prefetch([key, ociKeys.repo(repo), ...blobs.map((b) => ociKeys.link(repo, b)), ...children.map((c) => ociKeys.manifest(repo, c))])
    const existing = await this.manifest(repo, input.hex)
    if (existing) {
      if (input.appr && !existing.appr) {
        const claimed = { ...existing, appr: { ...input.appr } }
        this.write(key, claimed)
        return claimed
      }
      if (!input.appr && existing.appr) {
        const pushed = { ...existing, pushed_at: this.#at }
        this.write(key, pushed)
        return pushed
      }
      return existing
    }
    for (const b of blobs) {
      const link = await this.read(OciLinkRecordType, ociKeys.link(repo, b))
      if (!link && options.dangling) continue
      if (!link) throw new OciError('MANIFEST_BLOB_UNKNOWN', `the manifest names blob sha256:${b}, which ${repo} does not have`, { detail: { digest: `sha256:${b}` } })
      this.write(ociKeys.link(repo, b), { ...heldOf(link), refs: (link.refs ?? 0) + 1 } satisfies OciLinkRecord)
    }
    for (const c of children) {
      const child = await this.manifest(repo, c)
      if (!child && options.dangling) continue
      if (!child) throw new OciError('MANIFEST_BLOB_UNKNOWN', `the index names manifest sha256:${c}, which ${repo} does not have`, { detail: { digest: `sha256:${c}` } })
      const { free_at: _, ...rest } = child
      this.write(ociKeys.manifest(repo, c), { ...rest, refs: (child.refs ?? 0) + 1 })
    }
    const record: OciManifestRecord = {
      mediaType: input.parsed.mediaType,
      bytes: Buffer.from(input.bytes).toString('base64'),
      created_at: this.#at,
      tags: [],
      free_at: this.#at,
      ...(input.appr ? { appr: { ...input.appr } } : {}),
    }
    this.write(key, record)
    const repoRecord = await this.read(OciRepoRecordType, ociKeys.repo(repo))
    this.write(ociKeys.repo(repo), repoRecord ? { ...repoRecord, manifests: repoRecord.manifests + 1 } : { created_at: this.#at, manifests: 1 })
    const { subject } = input.parsed
    if (subject) {
      const referrer: OciReferrerRecord = {
        mediaType: input.parsed.mediaType,
        digest: `sha256:${input.hex}`,
        size: input.bytes.byteLength,
        ...(input.parsed.artifactType === undefined ? {} : { artifactType: input.parsed.artifactType }),
        ...(Object.keys(input.parsed.annotations).length === 0 ? {} : { annotations: { ...input.parsed.annotations } }),
      }
      this.write(ociKeys.referrer(repo, parseOciDigest(subject.digest), input.hex), referrer)
    }
    return record
  }

  /**
   * Points `tag` at manifest `hex` (which must be stored), or removes it (`hex` undefined). The
   * manifest it named before keeps its other tags; left with none it becomes free.
   */
  async setTag(repo: string, tag: string, hex: string | undefined, appr?: OciTagRecord['appr']): Promise<void> {
    const key = ociKeys.tag(repo, tag)
    const old = await this.tag(repo, tag)
    const oldHex = old && parseOciDigest(old.digest)
    if (oldHex !== undefined && oldHex !== hex) {
      const previous = await this.manifest(repo, oldHex)
      if (previous) {
        const next = { ...previous, tags: previous.tags.filter((t) => t !== tag) }
        this.write(ociKeys.manifest(repo, oldHex), isFree(next) ? { ...next, free_at: this.#at } : next)
      }
    }
    if (hex === undefined) {
      if (old) this.remove(key)
      return
    }
    const target = await this.manifest(repo, hex)
    if (!target) throw new OciError('MANIFEST_UNKNOWN', `${repo} has no manifest sha256:${hex}`)
    if (!target.tags.includes(tag) || target.free_at !== undefined) {
      const { free_at: _, ...rest } = target
      this.write(ociKeys.manifest(repo, hex), { ...rest, tags: [...new Set([...target.tags, tag])].sort() })
    }
    if (old?.digest !== `sha256:${hex}` || old.appr !== appr) this.write(key, { digest: `sha256:${hex}`, ...(appr ? { appr } : {}) })
  }

  /**
   * Deletes a manifest and every tag naming it; the counts of what it names go down. With
   * `unlinkFreed`, blobs no manifest names any more are unlinked at once instead of waiting for gc
   * (the appr view: an appr delete deletes what no manifest names). False when absent.
   */
  async deleteManifest(repo: string, hex: string, options: { unlinkFreed?: boolean } = {}): Promise<boolean> {
    const record = await this.manifest(repo, hex)
    if (!record) return false
    for (const tag of record.tags) this.remove(ociKeys.tag(repo, tag))
    const parsed = parseManifest(Buffer.from(record.bytes, 'base64'), record.mediaType)
    const { blobs, children } = referencesOf(parsed)
    await this.prefetch([ociKeys.repo(repo), ...blobs.map((b) => ociKeys.link(repo, b)), ...children.map((c) => ociKeys.manifest(repo, c))])
    for (const b of blobs) {
      const link = await this.read(OciLinkRecordType, ociKeys.link(repo, b))
      // A client may have deleted the blob itself (as CNCF distribution allows).
      if (!link) continue
      const refs = (link.refs ?? 0) - 1
      if (refs > 0) this.write(ociKeys.link(repo, b), { ...heldOf(link), refs })
      // A blob a client uploaded again meanwhile waits for gc: its manifest PUT may be on its way.
      else if (options.unlinkFreed && link.uploaded_at === undefined) await this.unlink(repo, b)
      else this.write(ociKeys.link(repo, b), { created_at: link.created_at, free_at: this.#at })
    }
    for (const c of children) {
      const child = await this.manifest(repo, c)
      if (!child) continue
      const { refs: count, ...rest } = child
      const refs = (count ?? 0) - 1
      this.write(ociKeys.manifest(repo, c), refs > 0 ? { ...rest, refs } : isFree(rest) ? { ...rest, free_at: this.#at } : rest)
    }
    this.remove(ociKeys.manifest(repo, hex))
    if (parsed.subject) this.remove(ociKeys.referrer(repo, parseOciDigest(parsed.subject.digest), hex))
    const repoRecord = await this.read(OciRepoRecordType, ociKeys.repo(repo))
    if (repoRecord && repoRecord.manifests > 1) this.write(ociKeys.repo(repo), { ...repoRecord, manifests: repoRecord.manifests - 1 })
    else this.remove(ociKeys.repo(repo))
    return true
  }

  /** Deletes a manifest when nothing names it any more (no tag, no index), and the blobs it alone named; one a client pushed itself is left free for gc. */
  async deleteIfFree(repo: string, hex: string): Promise<void> {
    const record = await this.manifest(repo, hex)
    if (!record || !isFree(record)) return
    // Bytes a client pushed itself become its own, free, and wait for gc like any free manifest:
    // the client's index naming them may be on its way.
    if (record.pushed_at !== undefined) {
      const { appr: _, pushed_at: __, ...client } = record
      this.write(ociKeys.manifest(repo, hex), { ...client, free_at: record.free_at ?? this.#at })
    } else await this.deleteManifest(repo, hex, { unlinkFreed: true })
  }

  /**
   * Links a blob to the repository (free until a manifest names it). `create` gives the blob
   * record when no repository has the blob yet; without it, an unknown blob is not linked.
   * Returns the blob record, or undefined.
   */
  async link(repo: string, hex: string, create?: () => Omit<OciBlobRecord, 'refs'>): Promise<OciBlobRecord | undefined> {
    await this.prefetch([ociKeys.link(repo, hex), ociKeys.blob(hex)])
    const blob = await this.read(OciBlobRecordType, ociKeys.blob(hex))
    const existing = await this.read(OciLinkRecordType, ociKeys.link(repo, hex))
    if (existing) {
      // A free link is a client's upload (or what a deleted manifest left), due its grace period:
      // the manifest about to name it here is the appr view's, and freeing it again must not
      // unlink it at once under a client's manifest PUT that is still to come.
      if (existing.refs === undefined && existing.uploaded_at === undefined) this.write(ociKeys.link(repo, hex), { ...existing, uploaded_at: existing.free_at ?? existing.created_at } satisfies OciLinkRecord)
      return blob
    }
    if (!blob && !create) return undefined
    const next: OciBlobRecord = blob ? { ...blob, refs: blob.refs + 1 } : { ...create!(), refs: 1 }
    this.write(ociKeys.blob(hex), next)
    this.write(ociKeys.link(repo, hex), { created_at: this.#at, free_at: this.#at } satisfies OciLinkRecord)
    return next
  }

  /**
   * Unlinks a blob from the repository; the blob record goes with its last link, and its bytes
   * too unless an appr blob record holds the same object. False when it was not linked.
   */
  async unlink(repo: string, hex: string): Promise<boolean> {
    await this.prefetch([ociKeys.link(repo, hex), ociKeys.blob(hex)])
    const link = await this.read(OciLinkRecordType, ociKeys.link(repo, hex))
    const blob = await this.read(OciBlobRecordType, ociKeys.blob(hex))
    if (!link || !blob) return false
    this.remove(ociKeys.link(repo, hex))
    if (blob.refs > 1) {
      this.write(ociKeys.blob(hex), { ...blob, refs: blob.refs - 1 })
      return true
    }
    this.remove(ociKeys.blob(hex))
    if (blob.object === undefined) return true
    if (blob.appr !== undefined) {
      const bytes = await this.#tx.latest(keys.blob(blob.appr))
      const appr = bytes && decode(BlobRecordType, bytes, { digest: blob.appr })
      if (appr?.object === blob.object) return true
    }
    this.#tx.delete(keys.obj(blob.object))
    this.doomed.push(blob.object)
    return true
  }
}

/** The graph's {@link OciGraph} for a context's clock. */
export function ociGraph(ctx: RegistryContext, tx: Transaction): OciGraph {
  return new OciGraph(tx, ctx.clock().toISOString())
}
