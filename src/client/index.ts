/**
 * `appr-core/client`: a typed client of the appr API v1 on `fetch` alone, for browsers, Deno,
 * Bun and Node 20 (no Node built-ins in its import graph). See docs/client.md.
 * @module
 */
export { ApprError, type ErrorCode, isApprError } from '../errors/index.js'
export type { Channel, Manifest, ManifestWithChannels, PackageSummary, Signature } from '../model/types.js'
export type { EventPage, RegistryEvent } from '../registry/events/types.js'
export type { GcResult, RegistryStats, RestoreProgress } from '../registry/types.js'
export {
  type ApprClient,
  type Download,
  type DownloadOptions,
  type JsonBlob,
  type PackageManifest,
  type Page,
  type PullResult,
  type PushInput,
  type ReleaseSelector,
  type RestoreInput,
  type ShownManifest,
  createClient,
} from './client.js'
export { type Client, call, clientFor, getJson, packagePath } from './raw.js'
export type { Progress, ProgressCallback } from './streams.js'
export { type CallOptions, type ClientOptions, type TokenSource, apiBase } from './transport.js'
