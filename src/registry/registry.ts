import { ApprError } from '../errors/index.js'
import type { Channel, Manifest, ManifestWithChannels } from '../model/types.js'
import type {
  BackupDocument,
  BlobResult,
  GcResult,
  ListOptions,
  ListPage,
  PullResult,
  PushInput,
  RegistryOptions,
  ResolveOptions,
} from './types.js'

const todo = (what: string): never => {
  throw new ApprError('unsupported', `${what} is not implemented yet`)
}

/** Channel operations of a {@link Registry}. */
export interface ChannelOperations {
  /** Every channel of a package. @throws package-not-found */
  list(pkg: string): Promise<Channel[]>
  /** One channel. @throws package-not-found, channel-not-found */
  show(pkg: string, channel: string): Promise<Channel>
  /** Adds an exact release (creating the channel if needed); it becomes current. @throws package-not-found, package-release-not-found, invalid-release */
  add(pkg: string, channel: string, release: string): Promise<Channel>
  /** Removes a release; the highest remaining becomes current; the last one deletes the channel. Returns the channel afterwards, or undefined when it was deleted. @throws package-not-found, channel-not-found */
  remove(pkg: string, channel: string, release: string): Promise<Channel | undefined>
  /** Deletes a channel. @throws package-not-found, channel-not-found */
  delete(pkg: string, channel: string): Promise<void>
}

/**
 * An appr registry over a {@link KvStore}. Every mutation is one atomic commit, retried on conflict.
 */
export class Registry {
  readonly channels: ChannelOperations

  constructor(readonly options: RegistryOptions) {
    this.channels = {
      list: async () => todo('channels.list'),
      show: async () => todo('channels.show'),
      add: async () => todo('channels.add'),
      remove: async () => todo('channels.remove'),
      delete: async () => todo('channels.delete'),
    }
  }

  /** Stores a release. @throws package-exists (without force), invalid-release, invalid-parameters, invalid-usage (bad blob) */
  async push(_input: PushInput): Promise<Manifest> {
    return todo('push')
  }
  /** Resolves a release query and format. @throws package-not-found, package-release-not-found, invalid-release, invalid-usage */
  async show(_pkg: string, _options?: ResolveOptions): Promise<ManifestWithChannels> {
    return todo('show')
  }
  /** show + the blob. */
  async pull(_pkg: string, _options?: ResolveOptions): Promise<PullResult> {
    return todo('pull')
  }
  /** A blob by appr digest, only under a package that references it. @throws package-not-found */
  async blob(_pkg: string, _digest: string): Promise<BlobResult> {
    return todo('blob')
  }
  /** Manifests of every release (optionally of one format), newest first. @throws package-not-found */
  async releases(_pkg: string, _options?: { format?: string }): Promise<Manifest[]> {
    return todo('releases')
  }
  /** Manifests of one exact release. @throws package-not-found */
  async manifests(_pkg: string, _release: string): Promise<Manifest[]> {
    return todo('manifests')
  }
  /** A page of packages. */
  async list(_options?: ListOptions): Promise<ListPage> {
    return todo('list')
  }
  /** Package names containing `query` (plain substring). */
  async search(_query: string): Promise<string[]> {
    return todo('search')
  }
  /** Deletes one `(package, release, format)`. @throws package-not-found, package-release-not-found */
  async delete(_pkg: string, _release: string, _format: string): Promise<void> {
    return todo('delete')
  }
  /** The whole registry in appr's backup format. */
  async backup(): Promise<BackupDocument> {
    return todo('backup')
  }
  /** Loads a backup document. */
  async restore(_doc: unknown): Promise<void> {
    return todo('restore')
  }
  /** Deletes blob objects no record references. */
  async gc(): Promise<GcResult> {
    return todo('gc')
  }
  /** Closes the store (when owned). */
  async close(): Promise<void> {
    await this.options.store.close()
  }
}
