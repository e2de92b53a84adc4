/**
 * The feed: moving committed events from the outbox into the log, where each gets its place
 * (`seq`, dense, never reused), trimming the log to its retention bounds, and reading it.
 *
 * Sequencing is done by readers, not writers: a read first moves the outbox's oldest entries
 * (one `list`, sorted by stamp) into the log in one commit that checks the feed record and every
 * moved entry, so two readers racing never place an event twice, and writers never touch the
 * feed record. Per-package order is exact: a package's stamps increase in commit order (record.ts)
 * and one `list` is a snapshot in every adapter, so an outbox page that holds a package's event
 * holds every earlier one not yet placed. See docs/events.md.
 * @module
 */
import { z } from 'zod'
import { ApprError } from '../../errors/index.js'
import type { KvEntry, KvStore } from '../../storage/kv.js'
import type { RegistryContext } from '../context.js'
import { decode, encode, type RecordType } from '../records.js'
import { eventKeys, StampType } from './record.js'
import type { EventPage, EventReadOptions, EventWatchOptions, RegistryEvent } from './types.js'

const FeedSchema = z.object({ next: z.number().int().positive(), first: z.number().int().positive() })
type Feed = z.infer<typeof FeedSchema>
const FeedType: RecordType<Feed> = { schema: FeedSchema, fast: () => undefined }

const EventTypes = [
  'release.pushed',
  'release.deleted',
  'channel.added',
  'channel.removed',
  'channel.deleted',
  'channel.set',
  'signature.added',
  'signature.removed',
  'oci.manifest.pushed',
  'oci.manifest.deleted',
  'oci.tag.deleted',
] as const satisfies readonly RegistryEvent['type'][]
const EventSchema = z.object({ type: z.enum(EventTypes), package: z.string(), time: z.string() }).passthrough()
/** `chain`: the key of the event's chain of stamps when it is not its package (OCI repositories). */
const PendingSchema = EventSchema.extend({ stamp: z.string(), prev: z.string().nullable(), chain: z.string().optional() })
const PendingType: RecordType<z.infer<typeof PendingSchema>> = { schema: PendingSchema, fast: () => undefined }
const LoggedSchema = EventSchema.extend({ seq: z.number().int().positive() })
const LoggedType: RecordType<z.infer<typeof LoggedSchema>> = { schema: LoggedSchema, fast: () => undefined }

const MAX_PAGE = 1000
/**
 * How long an entry waits for its predecessor before it is placed anyway: a chain broken by a
 * head rewritten outside this code (a restored store, an edit by hand) must not stall its
 * package. With a store whose list is a snapshot, an entry never waits at all.
 */
const HOLD_MS = 30_000
/** Sequencing passes one read may make before it answers with what is placed. */
const MAX_PASSES = 20

async function readFeed(ctx: RegistryContext): Promise<{ feed: Feed; entry: KvEntry | undefined }> {
  const entry = await ctx.store.get(eventKeys.feed)
  return { feed: entry ? decode(FeedType, entry.value, {}) : { next: 1, first: 1 }, entry }
}

/**
 * Outbox entries per placing commit: each costs 3 operations (check, delete, put), its package's
 * placed stamp at most 2 (check, put), the feed record 2.
 */
function batchSize(ctx: RegistryContext): number {
  return Math.max(1, Math.min(100, Math.floor(((ctx.store.capabilities.maxOpsPerCommit ?? 502) - 2) / 5)))
}

/**
 * One placing pass: appends the outbox's oldest entries to the log. Returns true when more may
 * be waiting (a full page, an event held back, or another reader won the race).
 */
async function sequenceOnce(ctx: RegistryContext): Promise<boolean> {
  // The feed record is read before the outbox: a reader that placed events in between changed it, and our commit fails.
  const { feed, entry } = await readFeed(ctx)
  const batch = batchSize(ctx)
  const page = await ctx.store.list({ prefix: eventKeys.outbox, limit: batch })
  if (page.length === 0) return false
  const pending = page.map((e) => ({ entry: e, event: decode(PendingType, e.value, {}) }))
  const chainOf = (p: (typeof pending)[number]) => p.event.chain ?? p.event.package
  const packages = [...new Set(pending.map(chainOf))]
  const placedEntries = await ctx.store.getMany(packages.map(eventKeys.placed))
  const placed = new Map(packages.map((pkg, i) => [pkg, placedEntries[i] && decode(StampType, placedEntries[i].value, { package: pkg }).stamp]))
  // An event goes in only after its package's previous one (`prev`): a store whose list is not a
  // snapshot may show a package's later event without an earlier one; that package waits.
  const held = new Set<string>()
  const taken: typeof pending = []
  const stale = ctx.clock().getTime() - HOLD_MS
  for (const p of pending) {
    const { stamp, prev } = p.event
    const pkg = chainOf(p)
    const waiting = (placed.get(pkg) ?? null) !== prev && Number.parseInt(stamp.slice(0, 12), 16) > stale
    if (held.has(pkg) || waiting) {
      held.add(pkg)
      continue
    }
    placed.set(pkg, stamp)
    taken.push(p)
  }
  if (taken.length === 0) return false
  const puts = taken.map(({ event: { stamp, prev, chain, ...event } }, i) => ({ key: eventKeys.logKey(feed.next + i), value: encode({ ...event, seq: feed.next + i }) }))
  const touched = packages.filter((pkg) => taken.some((p) => chainOf(p) === pkg))
  const next = { next: feed.next + taken.length, first: feed.first }
  const result = await ctx.store.commit({
    checks: [
      { key: eventKeys.feed, version: entry?.version ?? null },
      ...taken.map((p) => ({ key: p.entry.key, version: p.entry.version })),
      ...touched.map((pkg) => ({ key: eventKeys.placed(pkg), version: placedEntries[packages.indexOf(pkg)]?.version ?? null })),
    ],
    puts: [...puts, ...touched.map((pkg) => ({ key: eventKeys.placed(pkg), value: encode({ stamp: placed.get(pkg) }) })), { key: eventKeys.feed, value: encode(next) }],
    deletes: taken.map((p) => p.entry.key),
  })
  if (result.ok && ctx.events) await trim(ctx, next)
  return !result.ok || page.length === batch || held.size > 0
}

/** Moves what the outbox holds into the log (bounded work per call). */
async function sequence(ctx: RegistryContext): Promise<void> {
  for (let pass = 0; pass < MAX_PASSES && (await sequenceOnce(ctx)); pass++);
}

/**
 * Deletes log entries beyond the retention bounds (count, then age), a commit per batch, each
 * checking the feed record so `first` always names the oldest entry kept.
 */
async function trim(ctx: RegistryContext, feed: Feed): Promise<void> {
  const { maxEvents, maxAgeMs } = ctx.events!
  const oldestAllowed = ctx.clock().getTime() - maxAgeMs
  let current = feed
  for (let round = 0; round < MAX_PASSES; round++) {
    const page = await ctx.store.list({ prefix: eventKeys.log, limit: batchSize(ctx) })
    const doomed: string[] = []
    let first = current.first
    for (const e of page) {
      const event = decode(LoggedType, e.value, {})
      if (current.next - event.seq <= maxEvents && Date.parse(event.time) >= oldestAllowed) break
      doomed.push(e.key)
      first = event.seq + 1
    }
    if (doomed.length === 0) return
    const { feed: latest, entry } = await readFeed(ctx)
    if (latest.first !== current.first || entry === undefined) return // another reader is trimming
    current = { next: latest.next, first }
    const result = await ctx.store.commit({
      checks: [{ key: eventKeys.feed, version: entry.version }],
      puts: [{ key: eventKeys.feed, value: encode(current) }],
      deletes: doomed,
    })
    if (!result.ok) return
  }
}

function parseCursor(cursor: string): number {
  if (typeof cursor !== 'string' || !/^(0|[1-9][0-9]{0,14})$/.test(cursor)) {
    throw new ApprError('invalid-parameters', 'not an event cursor', { details: { cursor: String(cursor).slice(0, 40) } })
  }
  return Number(cursor)
}

function cursorExpired(after: number, feed: Feed): ApprError {
  return new ApprError('cursor-expired', 'the events after this cursor were trimmed by retention; resync and read from the oldest event kept', {
    details: { cursor: String(after), oldest: String(feed.first) },
  })
}

function toEvent(entry: KvEntry): RegistryEvent {
  const event = decode(LoggedType, entry.value, {})
  return { ...event, cursor: String(event.seq) } as unknown as RegistryEvent
}

export async function readEvents(ctx: RegistryContext, options: EventReadOptions = {}): Promise<EventPage> {
  const limit = Math.max(1, Math.min(MAX_PAGE, Math.floor(options.limit ?? 100)))
  const after = options.after === undefined ? undefined : parseCursor(options.after)
  await sequence(ctx)
  const { feed } = await readFeed(ctx)
  const start = after ?? feed.first - 1
  if (start + 1 < feed.first) throw cursorExpired(start, feed)
  const entries = await ctx.store.list({ prefix: eventKeys.log, after: eventKeys.logKey(start), limit })
  const events = entries.map(toEvent)
  // Trimmed between reading the feed record and listing: the page would start past a gap.
  if (events.length > 0 && events[0]!.seq !== start + 1) throw cursorExpired(start, (await readFeed(ctx)).feed)
  return { events, cursor: events.at(-1)?.cursor ?? String(start) }
}

/** The cursor of the newest event placed so far (`'0'` for an empty feed): where a watch "from now" starts. */
export async function latestCursor(ctx: RegistryContext): Promise<string> {
  await sequence(ctx)
  return String((await readFeed(ctx)).feed.next - 1)
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects). `onWake`, when given,
 * receives a function that ends the pause early.
 */
export function sleep(ms: number, signal: AbortSignal | undefined, onWake?: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
    onWake?.(done)
  })
}

/** Pauses between polls of the outbox that a change hint ends early. */
export interface OutboxWaker {
  /** Waits up to `ms`; returns at once when a hint came since the last wait. */
  wait(ms: number, signal: AbortSignal | undefined): Promise<void>
  end(): Promise<void>
}

/**
 * Subscribes to the store's change hints on the outbox when it offers them, so a watch hears a
 * commit by any process at once instead of at its next poll. Without hints (or when subscribing
 * fails) it only sleeps: polling is always the floor, a hint only shortens the pause.
 */
export async function outboxWaker(store: KvStore): Promise<OutboxWaker> {
  let hinted = false
  let wake: (() => void) | undefined
  let end = async () => {}
  if (store.capabilities.changeHints && store.subscribe) {
    try {
      end = await store.subscribe(eventKeys.outbox, () => {
        hinted = true
        wake?.()
      })
    } catch {
      // Polling alone.
    }
  }
  return {
    async wait(ms, signal) {
      if (!hinted) {
        await sleep(ms, signal, (done) => {
          wake = done
        })
      }
      wake = undefined
      hinted = false
    },
    end,
  }
}

export async function* watchEvents(ctx: RegistryContext, options: EventWatchOptions = {}): AsyncGenerator<RegistryEvent, void, undefined> {
  const { signal } = options
  const pollMs = Math.max(1, options.pollMs ?? 250)
  // Subscribed before the first read: a commit after that read is hinted.
  const waker = await outboxWaker(ctx.store)
  try {
    let after = options.after ?? (await latestCursor(ctx))
    while (!signal?.aborted) {
      const page = await readEvents(ctx, { after, limit: MAX_PAGE })
      for (const event of page.events) {
        if (signal?.aborted) return
        yield event
      }
      after = page.cursor
      if (page.events.length < MAX_PAGE) await waker.wait(pollMs, signal)
    }
  } finally {
    await waker.end()
  }
}
