/**
 * The BlobStore part of the suite: its options, declared capabilities and property context. It
 * runs on the same runner as the KvStore part ({@link SuiteCtx}, `checkPart`, `registerPart`), so
 * seeds, replay lines, skip messages and failure reports read the same.
 * @module
 */
import type { BlobStore } from '../storage/blob.js'
import { describeMissing, type Group, type Property, type Settings, SuiteCtx, type SuiteOptions } from './harness.js'

/** What a BlobStore declares about itself (the interface has no capabilities of its own). */
export interface BlobCapabilities {
  /** Objects survive closing and reopening the store at its location, and a SIGKILL of the writer. */
  readonly persistent?: boolean
  /** The store's chunk or part size, so generated sizes fall on and around its boundaries (default 64 KiB). */
  readonly chunkBytes?: number
  /** Largest object the store accepts; one byte more must be refused with `invalid-parameters`. */
  readonly maxObjectBytes?: number
}

/** What the suite needs to know about a BlobStore. */
export interface BlobConformanceOptions extends SuiteOptions {
  /** Opens the blob store at `location` (see {@link ConformanceOptions.open}). */
  readonly open: (location: string) => BlobStore | Promise<BlobStore>
  /**
   * Closes what `open` opened (for kvBlobStore: its KvStore). Enables `blobs/after-close`:
   * afterwards every call must reject with `unavailable`.
   */
  readonly close?: (store: BlobStore) => void | Promise<void>
  readonly capabilities?: BlobCapabilities
}

/** Something a BlobStore property needs that the options may not declare. */
export type BlobNeed = 'persistent' | 'worker' | 'newLocation' | 'close' | 'maxObjectBytes'

const describeBlobNeed: Record<BlobNeed, string> = {
  persistent: 'capabilities.persistent (declare it when objects survive close and reopen)',
  worker: 'the worker option (a module exporting openBlobs(location), imported by child processes)',
  newLocation: 'the newLocation option (a fresh location per test, so a location can be reopened)',
  close: 'the close option (closes what open(location) opened)',
  maxObjectBytes: 'capabilities.maxObjectBytes (declare the largest object the store accepts)',
}

/** What is missing for `needs`, or undefined when everything is there. */
export function missingForBlobs(needs: readonly BlobNeed[] | undefined, options: BlobConformanceOptions): string | undefined {
  const caps = options.capabilities ?? {}
  return describeMissing(
    needs,
    (need) =>
      need === 'worker'
        ? options.worker === undefined
        : need === 'newLocation'
          ? options.newLocation === undefined
          : need === 'close'
            ? options.close === undefined
            : need === 'persistent'
              ? caps.persistent !== true
              : caps.maxObjectBytes === undefined,
    describeBlobNeed,
  )
}

/** A BlobStore property. */
export type BlobProperty = Property<BlobCtx, BlobNeed>
/** A group of BlobStore properties. */
export type BlobGroup = Group<BlobCtx, BlobNeed>

/** The context a BlobStore property runs in. Everything it opens is closed and destroyed afterwards. */
export class BlobCtx extends SuiteCtx<BlobStore> {
  readonly #options: BlobConformanceOptions
  /** The declared capabilities, with `chunkBytes` defaulted. */
  readonly capabilities: BlobCapabilities & { readonly chunkBytes: number }

  constructor(settings: Settings, property: BlobProperty, options: BlobConformanceOptions) {
    super(settings, property, options)
    this.#options = options
    this.capabilities = { ...options.capabilities, chunkBytes: options.capabilities?.chunkBytes ?? 64 * 1024 }
  }

  protected async openStore(location: string): Promise<BlobStore> {
    return this.#options.open(location)
  }

  protected async closeStore(store: BlobStore): Promise<void> {
    await this.#options.close?.(store)
  }

  /** Closes `store` with the `close` option (properties that need `close` only). */
  async close(store: BlobStore): Promise<void> {
    await this.closeStore(store)
  }
}
