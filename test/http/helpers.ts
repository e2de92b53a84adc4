/** Shared helpers of the HTTP tests: registries, a loopback server, gzipped tarballs. */
import { Registry, isApprError } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { type HandlerOptions, type RegistryApi, createHandler } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import { tgz } from '../registry/helpers.js'
import { fakeRegistry } from './fake-registry.js'

/** A gzipped tarball holding `files` (path → text). */
export const tarGz = tgz

/** A small chart-like package. */
export function chart(name: string, version: string): Promise<Uint8Array> {
  return tarGz({
    [`${name}/Chart.yaml`]: `name: ${name}\nversion: ${version}\n`,
    [`${name}/templates/deployment.yaml`]: `kind: Deployment\nmetadata:\n  name: ${name}\n`,
  })
}

export const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64')

let realWorks: boolean | undefined

/**
 * A registry on the memory store: the real Registry when it is implemented, otherwise the
 * test stand-in (announced once on stderr, so a run shows which one was exercised).
 */
export async function makeRegistry(): Promise<{ registry: RegistryApi; real: boolean }> {
  if (realWorks === undefined) {
    const probe = new Registry({ store: memoryStore() })
    try {
      await probe.push({ package: 'probe/probe', release: '1.0.0', format: 'helm', blob: await chart('probe', '1.0.0') })
      realWorks = true
    } catch (e) {
      if (!isApprError(e, 'unsupported')) throw e
      realWorks = false
      console.error('[http tests] Registry is still a stub: using the test stand-in registry')
    }
  }
  return realWorks
    ? { registry: new Registry({ store: memoryStore() }), real: true }
    : { registry: fakeRegistry(), real: false }
}

/** A loopback server on an ephemeral port. */
export async function start(registry: RegistryApi, options: HandlerOptions = {}): Promise<RunningServer> {
  return serve({ handler: createHandler(registry, options), host: '127.0.0.1', port: 0 })
}

/** fetch + JSON body. */
export async function call(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, init)
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body }
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return call(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}
