/** Shared by the OCI tests: spec-error expectations, store listings, docker-registry credentials, a recording client. */
import * as assert from 'uvu/assert'
import { type KvStore, listAll } from 'appr-core'
import { isOciError, type OciClient, ociClient } from 'appr-core/oci'

/** Awaits `promise` and asserts it rejects with an OciError of `code` (and `status`, when given). */
export async function rejectsOci(promise: Promise<unknown>, code: string, status?: number): Promise<void> {
  try {
    await promise
  } catch (e) {
    assert.ok(isOciError(e) && e.code === code && (status === undefined || e.status === status), `expected ${code}: ${e}`)
    return
  }
  assert.unreachable(`expected ${code}`)
}

/** Every key of `store`, ascending. */
export async function keysOf(store: KvStore): Promise<string[]> {
  const out: string[] = []
  for await (const e of listAll(store, '')) out.push(e.key)
  return out
}

/** An htpasswd file for docker-registry (bcrypt only): user `appr`, password `appr-test-secret`. */
export const HTPASSWD = 'appr:$2b$04$w9GmCqoE6pR1HnTvpTUPD.lnncnisMdx9KmNxVWKasCL8JsmT0P1C\n'

/** An OCI client that records each request's method and path (to check what a run uploads). */
export function recordingClient(url: string): { client: OciClient; requests: string[] } {
  const requests: string[] = []
  const recording: typeof fetch = async (input, init) => {
    requests.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`)
    return fetch(input, init)
  }
  return { client: ociClient({ url, fetch: recording }), requests }
}

/** The requests of `requests` that write (neither GET nor HEAD). */
export const writes = (requests: readonly string[]): string[] => requests.filter((r) => !r.startsWith('GET') && !r.startsWith('HEAD'))
