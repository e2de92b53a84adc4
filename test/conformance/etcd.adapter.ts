// How the suite opens the etcd adapter. A location is `<endpoints, comma-separated>#<key prefix>`,
// so child processes (which import `open` from here) reach the same cluster and prefix.
import { etcdStore } from 'appr-core/adapters/etcd'
import { openBlobsOver } from './kv-blobs.js'

export const open = (location: string) => {
  const [hosts, prefix] = location.split('#') as [string, string]
  return etcdStore({ hosts: hosts.split(','), prefix })
}
/** For the BlobStore part's child processes: kvBlobStore over the store at `location`. */
export const openBlobs = openBlobsOver(open)
