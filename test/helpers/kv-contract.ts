/**
 * KvStore contract checks on a real backend, shared by the redis and etcd adapter tests (the
 * exported conformance suite runs the property-based version; these are the pointed cases).
 */
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError } from 'appr-core'
import type { KvStore } from '../../src/storage/kv.js'

const bytes = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))

/** Asserts that `fn` rejects with an ApprError of `code`. */
export async function rejects(fn: () => Promise<unknown>, code: Parameters<typeof isApprError>[1]): Promise<void> {
  try {
    await fn()
  } catch (e) {
    assert.ok(isApprError(e, code), `expected ApprError ${code}, got ${String(e)}`)
    return
  }
  assert.unreachable(`expected ApprError ${code}`)
}

/** Compare-and-set increment of a decimal counter, retried on conflict. */
export async function increment(store: KvStore, key: string): Promise<void> {
  for (;;) {
    const cur = await store.get(key)
    const n = cur ? Number(str(cur.value)) : 0
    const r = await store.commit({ checks: [{ key, version: cur?.version ?? null }], puts: [{ key, value: bytes(String(n + 1)) }] })
    if (r.ok) return
  }
}

/**
 * Registers the contract cases on `suite`. `open(ns)` returns a fresh, empty store (a new
 * prefix each call); the suite closes what it opens.
 */
export function kvContract(suite: Test, open: () => KvStore): void {
  suite('lists by UTF-8 byte order, including astral and non-ASCII keys', async () => {
    const store = open()
    const keys = ['k/\u{1F600}', 'k/\uFF5E', 'k/é', 'k/z', 'k/Z', 'k/a\u0000b', 'k/', 'k/~']
    await store.commit({ puts: keys.map((key) => ({ key, value: bytes(key) })) })
    const listed = (await store.list({ prefix: 'k/' })).map((e) => e.key)
    const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    assert.equal(listed, expected)
    assert.is(listed.indexOf('k/\uFF5E') < listed.indexOf('k/\u{1F600}'), true)
    for (const e of await store.list({ prefix: 'k/' })) assert.is(str(e.value), e.key)
    await store.close()
  })

  suite('binary values round-trip exactly and never alias caller buffers', async () => {
    const store = open()
    const value = new Uint8Array(256 + 3)
    for (let i = 0; i < 256; i++) value[i] = i
    value.set([0x00, 0xff, 0x00], 256)
    await store.commit({ puts: [{ key: 'bin', value }, { key: 'empty', value: new Uint8Array(0) }] })
    value[0] = 42
    const got = await store.get('bin')
    assert.ok(got)
    assert.is(got.value[0], 0)
    assert.is(got.value.byteLength, 259)
    assert.is(got.value[255], 0xff)
    assert.equal([...got.value.subarray(256)], [0, 255, 0])
    assert.ok(got.value instanceof Uint8Array)
    got.value[1] = 99
    assert.is((await store.get('bin'))?.value[1], 1)
    const empty = await store.get('empty')
    assert.ok(empty, 'an empty value is a present key')
    assert.is(empty.value.byteLength, 0)
    await store.close()
  })

  suite('checks: absent, equal version, conflict reports the failing keys and applies nothing', async () => {
    const store = open()
    assert.equal(await store.commit({ checks: [{ key: 'a', version: null }], puts: [{ key: 'a', value: bytes('1') }] }), { ok: true })
    const a = await store.get('a')
    assert.ok(a)
    const r = await store.commit({
      checks: [{ key: 'a', version: null }, { key: 'b', version: null }, { key: 'c', version: 'nonsense' }],
      puts: [{ key: 'b', value: bytes('x') }],
      deletes: ['a'],
    })
    assert.is(r.ok, false)
    if (!r.ok) assert.equal([...r.conflicts].sort(), ['a', 'c'])
    assert.is(await store.get('b'), undefined)
    assert.is(str((await store.get('a'))?.value), '1')
    assert.equal(await store.commit({ checks: [{ key: 'a', version: a.version }], puts: [{ key: 'b', value: bytes('y') }], deletes: ['a'] }), { ok: true })
    assert.is(await store.get('a'), undefined)
    assert.is(str((await store.get('b'))?.value), 'y')
    // a stale version now fails
    const stale = await store.commit({ checks: [{ key: 'a', version: a.version }], puts: [{ key: 'z', value: bytes('z') }] })
    assert.equal(stale, { ok: false, conflicts: ['a'] })
    // deleting an absent key is allowed
    assert.equal(await store.commit({ deletes: ['never'] }), { ok: true })
    await store.close()
  })

  suite('versions change on every write, also of the same bytes, and are not reused after delete', async () => {
    const store = open()
    const seen = new Set<string>()
    for (let i = 0; i < 3; i++) {
      await store.commit({ puts: [{ key: 'v', value: bytes('same') }] })
      const e = await store.get('v')
      assert.ok(e)
      assert.not.ok(seen.has(e.version), 'version reused')
      seen.add(e.version)
      await store.commit({ deletes: ['v'] })
      assert.is(await store.get('v'), undefined)
    }
    await store.commit({ puts: [{ key: 'v', value: bytes('same') }] })
    const first = (await store.get('v'))!.version
    await store.commit({ puts: [{ key: 'v', value: bytes('same') }] })
    assert.is.not((await store.get('v'))!.version, first)
    await store.close()
  })

  suite('getMany keeps order and reports absent keys', async () => {
    const store = open()
    await store.commit({ puts: [{ key: 'g1', value: bytes('1') }, { key: 'g3', value: bytes('3') }] })
    const got = await store.getMany(['g3', 'g2', 'g1', 'g3'])
    assert.equal(got.map((e) => e && str(e.value)), ['3', undefined, '1', '3'])
    assert.equal(await store.getMany([]), [])
    await store.close()
  })

  suite('pagination: prefix bounds, after, limit', async () => {
    const store = open()
    const keys = Array.from({ length: 25 }, (_, i) => `p/${String(i).padStart(2, '0')}`)
    await store.commit({ puts: [...keys, 'p', 'p0', 'o/x', 'q/x'].map((key) => ({ key, value: bytes(key) })) })
    const pages: string[][] = []
    let after: string | undefined
    for (;;) {
      const page = await store.list(after === undefined ? { prefix: 'p/', limit: 10 } : { prefix: 'p/', after, limit: 10 })
      pages.push(page.map((e) => e.key))
      if (page.length < 10) break
      after = page[page.length - 1]!.key
    }
    assert.equal(pages.map((p) => p.length), [10, 10, 5])
    assert.equal(pages.flat(), keys)
    // after before the prefix starts at the prefix; after beyond it gives nothing
    assert.equal((await store.list({ prefix: 'p/', after: 'a', limit: 2 })).map((e) => e.key), ['p/00', 'p/01'])
    assert.equal(await store.list({ prefix: 'p/', after: 'p/24' }), [])
    assert.equal(await store.list({ prefix: 'p/', after: 'zzz' }), [])
    // after need not be a stored key
    assert.equal((await store.list({ prefix: 'p/', after: 'p/05x', limit: 1 })).map((e) => e.key), ['p/06'])
    assert.equal((await store.list({ prefix: '' })).length, 29)
    await store.close()
  })

  suite('limits and duplicate keys are invalid-parameters before any write', async () => {
    const store = open()
    await rejects(() => store.commit({ puts: [{ key: 'd', value: bytes('1') }], deletes: ['d'] }), 'invalid-parameters')
    await rejects(() => store.commit({ puts: [{ key: '', value: bytes('1') }] }), 'invalid-parameters')
    await rejects(() => store.commit({ puts: [{ key: 'ok', value: bytes('1') }, { key: '\uD800', value: bytes('1') }] }), 'invalid-parameters')
    assert.is(await store.get('ok'), undefined)
    const { maxOpsPerCommit, maxValueBytes } = store.capabilities
    if (maxOpsPerCommit !== undefined) {
      const puts = Array.from({ length: maxOpsPerCommit + 1 }, (_, i) => ({ key: `op/${i}`, value: bytes('x') }))
      await rejects(() => store.commit({ puts }), 'invalid-parameters')
      assert.equal(await store.list({ prefix: 'op/' }), [])
      assert.equal(await store.commit({ puts: puts.slice(1) }), { ok: true })
      assert.is((await store.list({ prefix: 'op/' })).length, maxOpsPerCommit)
    }
    if (maxValueBytes !== undefined && maxValueBytes <= 8 * 1024 * 1024) {
      await rejects(() => store.commit({ puts: [{ key: 'a', value: bytes('a') }, { key: 'big', value: new Uint8Array(maxValueBytes + 1) }] }), 'invalid-parameters')
      assert.is(await store.get('a'), undefined)
      assert.equal(await store.commit({ puts: [{ key: 'big', value: new Uint8Array(maxValueBytes).fill(7) }] }), { ok: true })
      assert.is((await store.get('big'))?.value.byteLength, maxValueBytes)
    }
    await store.close()
  })

  suite('concurrent compare-and-set increments lose no update', async () => {
    const store = open()
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 10; i++) await increment(store, 'counter')
    }))
    assert.is(str((await store.get('counter'))?.value), '80')
    await store.close()
  })

  suite('close: idempotent, then every call rejects with unavailable', async () => {
    const store = open()
    await store.commit({ puts: [{ key: 'c', value: bytes('1') }] })
    await store.close()
    await store.close()
    await rejects(() => store.get('c'), 'unavailable')
    await rejects(() => store.getMany(['c']), 'unavailable')
    await rejects(() => store.list({ prefix: '' }), 'unavailable')
    await rejects(() => store.commit({ puts: [{ key: 'c', value: bytes('2') }] }), 'unavailable')
  })

  suite('close without any call connects nothing and does not hang', async () => {
    const store = open()
    await store.close()
    await rejects(() => store.get('x'), 'unavailable')
  })
}
