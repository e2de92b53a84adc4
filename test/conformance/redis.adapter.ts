// How the suite opens the Redis adapter. A location is `<server url>#<key prefix>`, so child
// processes (which import `open` from here) reach the same server and prefix.
import { redisStore } from 'appr-core/adapters/redis'
import { openBlobsOver } from './kv-blobs.js'

export const open = (location: string) => {
  const [url, prefix] = location.split('#') as [string, string]
  return redisStore({ url, prefix })
}
/** For the BlobStore part's child processes: kvBlobStore over the store at `location`. */
export const openBlobs = openBlobsOver(open)
