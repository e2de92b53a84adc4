/**
 * The runner-agnostic core of the suite: options, the per-property context (fresh stores,
 * reopening, child processes, seeded fast-check runs with readable failures). Running one
 * property (time budget, stray rejections, its result) is in property-run.ts. `run.ts` (the uvu
 * binding and {@link checkConformance}) and the mutant tests sit on top of it.
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import fc from 'fast-check'
import { isApprError } from '../errors/index.js'
import type { KvCapabilities, KvStore } from '../storage/kv.js'
import { readEnv } from './env.js'

/** `quick` (default, about a minute per adapter) or `deep` (twenty times the runs, for soak jobs). */
export type Profile = 'quick' | 'deep'

/** What both parts of the suite (KvStore and BlobStore) need to know about the thing under test. */
export interface SuiteOptions {
  /** Name used in suite titles and reports (`level`, `redis` …). */
  readonly name: string
  /**
   * A fresh, empty location: a temp directory, a key prefix … (default: a unique random name).
   * Properties that reopen a location, open a second instance on it or hand it to a child
   * process run only when this is given: a random name means nothing to a persistent backend.
   */
  readonly newLocation?: () => string | Promise<string>
  /** Removes whatever the suite left at `location` (called after every test, stores closed). */
  readonly destroy?: (location: string) => void | Promise<void>
  /**
   * A module (path or URL) that child processes import to open the store at a location
   * (`open(location)` for a KvStore, `openBlobs(location)` for a BlobStore). Enables the
   * SIGKILL, multi-process and process-exit properties.
   */
  readonly worker?: string | URL
  /** `quick` (default) or `deep`; `APPR_CONFORMANCE_PROFILE` overrides. */
  readonly profile?: Profile
  /** Base seed (default random; `APPR_CONFORMANCE_SEED` overrides). Printed on every failure. */
  readonly seed?: number
  /** Run only properties whose id contains this text (`APPR_CONFORMANCE_ONLY` overrides). */
  readonly only?: string
  /** fast-check replay path of a failure (`APPR_CONFORMANCE_PATH`); needs `only` to name one property. */
  readonly path?: string
  /** Time budget of one property in ms before it counts as hung (default 120 s quick, 30 min deep). */
  readonly timeoutMs?: number
  /**
   * Called once after the last suite ran (uvu has no global after-hook): stop the server the
   * test file started here. {@link checkConformance} calls it before returning.
   */
  readonly teardown?: () => void | Promise<void>
  /** Where progress lines go (default `console.log`). */
  readonly log?: (line: string) => void
}

/** What the suite needs to know about a KvStore adapter. Capabilities come from `store.capabilities`. */
export interface ConformanceOptions extends SuiteOptions {
  /**
   * Opens the store at `location`. The suite passes a fresh location from {@link newLocation}
   * for every test, and the same location again to reopen it (persistent stores) or to open a
   * second instance next to the first (`capabilities.multiProcess`). A store that has no notion of
   * location (memory) ignores it.
   */
  readonly open: (location: string) => KvStore | Promise<KvStore>
}

/** Something a KvStore property needs that an adapter may not have. */
export type Need = 'persistent' | 'multiProcess' | 'singleProcess' | 'worker' | 'newLocation' | 'maxValueBytes' | 'maxOpsPerCommit' | 'maxKeyBytes' | 'changeHints'

/** One property of a contract. `run` throws to fail. */
export interface Property<C = Ctx, N extends string = Need> {
  /** Stable id, `<group>/<name>`, used by `APPR_CONFORMANCE_ONLY`. */
  readonly id: string
  readonly title: string
  readonly needs?: readonly N[]
  run(ctx: C): Promise<void>
}

/** A named set of properties, registered as one uvu suite. */
export interface Group<C = Ctx, N extends string = Need> {
  readonly name: string
  readonly needs?: readonly N[]
  readonly properties: readonly Property<C, N>[]
}

/** A property failure: the message carries the seed, the counterexample and the replay line. */
export class ConformanceFailure extends Error {
  override readonly name = 'ConformanceFailure'
}

/** Outcome of one property. */
export interface PropertyResult {
  readonly id: string
  readonly title: string
  readonly status: 'passed' | 'failed' | 'skipped'
  /** For skipped properties: what is missing, and which option or capability enables it. */
  readonly missing?: string
  readonly error?: unknown
  readonly ms: number
}

/** Outcome of {@link checkConformance}. */
export interface ConformanceReport {
  readonly name: string
  readonly seed: number
  readonly results: PropertyResult[]
  readonly failed: number
  /** Milliseconds from the start until the first failure was known (undefined: none). */
  readonly firstFailureMs?: number
  readonly ms: number
}

const describeNeed: Record<Need, string> = {
  persistent: 'capabilities.persistent (declare it when data survives close and reopen)',
  multiProcess: 'capabilities.multiProcess (declare it when several instances and processes may share a location)',
  singleProcess: 'capabilities.multiProcess = false',
  worker: 'the worker option (a module exporting open(location), imported by child processes)',
  newLocation: 'the newLocation option (a fresh location per test, so a location can be reopened)',
  maxValueBytes: 'capabilities.maxValueBytes (declare the largest value the adapter accepts)',
  maxOpsPerCommit: 'capabilities.maxOpsPerCommit (declare the most operations one commit accepts)',
  maxKeyBytes: 'capabilities.maxKeyBytes (declare the longest key in UTF-8 bytes)',
  changeHints: 'capabilities.changeHints (declare it and implement subscribe when the store can wake readers on commits)',
}

/** The options after applying defaults and environment overrides. */
export interface Settings {
  readonly name: string
  readonly profile: Profile
  readonly seed: number
  readonly only?: string
  readonly path?: string
  readonly timeoutMs: number
  readonly log: (line: string) => void
}

export function settingsOf(options: SuiteOptions): Settings {
  const env = readEnv()
  const profile = env.profile ?? options.profile ?? 'quick'
  const only = env.only ?? options.only
  const path = env.path ?? options.path
  return {
    name: options.name,
    profile,
    seed: env.seed ?? options.seed ?? randomBytes(4).readInt32LE(0),
    ...(only === undefined ? {} : { only }),
    ...(path === undefined ? {} : { path }),
    timeoutMs: options.timeoutMs ?? (profile === 'deep' ? 30 * 60_000 : 120_000),
    log: options.log ?? ((line) => console.log(line)),
  }
}

/** Joins the descriptions of the needs `lacks` says are missing (undefined: nothing is). */
export function describeMissing<N extends string>(needs: readonly N[] | undefined, lacks: (need: N) => boolean, describe: Record<N, string>): string | undefined {
  const missing = (needs ?? []).filter(lacks)
  return missing.length === 0 ? undefined : missing.map((n) => describe[n]).join(' and ')
}

/** What is missing for `needs`, or undefined when everything is there. */
export function missingFor(needs: readonly Need[] | undefined, caps: KvCapabilities, options: ConformanceOptions): string | undefined {
  return describeMissing(
    needs,
    (need) => (need === 'worker' ? options.worker === undefined : need === 'newLocation' ? options.newLocation === undefined : need === 'singleProcess' ? caps.multiProcess : !caps[need]),
    describeNeed,
  )
}

// FNV-1a, to derive a per-property seed from the base seed so one property replays alone.
function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h | 0
}

/** A child process running one job of src/conformance/worker.ts against the store at a location. */
export interface WorkerHandle {
  readonly child: ChildProcess
  /** Resolves with the next message of this `type` (rejects if the child exits first). */
  next<T = Record<string, unknown>>(type: string): Promise<T>
  /** Every message received so far. */
  readonly messages: Record<string, unknown>[]
  /** Resolves when the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal?: NodeJS.Signals): void
}

/**
 * What every property context does, whatever it tests: seeded fast-check runs with readable
 * failures, fresh locations, stores opened at them (closed and destroyed afterwards) and child
 * processes. `S` is the store type under test.
 */
export abstract class SuiteCtx<S> {
  readonly #options: SuiteOptions
  readonly #opened: { store: S; location: string }[] = []
  readonly #locations = new Set<string>()
  readonly #children: ChildProcess[] = []
  #checks = 0

  constructor(
    readonly settings: Settings,
    readonly property: { readonly id: string; readonly title: string },
    options: SuiteOptions,
  ) {
    this.#options = options
  }

  /** Opens the store under test at `location`. */
  protected abstract openStore(location: string): Promise<S>
  /** Closes a store this context opened (errors are ignored by the caller). */
  protected abstract closeStore(store: S): Promise<void>

  /** Multiplies a quick-profile count for the deep profile. */
  runs(quick: number): number {
    return this.settings.profile === 'deep' ? quick * 20 : quick
  }

  /** A fresh, empty store at a new location. */
  async open(): Promise<S> {
    return this.openAt(await this.freshLocation())
  }

  /** The location a store of this context was opened at. */
  locationOf(store: S): string {
    const found = this.#opened.find((o) => o.store === store)
    if (!found) throw new Error('store was not opened by this context')
    return found.location
  }

  /** A new location that no store has opened yet (for child processes that open it first). */
  async freshLocation(): Promise<string> {
    const location = this.#options.newLocation ? await this.#options.newLocation() : `appr-conformance-${randomBytes(6).toString('hex')}`
    this.#locations.add(location)
    return location
  }

  /** Opens the store at `location` (already created by this context). */
  async openAt(location: string): Promise<S> {
    const store = await this.openStore(location)
    this.#opened.push({ store, location })
    return store
  }

  /** Closes `store` and opens a new instance on the same location. */
  async reopen(store: S): Promise<S> {
    const location = this.locationOf(store)
    await this.closeStore(store)
    return this.openAt(location)
  }

  /** A second instance on the same location while the first stays open (multi-process stores). */
  async attach(store: S): Promise<S> {
    return this.openAt(this.locationOf(store))
  }

  /** Opens a fresh store, runs `fn`, then closes and destroys it (for use inside each fast-check run). */
  async withStore<T>(fn: (store: S) => Promise<T>): Promise<T> {
    const store = await this.open()
    try {
      return await fn(store)
    } finally {
      await this.#release(this.locationOf(store))
    }
  }

  /** Starts a child process that opens the store at `location` and runs `job`. */
  spawn(location: string, job: string, args: Record<string, unknown> = {}): WorkerHandle {
    const worker = this.#options.worker
    if (worker === undefined) throw new Error('no worker module configured')
    const href = worker instanceof URL ? worker.href : worker.startsWith('file:') ? worker : pathToFileURL(resolve(worker)).href
    const here = import.meta.url
    const entry = fileURLToPath(new URL(here.endsWith('.ts') ? './worker.ts' : './worker.js', here))
    const child = fork(entry, [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
    this.#children.push(child)
    const messages: Record<string, unknown>[] = []
    // Messages nobody has asked for yet, delivered in arrival order by next().
    const unread: Record<string, unknown>[] = []
    const waiters: { type: string; resolve: (m: never) => void; reject: (e: Error) => void }[] = []
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => {
        for (const w of waiters.splice(0)) w.reject(new Error(`worker ${job} exited (code ${code}, signal ${signal}) before sending "${w.type}"`))
        resolve({ code, signal })
      })
    })
    child.on('message', (m: Record<string, unknown>) => {
      messages.push(m)
      if (m.type === 'error') {
        for (const w of waiters.splice(0)) w.reject(new Error(`worker ${job} failed: ${String(m.message)}`))
        return
      }
      const i = waiters.findIndex((w) => w.type === m.type)
      if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m as never)
      else unread.push(m)
    })
    child.send({ module: href, location, job, args })
    return {
      child,
      messages,
      exited,
      next: <T>(type: string) =>
        new Promise<T>((resolve, reject) => {
          const i = unread.findIndex((m) => m.type === type)
          if (i >= 0) resolve(unread.splice(i, 1)[0] as T)
          else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`worker ${job} already exited`))
          else waiters.push({ type, resolve: resolve as (m: never) => void, reject })
        }),
      kill: (signal = 'SIGKILL') => {
        child.kill(signal)
      },
    }
  }

  /**
   * Runs `job` in a child process on `location`, lets it acknowledge up to `afterAck` (its
   * `ack` messages carry a counter `i`), waits for `pause` if given, then SIGKILLs it. Returns
   * the highest acknowledgement received: everything up to it must have survived.
   */
  async killAfter(location: string, job: string, args: Record<string, unknown>, afterAck: number, pause?: () => Promise<void>): Promise<number> {
    const worker = this.spawn(location, job, args)
    await within(worker.next('opened'), 30_000, `worker ${job} opening the store`)
    let acked = -1
    while (acked < afterAck) acked = (await within(worker.next<{ i: number }>('ack'), 30_000, `worker ${job} acknowledgement`)).i
    await pause?.()
    worker.kill('SIGKILL')
    await within(worker.exited, 30_000, 'killed worker exit')
    for (const m of worker.messages) if (m.type === 'ack') acked = Math.max(acked, Number(m.i))
    return acked
  }

  /**
   * Runs a fast-check property with this property's seed. On failure throws a
   * {@link ConformanceFailure} whose message shows the shrunk counterexample and how to replay it.
   */
  async check<Ts>(property: fc.IAsyncPropertyWithHooks<Ts>, quickRuns: number): Promise<void> {
    const index = this.#checks++
    const seed = (this.settings.seed ^ hash(`${this.property.id}#${index}`)) | 0
    const replaying = this.settings.path !== undefined && this.settings.only === this.property.id && index === 0
    const details = await fc.check(property, {
      seed,
      numRuns: this.runs(quickRuns),
      ...(replaying ? { path: this.settings.path } : {}),
    })
    if (!details.failed) return
    const error = details.errorInstance
    const reason = error instanceof Error ? `${error.message}` : String(error)
    throw new ConformanceFailure(
      [
        `${this.settings.name}: ${this.property.id} — ${this.property.title}`,
        `  counterexample (after ${details.numRuns} runs, shrunk ${details.numShrinks} times):`,
        ...fc
          .stringify(details.counterexample)
          // Invisible and look-alike characters (U+E000, U+FFFF, surrogates) as escapes; ∅ marks an empty value.
          .replace(/[^\u0020-\u007e\n∅]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
          .split('\n')
          .map((l) => `    ${l}`),
        `  error: ${reason.split('\n').join('\n    ')}`,
        `  replay: APPR_CONFORMANCE_SEED=${this.settings.seed} APPR_CONFORMANCE_ONLY='${this.property.id}' APPR_CONFORMANCE_PATH='${details.counterexamplePath ?? ''}'`,
      ].join('\n'),
      { cause: error },
    )
  }

  /** A failure with the seed attached, for properties that are plain examples: `throw ctx.failure(…)`. */
  failure(message: string): ConformanceFailure {
    return new ConformanceFailure(`${this.settings.name}: ${this.property.id} — ${message}\n  seed: APPR_CONFORMANCE_SEED=${this.settings.seed}`)
  }

  async #release(location: string): Promise<void> {
    for (const o of this.#opened.filter((x) => x.location === location)) await this.closeStore(o.store).catch(() => {})
    this.#opened.splice(0, this.#opened.length, ...this.#opened.filter((o) => o.location !== location))
    this.#locations.delete(location)
    await this.#options.destroy?.(location)
  }

  /** Closes every store, kills every child and destroys every location of this context. */
  async cleanup(): Promise<void> {
    for (const child of this.#children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await Promise.all(
      this.#children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)),
    )
    for (const location of [...this.#locations]) await this.#release(location).catch(() => {})
    for (const o of this.#opened.splice(0)) await this.closeStore(o.store).catch(() => {})
  }
}

/** The context a KvStore property runs in. Everything it opens is closed and destroyed afterwards. */
export class Ctx extends SuiteCtx<KvStore> {
  readonly #open: ConformanceOptions['open']

  constructor(
    settings: Settings,
    readonly capabilities: KvCapabilities,
    property: Property,
    options: ConformanceOptions,
  ) {
    super(settings, property, options)
    this.#open = options.open
  }

  protected async openStore(location: string): Promise<KvStore> {
    return this.#open(location)
  }

  protected closeStore(store: KvStore): Promise<void> {
    return store.close()
  }
}

/** Awaits `promise` but fails after `ms` (a hang is a failure, never a stuck test run). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ConformanceFailure(`${what} did not settle within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Asserts that `promise` rejects with an ApprError of `code`; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: string, what: string): Promise<unknown> {
  try {
    await promise
  } catch (e) {
    if (isApprError(e) && e.code === code) return e
    throw new ConformanceFailure(`${what}: expected an ApprError '${code}', got ${isApprError(e) ? `'${e.code}'` : String(e)}`)
  }
  throw new ConformanceFailure(`${what}: expected an ApprError '${code}', but it succeeded`)
}
