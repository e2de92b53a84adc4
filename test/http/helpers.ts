/** Shared helpers of the HTTP tests: registries, a loopback server, gzipped tarballs. */
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { type HandlerOptions, type RegistryApi, createHandler } from 'appr-core/http'
import { type RunningServer, serve } from 'appr-core/http/node'
import { tgz } from '../registry/helpers.js'

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

/** A registry on a fresh memory store. */
export async function makeRegistry(): Promise<{ registry: RegistryApi }> {
  return { registry: new Registry({ store: memoryStore() }) }
}

/** A loopback server on an ephemeral port. */
export async function start(registry: RegistryApi, options: HandlerOptions = {}): Promise<RunningServer> {
  return serve({ handler: createHandler(registry, options), host: '127.0.0.1', port: 0 })
}

/** A parsed JSON response body: tests read its fields loosely, and an assertion fails when one is not there. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field, never trusted
export type JsonBody = any

/** fetch + JSON body. */
export async function call(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: JsonBody }> {
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
