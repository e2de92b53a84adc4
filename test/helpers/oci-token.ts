/**
 * A Docker token service for tests (the protocol `docker-registry`'s `auth.token` trusts): it
 * checks Basic credentials at `GET /token?service=&scope=…` and answers `{ token }`, an ES256
 * JWT granting the asked scopes, signed with a throwaway key whose self-signed certificate
 * (made with `openssl`) is the registry's `rootcertbundle`.
 *
 * ```ts
 * const tokens = await startTokenService({ users: { ci: 'secret' } })
 * const registry = await startDockerRegistry({ token: tokens.registryConfig })
 * ```
 * @module
 */
import { execFileSync } from 'node:child_process'
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findBinary, skipOrFail } from './servers.js'

/** A running token service. */
export interface TestTokenService {
  /** What `startDockerRegistry({ token })` needs. */
  readonly registryConfig: { realm: string; service: string; issuer: string; rootCertBundle: string }
  /** Every token request: the user (or undefined for anonymous) and the scopes asked. */
  readonly requests: { user: string | undefined; scopes: string[] }[]
  stop(): Promise<void>
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url')

/** libtrust's key id, which docker-registry matches a JWT's `kid` against: base32 of the first 240 bits of sha256(SPKI DER), in groups of 4. */
function libtrustKeyId(spkiDer: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const bytes = createHash('sha256').update(spkiDer).digest().subarray(0, 30)
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return out.match(/.{4}/g)!.join(':')
}

function makeCertificate(openssl: string): { keyPem: string; certPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'appr-token-'))
  try {
    // biome-ignore format: flag/value pairs
    execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=appr-test-token', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    return { keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'), certPem: readFileSync(join(dir, 'cert.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Starts the token service on a free loopback port; undefined (skipped) without `openssl` outside CI. */
export async function startTokenService(options: { users: Record<string, string>; suite?: string }): Promise<TestTokenService | undefined> {
  const openssl = findBinary('openssl')
  if (!openssl) {
    skipOrFail(options.suite ?? 'oci token auth', 'install openssl (to make the token signing certificate)')
    return undefined
  }
  const { keyPem, certPem } = makeCertificate(openssl)
  const key = createPrivateKey(keyPem)
  const kid = libtrustKeyId(createPublicKey(key).export({ type: 'spki', format: 'der' }))
  const service = 'appr-test-registry'
  const issuer = 'appr-test-issuer'
  const users = new Map(Object.entries(options.users))
  const requests: TestTokenService['requests'] = []

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const scopes = url.searchParams.getAll('scope')
    let user: string | undefined
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')
    if (basic) {
      const [name, ...rest] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')
      if (users.get(name!) !== rest.join(':')) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}')
        requests.push({ user: `rejected:${name}`, scopes })
        return
      }
      user = name
    }
    requests.push({ user, scopes })
    // Anonymous callers get a token with no access: the registry then answers 401 again.
    const access = user === undefined ? [] : scopes.flatMap((scope) => {
      const [type, ...middle] = scope.split(':')
      const actions = middle.pop() ?? ''
      return [{ type, name: middle.join(':'), actions: actions.split(',').filter(Boolean) }]
    })
    const now = Math.floor(Date.now() / 1000)
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', kid }))
    const claims = b64url(JSON.stringify({ iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }))
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' })
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${b64url(signature)}`, expires_in: 300 }))
  }
  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  server.unref()
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    registryConfig: { realm: `http://127.0.0.1:${port}/token`, service, issuer, rootCertBundle: certPem },
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
