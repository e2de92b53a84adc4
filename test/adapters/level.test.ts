// The level adapter on real LevelDB files in a temp directory. Child processes (this same file,
// started with a mode argument) hold the LOCK or commit and get SIGKILLed.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type ApprError, isApprError } from 'appr-core'
import { levelStore } from 'appr-core/adapters/level'
import { compareKeys } from '../../src/storage/util.js'

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))
const self = fileURLToPath(import.meta.url)

// ---- child modes -------------------------------------------------------------------------

const mode = process.argv[2]
if (mode === 'hold' || mode === 'commit-and-wait') {
  const store = levelStore({ path: process.argv[3]! })
  if (mode === 'hold') {
    await store.open()
    process.stdout.write('open\n')
  } else {
    const puts = Array.from({ length: 50 }, (_, i) => ({ key: `crash/${String(i).padStart(3, '0')}`, value: bytes(`v${i}`) }))
    const r = await store.commit({ puts })
    if (!r.ok) throw new Error('commit failed')
    process.stdout.write('acked\n')
  }
  // Stay alive until the parent kills us.
  setInterval(() => {}, 1 << 30)
} else {
  runTests()
}

function startChild(args: string[], expect: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', self, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stdout!.on('data', (d) => {
      out += d
      if (out.includes(`${expect}\n`)) resolve(child)
    })
    child.stderr!.on('data', (d) => (err += d))
    child.on('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before "${expect}": ${err}`)))
  })
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

async function rejection(p: Promise<unknown>): Promise<ApprError> {
  try {
    await p
  } catch (e) {
    return e as ApprError
  }
  throw new Error('expected a rejection')
}

// ---- tests -------------------------------------------------------------------------------

function runTests(): void {
  const dirs: string[] = []
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'appr-level-'))
    dirs.push(dir)
    return dir
  }
  test.after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  test('capabilities: persistent, single process, change hints', () => {
    const store = levelStore({ path: tempDir() })
    assert.is(store.name, 'level')
    assert.is(store.capabilities.persistent, true)
    assert.is(store.capabilities.multiProcess, false)
    assert.is(store.capabilities.changeHints, true)
  })

  test('lists by UTF-8 byte order (non-ASCII, astral, NUL), with prefix, after and limit', async () => {
    const store = levelStore({ path: tempDir() })
    const keys = ['k/a', 'k/\u0000', 'k/Z', 'k/é', 'k/\uFF5E', 'k/\u{1F600}', 'k/\u{1F600}x', 'k/~', 'k', 'j/z', 'l/']
    await store.commit({ puts: keys.map((key) => ({ key, value: bytes(key) })) })
    const expected = keys.filter((k) => k.startsWith('k/')).sort(compareKeys)
    assert.equal(
      (await store.list({ prefix: 'k/' })).map((e) => e.key),
      expected,
    )
    // JavaScript's UTF-16 order disagrees here; the store must not.
    assert.ok(expected.indexOf('k/\uFF5E') < expected.indexOf('k/\u{1F600}'))
    // Page through two at a time.
    const paged: string[] = []
    let after: string | undefined
    for (;;) {
      const page = await store.list(after === undefined ? { prefix: 'k/', limit: 2 } : { prefix: 'k/', after, limit: 2 })
      paged.push(...page.map((e) => e.key))
      if (page.length < 2) break
      after = page[page.length - 1]!.key
    }
    assert.equal(paged, expected)
    // after before the prefix starts at the prefix; after past it gives nothing.
    assert.equal((await store.list({ prefix: 'k/', after: 'a' })).map((e) => e.key), expected)
    assert.equal(await store.list({ prefix: 'k/', after: 'k0' }), [])
    // Prefix '' lists every user key, and nothing internal.
    const all = (await store.list({ prefix: '' })).map((e) => e.key)
    assert.equal(all, [...keys].sort(compareKeys))
    assert.equal(await store.list({ prefix: 'k/', limit: 0 }), [])
    // The prefix ending in a multi-byte character bounds correctly.
    assert.equal((await store.list({ prefix: 'k/\u{1F600}' })).map((e) => e.key), ['k/\u{1F600}', 'k/\u{1F600}x'])
    assert.equal(text((await store.get('k/é'))?.value), 'k/é')
    await store.close()
  })

  test('getMany keeps order and reports absent keys', async () => {
    const store = levelStore({ path: tempDir() })
    await store.commit({ puts: [{ key: 'a', value: bytes('1') }, { key: 'c', value: bytes('3') }] })
    const got = await store.getMany(['c', 'b', 'a'])
    assert.equal(got.map((e) => text(e?.value)), ['3', undefined, '1'])
    assert.equal(await store.getMany([]), [])
    await store.close()
  })

  test('values round-trip and never alias caller buffers', async () => {
    const store = levelStore({ path: tempDir() })
    const value = Uint8Array.of(0, 255, 1, 2, 128)
    await store.commit({ puts: [{ key: 'x', value }, { key: 'empty', value: new Uint8Array(0) }] })
    value[0] = 9
    const got = await store.get('x')
    assert.equal([...got!.value], [0, 255, 1, 2, 128])
    got!.value[1] = 7
    assert.equal([...(await store.get('x'))!.value], [0, 255, 1, 2, 128])
    assert.is((await store.get('empty'))!.value.byteLength, 0)
    await store.close()
  })

  test('every write gives a new version, never reused after delete, re-create or reopen', async () => {
    const path = tempDir()
    let store = levelStore({ path })
    const seen = new Set<string>()
    const note = async () => {
      const v = (await store.get('k'))!.version
      assert.not.ok(seen.has(v), `version ${v} reused`)
      seen.add(v)
      return v
    }
    await store.commit({ puts: [{ key: 'k', value: bytes('same') }] })
    await note()
    await store.commit({ puts: [{ key: 'k', value: bytes('same') }] })
    await note()
    await store.commit({ deletes: ['k'] })
    assert.is(await store.get('k'), undefined)
    await store.commit({ puts: [{ key: 'k', value: bytes('same') }] })
    await note()
    await store.close()
    store = levelStore({ path })
    await store.commit({ puts: [{ key: 'k', value: bytes('same') }] })
    await note()
    await store.close()
  })

  test('checks: a failed check applies nothing and names the conflicting keys', async () => {
    const store = levelStore({ path: tempDir() })
    assert.equal(await store.commit({ checks: [{ key: 'a', version: null }], puts: [{ key: 'a', value: bytes('1') }] }), { ok: true })
    const a = (await store.get('a'))!
    const r = await store.commit({
      checks: [
        { key: 'a', version: null },
        { key: 'b', version: '1' },
        { key: 'absent', version: null },
      ],
      puts: [{ key: 'c', value: bytes('x') }],
      deletes: ['a'],
    })
    assert.equal(r, { ok: false, conflicts: ['a', 'b'] })
    assert.is(await store.get('c'), undefined)
    assert.equal((await store.get('a'))!.version, a.version)
    assert.equal(await store.commit({ checks: [{ key: 'a', version: a.version }], deletes: ['a', 'never-there'] }), { ok: true })
    assert.is(await store.get('a'), undefined)
    await store.close()
  })

  test('shared checks: duplicate keys, malformed keys and limits are invalid-parameters before any write', async () => {
    const store = levelStore({ path: tempDir(), limits: { maxValueBytes: 4 } })
    const before = await store.list({ prefix: '' })
    const bad = [
      { puts: [{ key: 'a', value: bytes('1') }], deletes: ['a'] },
      { puts: [{ key: '', value: bytes('1') }] },
      { puts: [{ key: 'ok', value: bytes('1') }, { key: '\uD800', value: bytes('1') }] },
      { puts: [{ key: 'ok', value: bytes('12345') }] },
    ]
    for (const commit of bad) assert.ok(isApprError(await rejection(store.commit(commit)), 'invalid-parameters'))
    assert.ok(isApprError(await rejection(store.get('')), 'invalid-parameters'))
    assert.ok(isApprError(await rejection(store.getMany(['a', '\uDC00'])), 'invalid-parameters'))
    assert.equal(await store.list({ prefix: '' }), before)
    await store.close()
  })

  test('commits are atomic and linearizable: concurrent compare-and-set increments lose nothing', async () => {
    const store = levelStore({ path: tempDir() })
    await store.commit({ puts: [{ key: 'n', value: bytes('0') }] })
    const increment = async (id: number) => {
      for (;;) {
        const cur = (await store.get('n'))!
        const next = String(Number(text(cur.value)) + 1)
        const r = await store.commit({
          checks: [{ key: 'n', version: cur.version }],
          puts: [{ key: 'n', value: bytes(next) }, { key: `by/${next}`, value: bytes(String(id)) }],
        })
        if (r.ok) return
      }
    }
    await Promise.all(Array.from({ length: 25 }, (_, i) => increment(i)))
    assert.is(text((await store.get('n'))!.value), '25')
    // Each increment wrote its marker in the same batch: exactly one per value.
    assert.is((await store.list({ prefix: 'by/' })).length, 25)
    await store.close()
  })

  test('commits issued together take effect in order, each checked against the ones before it', async () => {
    const store = levelStore({ path: tempDir() })
    await store.open()
    // Issued in one tick, so they queue up behind the first and share a group write.
    const results = await Promise.all([
      store.commit({ puts: [{ key: 'first', value: bytes('1') }] }),
      store.commit({ checks: [{ key: 'x', version: null }], puts: [{ key: 'x', value: bytes('a') }] }),
      store.commit({ checks: [{ key: 'x', version: null }], puts: [{ key: 'x', value: bytes('b') }, { key: 'y', value: bytes('b') }] }),
      store.commit({ deletes: ['x'] }),
      store.commit({ checks: [{ key: 'x', version: null }], puts: [{ key: 'z', value: bytes('c') }] }),
      store.commit({ checks: [{ key: 'z', version: null }], puts: [{ key: 'w', value: bytes('d') }] }),
    ])
    assert.equal(results, [{ ok: true }, { ok: true }, { ok: false, conflicts: ['x'] }, { ok: true }, { ok: true }, { ok: false, conflicts: ['z'] }])
    assert.equal(
      (await store.list({ prefix: '' })).map((e) => [e.key, text(e.value)]),
      [
        ['first', '1'],
        ['z', 'c'],
      ],
    )
    await store.close()
  })

  test('change hints: a put under the prefix is hinted once written; other keys, failed commits and deletes are not; unsubscribe and close end them', async () => {
    const store = levelStore({ path: tempDir() })
    // Each hint reads the key back: the hint comes after the batch is written, never before.
    const reads: Promise<string | undefined>[] = []
    const end = await store.subscribe!('h/', () => reads.push(store.get('h/1').then((e) => text(e?.value))))
    // A hint is queued before the commit is acknowledged, so it has run once the commit resolves.
    await store.commit({ puts: [{ key: 'other/1', value: bytes('x') }] })
    assert.is(reads.length, 0)
    await store.commit({ puts: [{ key: 'h/1', value: bytes('a') }] })
    assert.equal(await Promise.all(reads), ['a'])
    assert.equal(await store.commit({ checks: [{ key: 'h/1', version: null }], puts: [{ key: 'h/2', value: bytes('b') }] }), { ok: false, conflicts: ['h/1'] })
    await store.commit({ deletes: ['h/1'] })
    assert.is(reads.length, 1)
    // Commits grouped into one batch: hinted, each listener once per batch at most.
    await Promise.all(['h/3', 'h/4', 'h/5'].map((key) => store.commit({ puts: [{ key, value: bytes('c') }] })))
    assert.ok(reads.length >= 2 && reads.length <= 4, String(reads.length))
    const hinted = reads.length
    await end()
    await end()
    await store.commit({ puts: [{ key: 'h/6', value: bytes('d') }] })
    assert.is(reads.length, hinted)
    await store.subscribe!('h/', () => reads.push(Promise.resolve('after close')))
    await store.close()
    assert.ok(isApprError(await rejection(store.subscribe!('h/', () => {})), 'unavailable'))
    assert.is(reads.length, hinted)
  })

  test('readers never observe part of a commit', async () => {
    const store = levelStore({ path: tempDir() })
    const keys = Array.from({ length: 20 }, (_, i) => `p/${i}`)
    let stop = false
    const torn: string[] = []
    const reader = (async () => {
      while (!stop) {
        const [entries, page] = await Promise.all([store.getMany(keys), store.list({ prefix: 'p/' })])
        for (const view of [entries.map((e) => text(e?.value)), page.map((e) => text(e.value))]) {
          if (new Set(view).size > 1) torn.push(view.join(','))
        }
      }
    })()
    for (let round = 0; round < 30; round++) {
      await store.commit({ puts: keys.map((key) => ({ key, value: bytes(String(round)) })) })
    }
    stop = true
    await reader
    assert.equal(torn, [])
    await store.close()
  })

  test('close and reopen keeps everything', async () => {
    const path = tempDir()
    let store = levelStore({ path })
    const puts = Array.from({ length: 300 }, (_, i) => ({ key: `r/${i}/\u{1F4E6}`, value: bytes(`value ${i}`) }))
    for (let i = 0; i < puts.length; i += 100) await store.commit({ puts: puts.slice(i, i + 100) })
    await store.commit({ deletes: ['r/7/\u{1F4E6}'] })
    const before = await store.list({ prefix: '' })
    await store.close()
    await store.close() // idempotent
    store = levelStore({ path })
    const after = await store.list({ prefix: '' })
    assert.is(after.length, 299)
    assert.equal(after, before)
    await store.close()
  })

  test('after close every call rejects with unavailable', async () => {
    const store = levelStore({ path: tempDir() })
    await store.commit({ puts: [{ key: 'a', value: bytes('1') }] })
    await store.close()
    for (const call of [store.get('a'), store.getMany(['a']), store.list({ prefix: '' }), store.commit({ puts: [] }), store.open()]) {
      assert.ok(isApprError(await rejection(call), 'unavailable'))
    }
  })

  test('closing a never-opened store is fine and later calls reject', async () => {
    const store = levelStore({ path: tempDir() })
    await store.close()
    assert.ok(isApprError(await rejection(store.get('a')), 'unavailable'))
  })

  test('closing with work in flight never hangs; every call settles, later calls reject', async () => {
    const store = levelStore({ path: tempDir() })
    await store.commit({ puts: Array.from({ length: 200 }, (_, i) => ({ key: `w/${i}`, value: new Uint8Array(1000) })) })
    const inflight: Promise<unknown>[] = []
    for (let i = 0; i < 50; i++) {
      inflight.push(store.commit({ puts: [{ key: `w/new/${i}`, value: bytes('x') }] }))
      inflight.push(store.get(`w/${i}`), store.list({ prefix: 'w/' }), store.getMany([`w/${i}`, 'w/none']))
    }
    const closing = store.close()
    const settled = await Promise.race([
      Promise.allSettled([closing, ...inflight]),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000).unref()),
    ])
    assert.ok(settled !== 'hung', 'close or an operation hung')
    const results = settled as PromiseSettledResult<unknown>[]
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(isApprError(r.reason, 'unavailable'), String(r.reason))
    }
    // The commits queued behind the mutex found the store closed.
    assert.ok(results.some((r) => r.status === 'rejected'))
    assert.ok(isApprError(await rejection(store.get('w/1')), 'unavailable'))
    assert.ok(isApprError(await rejection(store.commit({ puts: [{ key: 'z', value: bytes('1') }] })), 'unavailable'))
  })

  test('a second process on the same directory gets unavailable naming the LOCK file', async () => {
    const path = tempDir()
    const child = await startChild(['hold', path], 'open')
    try {
      const store = levelStore({ path })
      const error = await rejection(store.get('a'))
      assert.ok(isApprError(error, 'unavailable'), String(error))
      assert.ok(error.message.includes(join(path, 'LOCK')), error.message)
      assert.is(error.details.lock, join(path, 'LOCK'))
      assert.is(error.details.path, path)
      // Once the holder is gone, the same store object opens on the next call.
      await killed(child)
      assert.is(await store.get('a'), undefined)
      await store.close()
    } finally {
      await killed(child)
    }
  })

  test('an acknowledged commit survives SIGKILL of the committing process', async () => {
    const path = tempDir()
    const child = await startChild(['commit-and-wait', path], 'acked')
    await killed(child)
    const store = levelStore({ path })
    const entries = await store.list({ prefix: 'crash/' })
    assert.is(entries.length, 50)
    assert.is(text(entries[49]!.value), 'v49')
    // The version counter survived too: the next write gets a version not used before.
    const old = new Set(entries.map((e) => e.version))
    await store.commit({ puts: [{ key: 'crash/000', value: bytes('again') }] })
    assert.not.ok(old.has((await store.get('crash/000'))!.version))
    await store.close()
  })

  test.run()
}
