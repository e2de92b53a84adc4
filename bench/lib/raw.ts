/**
 * The raw baselines: each backend's own client doing the minimum I/O a registry operation
 * needs, with no appr semantics, no validation, no encoding beyond bytes.
 *
 * - push:  one atomic write of as many keys as the registry's push writes (the blob, the
 *          manifest, the package record, then small rows), conditional on the manifest being
 *          absent where the backend's atomic write can carry that condition (memory, etcd);
 *          elsewhere (LevelDB batch, Redis MULTI) one read first asks whether it exists
 * - pull:  one read of the manifest record + one read of the blob bytes
 * - show:  one read of the manifest record
 * - list:  one ordered range read of a page of package records
 * - channel add: one read (the release) + one atomic write of the channel record
 */
import { Level } from 'level'
import type { KvStore } from '../../src/storage/kv.js'

export interface RawPut {
  readonly key: string
  readonly value: Uint8Array
}

/** The primitives every raw baseline is made of, on one backend's native client. */
export interface RawDriver {
  get(key: string): Promise<Uint8Array | undefined>
  /** One atomic write of every put; with `conditional`, it fails when `absent` exists. */
  write(puts: readonly RawPut[], absent?: string): Promise<void>
  /** Whether `write` itself checks `absent` (so a push needs no read first). */
  readonly conditional: boolean
  /** Reads up to `limit` entries with keys under `prefix` strictly after `after`, in order; returns their values. */
  scan(prefix: string, after: string, limit: number): Promise<Uint8Array[]>
  close(): Promise<void>
}

const encoder = new TextEncoder()

function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice()
  end[end.length - 1]! += 1
  return end
}

/**
 * LevelDB through `level` directly (its own directory): getSync (the fastest read the client
 * has, as the adapter uses by default), a chained batch, iterator.
 */
export function levelRaw(path: string): RawDriver {
  const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  return {
    conditional: false,
    async get(key) {
      if (db.status !== 'open') await db.open()
      return db.getSync(encoder.encode(key))
    },
    // A chained batch: the same atomic LevelDB write as the array form, at about half its CPU
    // (what the level adapter uses too).
    write: (puts) => {
      const batch = db.batch()
      for (const { key, value } of puts) batch.put(encoder.encode(key), value)
      return batch.write()
    },
    async scan(prefix, after, limit) {
      const rows = await db.iterator({ gt: encoder.encode(after), lt: prefixEnd(encoder.encode(prefix)), limit }).all()
      return rows.map(([, value]) => value)
    },
    close: () => db.close(),
  }
}

/** A KvStore used as its own raw client (the memory adapter has no other). */
export function kvRaw(store: KvStore): RawDriver {
  return {
    conditional: true,
    get: async (key) => (await store.get(key))?.value,
    async write(puts, absent) {
      const r = await store.commit({ checks: absent === undefined ? [] : [{ key: absent, version: null }], puts })
      if (!r.ok) throw new Error(`raw write conflicted on ${absent}`)
    },
    scan: async (prefix, after, limit) => (await store.list({ prefix, after, limit })).map((entry) => entry.value),
    close: () => store.close(),
  }
}

/** The five raw operations over a driver, with one key layout. */
export interface RawOps {
  push(i: number, blob: Uint8Array): Promise<void>
  pull(i: number): Promise<number>
  show(i: number): Promise<void>
  list(afterIndex: number, limit: number): Promise<number>
  channelAdd(i: number, channel: string): Promise<void>
}

/** A manifest-sized JSON record for package `i` (what a registry stores per release). */
export function manifestRecord(i: number, size: number): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      package: `bench/pkg-${i}`,
      release: '1.0.0',
      mediaType: 'application/vnd.appr.package-manifest.helm.v0.json',
      content: {
        mediaType: 'application/vnd.appr.package.helm.v0.tar+gzip',
        size,
        digest: i.toString(16).padStart(64, '0'),
        urls: [],
      },
      metadata: null,
      created_at: '2026-01-01T00:00:00.000Z',
    }),
  )
}

/**
 * Raw operations writing `keysPerPush` keys per push (the number the registry's push writes,
 * measured), so the comparison is the same amount of data through the same client.
 */
export function rawOps(driver: RawDriver, keysPerPush: () => number): RawOps {
  const m = (i: number) => `m/bench/pkg-${i}/1.0.0/helm`
  const b = (i: number) => `b/${i}`
  const p = (i: number) => `p/bench/pkg-${i}`
  const small = encoder.encode('{"releases":["1.0.0"],"formats":["helm"]}')
  return {
    async push(i, blob) {
      if (!driver.conditional && (await driver.get(m(i))) !== undefined) throw new Error(`raw push: ${m(i)} exists`)
      const puts: RawPut[] = [
        { key: b(i), value: blob },
        { key: m(i), value: manifestRecord(i, blob.byteLength) },
        { key: p(i), value: small },
      ]
      for (let k = puts.length; k < keysPerPush(); k++) puts.push({ key: `x/${i}/${k}`, value: small })
      await driver.write(puts, m(i))
    },
    async pull(i) {
      if ((await driver.get(m(i))) === undefined) throw new Error(`raw pull: ${m(i)} missing`)
      const blob = await driver.get(b(i))
      if (blob === undefined) throw new Error(`raw pull: ${b(i)} missing`)
      return blob.byteLength
    },
    async show(i) {
      if ((await driver.get(m(i))) === undefined) throw new Error(`raw show: ${m(i)} missing`)
    },
    list: async (afterIndex, limit) => (await driver.scan('p/', p(afterIndex), limit)).length,
    async channelAdd(i, channel) {
      if ((await driver.get(m(i))) === undefined) throw new Error(`raw channel add: ${m(i)} missing`)
      await driver.write([{ key: `c/bench/pkg-${i}/${channel}`, value: encoder.encode(`{"current":"1.0.0","releases":["1.0.0"]}`) }])
    },
  }
}
