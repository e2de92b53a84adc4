/**
 * The public types of the change feed: one discriminated union of events and the options of
 * `Registry.events`. See docs/events.md.
 * @module
 */

/** Fields every event carries. */
export interface EventBase {
  /**
   * Position of the event in the feed: pass it as `after` to read what follows. Opaque (today the
   * decimal form of `seq`); compare events by `seq`, never by parsing cursors.
   */
  readonly cursor: string
  /** Position in the feed: dense and increasing (1, 2, 3 …) across every package and process. */
  readonly seq: number
  /** `namespace/name`, lowercase. */
  readonly package: string
  /** When the writer committed the change (RFC 3339, the writer's clock: not an order). */
  readonly time: string
  /**
   * Who made the change, when known: the registry view's actor (`registry.as(actor)`), which
   * `createHandler` sets from the request's principal.
   */
  readonly actor?: string
}

/**
 * A release was stored: a push, a forced push over an existing `(release, format)` (`replaced`
 * names the digest it overwrote) or a restore (`restored`).
 */
export interface ReleasePushedEvent extends EventBase {
  readonly type: 'release.pushed'
  readonly release: string
  /** Format short name (`helm`, `kpm` …). */
  readonly format: string
  /** appr digest (sha256 hex of the gunzipped tar). */
  readonly digest: string
  /** The digest a forced push overwrote (absent when nothing was overwritten). */
  readonly replaced?: string
  /** True when the push came from `restore`. */
  readonly restored?: true
}

/** One `(release, format)` was deleted, and with it possibly the release and the package. */
export interface ReleaseDeletedEvent extends EventBase {
  readonly type: 'release.deleted'
  readonly release: string
  readonly format: string
  readonly digest: string
  /** The release's last format went: the release left every channel (`channels`). */
  readonly releaseGone: boolean
  /** The package's last release went: the package no longer exists. */
  readonly packageGone: boolean
  /** Channels that contained the release and lost it (deleted when it was their last), sorted. */
  readonly channels: readonly string[]
}

/** `channels.add`: the release is in the channel and is its current release. */
export interface ChannelAddedEvent extends EventBase {
  readonly type: 'channel.added'
  readonly channel: string
  readonly release: string
}

/** `channels.remove`: `current` is the channel's current release afterwards, `null` when the channel was deleted. */
export interface ChannelRemovedEvent extends EventBase {
  readonly type: 'channel.removed'
  readonly channel: string
  readonly release: string
  readonly current: string | null
}

/** `channels.delete`. */
export interface ChannelDeletedEvent extends EventBase {
  readonly type: 'channel.deleted'
  readonly channel: string
}

/** `restore` set a channel to exactly these releases (highest first) and this current release. */
export interface ChannelSetEvent extends EventBase {
  readonly type: 'channel.set'
  readonly channel: string
  readonly releases: readonly string[]
  readonly current: string
}

/** `signatures.add`: signatures by these keys now cover the manifest (a key's new signature replaces its old one). */
export interface SignatureAddedEvent extends EventBase {
  readonly type: 'signature.added'
  readonly release: string
  readonly format: string
  readonly digest: string
  readonly keyids: readonly string[]
}

/** `signatures.remove`: the signature of `keyid` was removed. */
export interface SignatureRemovedEvent extends EventBase {
  readonly type: 'signature.removed'
  readonly release: string
  readonly format: string
  readonly digest: string
  readonly keyid: string
}

/**
 * An OCI manifest was stored (`PUT /v2/<name>/manifests/<reference>`): a new manifest, or a tag
 * set on one. `package` is the OCI repository.
 */
export interface OciManifestPushedEvent extends EventBase {
  readonly type: 'oci.manifest.pushed'
  /** `sha256:<hex>`, the OCI digest of the manifest's bytes. */
  readonly digest: string
  readonly mediaType: string
  /** The tag pushed (absent for a push by digest). */
  readonly tag?: string
  /** The digest the tag named before, when the push moved it. */
  readonly replaced?: string
  /** True when the manifest or tag came from a streamed restore. */
  readonly restored?: true
}

/** An OCI manifest was deleted by digest, with every tag that named it (`tags`). `package` is the repository. */
export interface OciManifestDeletedEvent extends EventBase {
  readonly type: 'oci.manifest.deleted'
  readonly digest: string
  readonly tags: readonly string[]
}

/** An OCI tag was deleted; the manifest it named (`digest`) stays. `package` is the repository. */
export interface OciTagDeletedEvent extends EventBase {
  readonly type: 'oci.tag.deleted'
  readonly tag: string
  readonly digest: string
}

/** Every event of the change feed, discriminated by `type`. */
export type RegistryEvent =
  | ReleasePushedEvent
  | ReleaseDeletedEvent
  | ChannelAddedEvent
  | ChannelRemovedEvent
  | ChannelDeletedEvent
  | ChannelSetEvent
  | SignatureAddedEvent
  | SignatureRemovedEvent
  | OciManifestPushedEvent
  | OciManifestDeletedEvent
  | OciTagDeletedEvent

/** The `type` of every {@link RegistryEvent}. */
export type RegistryEventType = RegistryEvent['type']

/** An event as a mutation describes it, before the feed gives it a place. */
export type EventDraft = RegistryEvent extends infer E ? (E extends RegistryEvent ? Omit<E, keyof EventBase> : never) : never

/** Options of the change feed (`RegistryOptions.events`). */
export interface EventOptions {
  /**
   * How long the feed keeps events. Events beyond either bound are trimmed (a reader whose
   * cursor is older gets `cursor-expired` and must resync); events within both are kept. Default:
   * 100,000 events and 7 days.
   */
  readonly retention?: { readonly maxEvents?: number; readonly maxAgeMs?: number }
}

/** Options of `Registry.events.read`. */
export interface EventReadOptions {
  /** Read what follows this cursor (a previous page's `cursor`, or an event's). Default: from the oldest event kept. */
  readonly after?: string
  /** At most this many events (default 100, at most 1,000). */
  readonly limit?: number
}

/** A page of the feed. */
export interface EventPage {
  readonly events: RegistryEvent[]
  /** Where to continue: the last event's cursor, or `after` unchanged when there was nothing new. */
  readonly cursor: string
}

/** Options of `Registry.events.watch`. */
export interface EventWatchOptions {
  /** Start after this cursor (default: from now, i.e. the feed's current end). */
  readonly after?: string
  /** Ends the iteration (the iterator returns; no error). */
  readonly signal?: AbortSignal
  /**
   * How often to poll the feed when nothing is new, in ms (default 250). On a store with change
   * hints (`capabilities.changeHints`) a commit wakes the watch at once, so polling only covers
   * hints that were lost.
   */
  readonly pollMs?: number
}

/** The change feed of a {@link Registry} (`registry.events`). See docs/events.md. */
export interface EventOperations {
  /**
   * A page of events after `after` (default: from the oldest kept), in feed order: per package
   * exactly the order of its commits. Places events committed since the last read first.
   * @throws cursor-expired (the cursor is older than the retention bound: resync), invalid-parameters (not a cursor)
   */
  read(options?: EventReadOptions): Promise<EventPage>
  /**
   * Every event after `after` (default: from now), as it is committed, by any process; woken by
   * the store's change hints where it has them, and polling every `pollMs` while nothing is new.
   * Ends when `signal` aborts.
   * @throws cursor-expired, invalid-parameters
   */
  watch(options?: EventWatchOptions): AsyncIterable<RegistryEvent>
  /** The cursor of the newest event (`'0'` when the feed is empty): read or watch after it for what comes next. */
  latest(): Promise<string>
}
