/**
 * stats: what the registry holds, counted in one paged scan of each record family (package
 * records, blob records, OCI repositories and blobs), in constant memory.
 * @module
 */
import { parsePackageName } from '../model/package-name.js'
import { listAll } from '../storage/util.js'
import type { RegistryContext } from './context.js'
import { OciBlobRecordType, ociKeys } from './oci-records.js'
import { decodePackage } from './packages.js'
import { BlobRecordType, decode, keys } from './records.js'
import type { RegistryStats } from './types.js'

export async function stats(ctx: RegistryContext): Promise<RegistryStats> {
  let packages = 0
  let releases = 0
  let manifests = 0
  let channels = 0
  for await (const entry of listAll(ctx.store, keys.packages, 500)) {
    const record = decodePackage(entry, parsePackageName(entry.key.slice(keys.packages.length)))
    packages++
    for (const formats of Object.values(record.releases)) {
      releases++
      manifests += Object.keys(formats).length
    }
    channels += Object.keys(record.channels).length
  }
  let blobs = 0
  let blobBytes = 0
  for await (const entry of listAll(ctx.store, keys.blobs, 500)) {
    blobs++
    blobBytes += decode(BlobRecordType, entry.value, { blob: entry.key.slice(keys.blobs.length) }).size
  }
  let ociRepositories = 0
  for await (const _ of listAll(ctx.store, ociKeys.repos, 500)) ociRepositories++
  let ociBlobs = 0
  let ociBlobBytes = 0
  for await (const entry of listAll(ctx.store, ociKeys.blobs, 500)) {
    ociBlobs++
    ociBlobBytes += decode(OciBlobRecordType, entry.value, { blob: entry.key.slice(ociKeys.blobs.length) }).size
  }
  return { packages, releases, manifests, channels, blobs, blobBytes, ociRepositories, ociBlobs, ociBlobBytes }
}
