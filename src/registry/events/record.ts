/**
 * Recording an event inside the commit of the mutation it describes, so an acknowledged change
 * always has its event and a failed one never does. A mutation reads its package's event head
 * (`evh/<ns>/<name>`) in its first round trip ({@link eventReadKeys}) and calls
 * {@link recordEvent} before it commits; nothing else about events touches the mutations.
 *
 * Why a per-package head and not one counter: every writer of a package already contends on its
 * package record, so a per-package key adds no contention between packages. The head carries the
 * package's last hybrid-clock stamp; a new stamp is always above it, so a package's stamps
 * increase in commit order even across processes with skewed clocks and across the package's
 * deletion and re-creation (the head outlives the package record). The pending event goes to the
 * outbox under `evq/<stamp>-<node>`; the feed (feed.ts) gives outbox entries their place.
 * @module
 */
import { z } from 'zod'
import { ApprError } from '../../errors/index.js'
import type { PackageName } from '../../model/package-name.js'
import type { RegistryContext } from '../context.js'
import { decode, encode, type PackageRecord, type RecordType } from '../records.js'
import type { Transaction } from '../transaction.js'
import type { EventDraft, EventOptions } from './types.js'

/** The feed's keys (see docs/architecture.md, "Key layout"). */
export const eventKeys = {
  /** Per package: `{ stamp }`, the stamp of its last event. */
  head: (p: PackageName) => `evh/${p.full}`,
  /** The outbox: events committed by mutations, not yet in the log. */
  outbox: 'evq/',
  /** Per package: `{ stamp }`, the stamp of its last event placed in the log. */
  placed: (pkg: string) => `evp/${pkg}`,
  /** The log: `ev/<seq as 14 hex digits>`, each a whole event. */
  log: 'ev/',
  logKey: (seq: number) => `ev/${seq.toString(16).padStart(14, '0')}`,
  /** `{ next, first }`: the next sequence number and the oldest one kept. */
  feed: 'evfeed',
}

/**
 * A hybrid logical clock of one Registry instance: stamps are `<ms: 12 hex><counter: 6 hex>`,
 * above both the instance's previous stamp and the package's last one, and close to wall time.
 */
export interface EventClock {
  /** Makes outbox keys unique across instances (a stamp is unique within one). */
  readonly node: string
  ms: number
  counter: number
}

/** What a Registry with events on needs: its clock and the retention bounds. */
export interface EventSettings {
  readonly clock: EventClock
  readonly maxEvents: number
  readonly maxAgeMs: number
}

export function eventSettings(options: boolean | EventOptions | undefined): EventSettings | undefined {
  if (options === undefined || options === false) return undefined
  const retention = options === true ? undefined : options.retention
  return {
    clock: { node: crypto.randomUUID().replaceAll('-', '').slice(0, 12), ms: 0, counter: 0 },
    maxEvents: Math.max(1, retention?.maxEvents ?? 100_000),
    maxAgeMs: Math.max(0, retention?.maxAgeMs ?? 7 * 24 * 60 * 60 * 1000),
  }
}

const STAMP = /^[0-9a-f]{18}$/
const StampSchema = z.object({ stamp: z.string().regex(STAMP) })
export const StampType: RecordType<z.infer<typeof StampSchema>> = { schema: StampSchema, fast: () => undefined }

/** The next stamp: above `clock`'s last and above `after` (the package's last), near `now`. */
function tick(clock: EventClock, now: number, after: string | undefined): string {
  const floorMs = after === undefined ? 0 : Number.parseInt(after.slice(0, 12), 16)
  const floorCounter = after === undefined ? -1 : Number.parseInt(after.slice(12), 16)
  let ms = Math.max(now, clock.ms, floorMs)
  let counter = -1
  if (ms === clock.ms) counter = clock.counter
  if (ms === floorMs) counter = Math.max(counter, floorCounter)
  counter++
  if (counter > 0xffffff) {
    ms++
    counter = 0
  }
  clock.ms = ms
  clock.counter = counter
  return ms.toString(16).padStart(12, '0') + counter.toString(16).padStart(6, '0')
}

/** Keys a mutation of `name` reads in its first round trip when events are on (its event head, for a package without `ev`). */
export function eventReadKeys(ctx: RegistryContext, name: PackageName): string[] {
  return ctx.events ? [eventKeys.head(name)] : []
}

/**
 * Adds the event `draft` about package `name` to the mutation's transaction: the package's new
 * stamp and the outbox entry. Nothing when events are off. Call it once per change, after the
 * attempt has decided to commit (an attempt that throws records nothing; a commit of several
 * formats calls it for each, in order, and the stamps chain) and before it encodes `record`, the
 * package record it writes: the stamp goes into `record.ev`, or, when the commit deletes the
 * package (`deleted`), into its head `evh/<pkg>`, which outlives it so a re-created package's
 * stamps stay above the old ones. A record without `ev` (new, or written with events off)
 * continues from the head.
 */
export async function recordEvent(ctx: RegistryContext, tx: Transaction, name: PackageName, draft: EventDraft, record: PackageRecord, deleted = false): Promise<void> {
  const events = ctx.events
  if (!events) return
  const key = eventKeys.head(name)
  const details = { package: name.full }
  let prev = record.ev ?? null
  if (prev !== null && !STAMP.test(prev)) throw new ApprError('internal-error', 'a stored record is corrupt', { details })
  if (prev === null) {
    const head = await tx.get(key)
    prev = head ? decode(StampType, head.value, details).stamp : null
  }
  const stamp = putPending(ctx, events, tx, { ...draft, package: name.full }, prev, undefined)
  if (deleted) tx.put(key, encode({ stamp }))
  else record.ev = stamp
}

/**
 * {@link recordEvent} for an OCI repository (`repository` becomes the event's `package`): its
 * chain of stamps is its own (`oci:<repository>`, apart from an appr package of the same name)
 * and always kept in its head key, so the repository record's layout stays OCI's business.
 */
export async function recordRepositoryEvent(ctx: RegistryContext, tx: Transaction, repository: string, draft: EventDraft): Promise<void> {
  const events = ctx.events
  if (!events) return
  const chain = `oci:${repository}`
  const key = `evh/${chain}`
  const head = await tx.get(key)
  const prev = head ? decode(StampType, head.value, { package: repository }).stamp : null
  tx.put(key, encode({ stamp: putPending(ctx, events, tx, { ...draft, package: repository }, prev, chain) }))
}

/** Puts the outbox entry of `event` after `prev` in its chain (`chain`, default its package) and returns its stamp. */
function putPending(ctx: RegistryContext, events: EventSettings, tx: Transaction, event: EventDraft & { package: string }, prev: string | null, chain: string | undefined): string {
  const now = ctx.clock()
  const stamp = tick(events.clock, now.getTime(), prev ?? undefined)
  const actor = ctx.actor === undefined ? {} : { actor: ctx.actor }
  // `stamp` and `prev` chain the package's events: the feed places one only after its predecessor.
  tx.put(`${eventKeys.outbox}${stamp}-${events.clock.node}`, encode({ ...event, ...actor, time: now.toISOString(), stamp, prev, ...(chain && { chain }) }))
  return stamp
}
