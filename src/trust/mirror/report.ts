/**
 * What a mirror run reports: JSON-safe, so `appr-core mirror --json` prints it as is.
 * @module
 */

/** Why a release, a channel or a package was not copied. */
export type MirrorFailureReason =
  /** The source could not be read (network, HTTP error, time limit). */
  | 'source-error'
  /** The source's answer is not what appr sends (a list, a manifest or a channel of the wrong shape). */
  | 'invalid-answer'
  /** A manifest contradicts itself or the route it came from (package, release, format, metadata). */
  | 'invalid-manifest'
  /** The manifest digest the source announced is not the one of the manifest it sent. */
  | 'manifest-digest-mismatch'
  /** Keys were given and no signature of the release verifies with one of them. */
  | 'signature-invalid'
  /** The blob's size is not the one its manifest states. */
  | 'blob-size-mismatch'
  /** The blob is not a safe gzipped tar. */
  | 'invalid-blob'
  /** The blob's appr digest is not the one its manifest states. */
  | 'blob-digest-mismatch'
  /** The destination holds another release under the same `(package, release, format)` (see `force`). */
  | 'destination-differs'
  /** The destination refused or failed to store it. */
  | 'store-failed'
  /** A channel names a release that was not copied. */
  | 'channel-incomplete'

/** One thing that was not copied. */
export interface MirrorFailure {
  readonly package: string
  readonly release?: string
  readonly format?: string
  readonly channel?: string
  readonly reason: MirrorFailureReason
  readonly message: string
}

/** Counts of one kind of item. */
export interface MirrorCounts {
  /** Stored in the destination by this run. */
  readonly copied: number
  /** Already in the destination with the same manifest digest (or, for channels, the same releases and current). */
  readonly skipped: number
  readonly failed: number
}

/** The outcome of a mirror run. */
export interface MirrorReport {
  /** The source's API root (`…/api/v1`). */
  readonly source: string
  /** True when nothing failed and the run was not aborted. */
  readonly ok: boolean
  /** True when the run was cancelled through its signal before it finished. */
  readonly aborted: boolean
  readonly started_at: string
  readonly finished_at: string
  readonly seconds: number
  /** Packages selected on the source, and those that could not even be listed. */
  readonly packages: { readonly total: number; readonly failed: number }
  readonly releases: MirrorCounts
  readonly channels: MirrorCounts
  /** Gzip bytes of the blobs copied. */
  readonly bytes: number
  readonly failures: readonly MirrorFailure[]
}

/** A step of a mirror run, for progress displays. */
export type MirrorEvent =
  | { readonly type: 'packages'; readonly total: number }
  | {
      readonly type: 'release'
      readonly package: string
      readonly release: string
      readonly format: string
      readonly outcome: 'copied' | 'skipped' | 'failed'
      readonly bytes: number
    }
  | { readonly type: 'channel'; readonly package: string; readonly channel: string; readonly outcome: 'copied' | 'skipped' | 'failed' }
  | { readonly type: 'package'; readonly package: string; readonly outcome: 'done' | 'failed' }
