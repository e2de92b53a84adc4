// Model-based testing: random command sequences run against the adapter and against KvModel;
// every output must match, and every version token the adapter hands out must belong to exactly
// one write (a token reused for a later write, or changing without a write, fails).
import fc from 'fast-check'
import type { KvCapabilities, KvStore } from '../../storage/kv.js'
import { hex, keyArb, sameBytes, showKey, valueArb } from '../arbitraries.js'
import type { Group } from '../harness.js'
import { KvModel, type ModelCheck } from '../model.js'

/** Model side of a run: the reference map and what each observed version token stands for. */
export interface KvRunModel {
  readonly kv: KvModel
  /** `key \0 token` → the generation the token was first seen at. */
  readonly generationOf: Map<string, number>
  /** generation → token. */
  readonly tokenOf: Map<number, string>
}

/** Adapter side of a run. `reopen` exists for persistent stores. */
export interface KvRunReal {
  store: KvStore
  readonly reopen?: (store: KvStore) => Promise<KvStore>
}

type Cmd = fc.AsyncCommand<KvRunModel, KvRunReal, false>

const bogusVersion = '\u0000never-issued-version'

/** Checks that `entry` from the adapter matches the model and records its version token. */
function observe(m: KvRunModel, what: string, key: string, got: { key: string; value: Uint8Array; version: string } | undefined): void {
  const want = m.kv.get(key)
  if (!want) {
    if (got !== undefined) throw new Error(`${what}: ${showKey(key)} should be absent, read ${hex(got.value)}`)
    return
  }
  if (!got) throw new Error(`${what}: ${showKey(key)} should be ${hex(want.value)}, read absent`)
  if (got.key !== key) throw new Error(`${what}: entry for ${showKey(key)} says key ${showKey(got.key)}`)
  if (!sameBytes(got.value, want.value)) throw new Error(`${what}: ${showKey(key)} should be ${hex(want.value)}, read ${hex(got.value)}`)
  const id = `${key}\u0000${got.version}`
  const seenAt = m.generationOf.get(id)
  if (seenAt !== undefined && seenAt !== want.generation) {
    throw new Error(`${what}: version ${JSON.stringify(got.version)} of ${showKey(key)} was already used by an earlier write; a stale check would pass`)
  }
  const token = m.tokenOf.get(want.generation)
  if (token !== undefined && token !== got.version) throw new Error(`${what}: version of ${showKey(key)} changed from ${token} to ${got.version} without a write`)
  m.generationOf.set(id, want.generation)
  m.tokenOf.set(want.generation, got.version)
}

function expectOk(what: string, r: { ok: boolean }): void {
  if (!r.ok) throw new Error(`${what}: expected the commit to apply, it conflicted`)
}

class Put implements Cmd {
  constructor(
    readonly key: string,
    readonly value: Uint8Array | 'same',
  ) {}
  check = () => true as const
  async run(m: KvRunModel, r: KvRunReal) {
    const value = this.value === 'same' ? m.kv.get(this.key)?.value ?? new Uint8Array([0x53]) : this.value
    expectOk(this.toString(), await r.store.commit({ puts: [{ key: this.key, value }] }))
    m.kv.commit([], [{ key: this.key, value }])
    observe(m, this.toString(), this.key, await r.store.get(this.key))
  }
  toString = () => `put(${showKey(this.key)}, ${this.value === 'same' ? 'same bytes again' : hex(this.value)})`
}

class Delete implements Cmd {
  constructor(readonly key: string) {}
  check = () => true as const
  async run(m: KvRunModel, r: KvRunReal) {
    expectOk(this.toString(), await r.store.commit({ deletes: [this.key] }))
    m.kv.commit([], [], [this.key])
  }
  toString = () => `delete(${showKey(this.key)})`
}

class Get implements Cmd {
  constructor(readonly key: string) {}
  check = () => true as const
  async run(m: KvRunModel, r: KvRunReal) {
    observe(m, this.toString(), this.key, await r.store.get(this.key))
  }
  toString = () => `get(${showKey(this.key)})`
}

class GetMany implements Cmd {
  constructor(readonly keys: string[]) {}
  check = () => true as const
  async run(m: KvRunModel, r: KvRunReal) {
    const got = await r.store.getMany(this.keys)
    if (got.length !== this.keys.length) throw new Error(`${this}: returned ${got.length} entries for ${this.keys.length} keys`)
    for (const [i, key] of this.keys.entries()) observe(m, `${this}[${i}]`, key, got[i])
  }
  toString = () => `getMany([${this.keys.map(showKey).join(', ')}])`
}

class List implements Cmd {
  constructor(
    readonly prefix: string,
    readonly after: string | undefined,
    readonly limit: number | undefined,
  ) {}
  check = () => true as const
  async run(m: KvRunModel, r: KvRunReal) {
    const got = await r.store.list({ prefix: this.prefix, ...(this.after === undefined ? {} : { after: this.after }), ...(this.limit === undefined ? {} : { limit: this.limit }) })
    const want = m.kv.list(this.prefix, this.after, this.limit)
    const show = (keys: { key: string }[]) => `[${keys.map((e) => showKey(e.key)).join(', ')}]`
    if (got.length !== want.length || got.some((e, i) => e.key !== want[i]!.key)) throw new Error(`${this}: returned ${show(got)}, expected ${show(want)}`)
    for (const e of got) observe(m, this.toString(), e.key, e)
  }
  toString = () =>
    `list(${showKey(this.prefix)}${this.after === undefined ? '' : `, after ${showKey(this.after)}`}${this.limit === undefined ? '' : `, limit ${this.limit}`})`
}

type CheckKind = 'absent' | 'current' | 'stale'

class Commit implements Cmd {
  constructor(
    readonly checks: [string, CheckKind][],
    readonly puts: [string, Uint8Array][],
    readonly deletes: string[],
  ) {}
  check = () => true as const
  async run(m: KvRunModel, r: KvRunReal) {
    const modelChecks: ModelCheck[] = []
    const checks: { key: string; version: string | null }[] = []
    for (const [key, kind] of this.checks) {
      const entry = m.kv.get(key)
      if (kind === 'absent' || (kind === 'current' && !entry)) {
        checks.push({ key, version: null })
        modelChecks.push({ key, generation: null })
      } else if (kind === 'current' && entry) {
        if (!m.tokenOf.has(entry.generation)) observe(m, `${this} (reading the current version)`, key, await r.store.get(key))
        checks.push({ key, version: m.tokenOf.get(entry.generation)! })
        modelChecks.push({ key, generation: entry.generation })
      } else {
        // The newest token we saw for this key that is no longer current, or one never issued.
        const old = [...m.generationOf].filter(([id, g]) => id.startsWith(`${key}\u0000`) && g !== entry?.generation).pop()
        checks.push({ key, version: old ? old[0].slice(key.length + 1) : bogusVersion })
        modelChecks.push({ key, generation: old ? old[1] : -1 })
      }
    }
    const puts = this.puts.map(([key, value]) => ({ key, value }))
    const result = await r.store.commit({ checks, puts, deletes: this.deletes })
    const conflicts = m.kv.conflicts(modelChecks)
    m.kv.commit(modelChecks, puts, this.deletes)
    if (result.ok !== (conflicts.length === 0)) {
      throw new Error(`${this}: ${result.ok ? 'applied although' : 'conflicted although'} the model says ${conflicts.length ? `${conflicts.map(showKey).join(', ')} conflict` : 'every check holds'}`)
    }
    if (!result.ok && (result.conflicts.length === 0 || result.conflicts.some((k) => !this.checks.some(([c]) => c === k)))) {
      throw new Error(`${this}: conflicts ${JSON.stringify(result.conflicts)} must be a non-empty subset of the checked keys`)
    }
  }
  toString = () =>
    `commit(checks [${this.checks.map(([k, kind]) => `${showKey(k)}:${kind}`).join(', ')}], puts [${this.puts
      .map(([k, v]) => `${showKey(k)}=${hex(v)}`)
      .join(', ')}], deletes [${this.deletes.map(showKey).join(', ')}])`
}

class Reopen implements Cmd {
  check = () => true as const
  async run(m: KvRunModel, r: KvRunReal) {
    r.store = await r.reopen!(r.store)
    const all = await r.store.list({ prefix: '', limit: 100_000 })
    if (all.length !== m.kv.size) throw new Error(`reopen: ${all.length} entries after reopening, the model has ${m.kv.size}`)
    for (const e of all) observe(m, 'reopen', e.key, e)
  }
  toString = () => 'close and reopen'
}

/** Keys that collide often and sit on the UTF-8/UTF-16 order traps. */
const keyPool = ['a', 'a/', 'a/b', 'a\u0000', 'a\u00e9', 'a\uff5e', 'a\uffff', 'a\u{1f600}', 'b', '\uffff', '\u{10000}', '\u{10ffff}']

/** The command generators (exported for suites that want to extend the run). */
export function kvCommands(caps: KvCapabilities, persistent: boolean): fc.Arbitrary<Cmd>[] {
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keyPool) }, { weight: 1, arbitrary: keyArb(2) })
  const prefix = fc.oneof(fc.constantFrom('', 'a', 'a/', 'b', '\uffff', '\u{10000}', 'a\uffff'), keyArb(1))
  const value = valueArb(caps, 8)
  const maxOps = Math.max(2, Math.min(caps.maxOpsPerCommit ?? 12, 12))
  const commitArb = fc
    .record({
      checks: fc.uniqueArray(fc.tuple(key, fc.constantFrom<CheckKind>('absent', 'current', 'current', 'stale')), { selector: ([k]) => k, maxLength: 3 }),
      writes: fc.uniqueArray(fc.tuple(key, fc.option(value, { nil: undefined })), { selector: ([k]) => k, maxLength: 4 }),
    })
    .map(({ checks, writes }) => {
      const room = maxOps - Math.min(checks.length, maxOps - 1)
      const ws = writes.slice(0, room)
      return new Commit(
        checks.slice(0, maxOps - ws.length),
        ws.filter(([, v]) => v !== undefined) as [string, Uint8Array][],
        ws.filter(([, v]) => v === undefined).map(([k]) => k),
      )
    })
  const commands: fc.Arbitrary<Cmd>[] = [
    fc.tuple(key, fc.oneof({ weight: 4, arbitrary: value }, { weight: 1, arbitrary: fc.constant('same' as const) })).map(([k, v]) => new Put(k, v)),
    key.map((k) => new Delete(k)),
    key.map((k) => new Get(k)),
    fc.array(key, { minLength: 1, maxLength: 4 }).map((ks) => new GetMany(ks)),
    fc.tuple(prefix, fc.option(key, { nil: undefined }), fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined })).map(([p, a, l]) => new List(p, a, l)),
    commitArb,
    commitArb,
  ]
  if (persistent) commands.push(fc.constant(new Reopen()))
  return commands
}

export const modelRun: Group = {
  name: 'model',
  properties: [
    {
      id: 'model/commands',
      title: 'random sequences of put, delete, get, getMany, list, conditional commit (and reopen) match the byte-ordered model',
      async run(ctx) {
        const persistent = ctx.capabilities.persistent
        await ctx.check(
          fc.asyncProperty(fc.commands(kvCommands(ctx.capabilities, persistent), { maxCommands: 40 }), (cmds) =>
            ctx.withStore(async (store) => {
              const real: KvRunReal = persistent ? { store, reopen: (s) => ctx.reopen(s) } : { store }
              await fc.asyncModelRun(() => ({ model: { kv: new KvModel(), generationOf: new Map(), tokenOf: new Map() }, real }), cmds)
            }),
          ),
          400,
        )
      },
    },
  ],
}
