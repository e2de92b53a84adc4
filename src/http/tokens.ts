/**
 * Scoped tokens: a list of bearer tokens, each with scopes (`read`, `write`, `admin`) and
 * optionally the namespaces it is limited to, turned into the `authenticate`, `authorize` and
 * `login` hooks of `createHandler`. Tokens are compared in constant time, against every token.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import { ApprError } from '../errors/index.js'
import { namespaceMatcher } from '../model/namespace-glob.js'
import type { AuthorizeInput, HandlerOptions, LoginInput } from './options.js'

/** What a token may do. `write` includes `read`; `admin` (backup, restore, gc, stats) includes both. */
export type Scope = 'read' | 'write' | 'admin'

/** One token as a tokens file declares it. */
export interface TokenSpec {
  /** Names the caller in logs (never the token itself). */
  readonly name: string
  /** The token, or its SHA-256 (`sha256`, hex) so the file need not hold the secret. */
  readonly token?: string
  readonly sha256?: string
  readonly scopes: readonly Scope[]
  /** Namespace globs (`acme`, `team-*`; `*` matches any run of characters) the token is limited to; absent: every namespace. */
  readonly namespaces?: readonly string[]
}

/** The principal a scoped token authenticates as. */
export interface TokenPrincipal {
  readonly name: string
  readonly scopes: ReadonlySet<Scope>
  /** Absent: every namespace. */
  readonly namespaces?: readonly string[]
}

const ScopeSchema = z.enum(['read', 'write', 'admin'])
const TokenSpecSchema = z
  .object({
    name: z.string().min(1),
    token: z.string().refine((t) => t.trim() !== '', 'a token must not be empty').optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'sha256 must be 64 hex digits')
      .optional(),
    scopes: z.array(ScopeSchema).min(1),
    namespaces: z.array(z.string().regex(/^[a-zA-Z0-9_.*-]+$/, 'a namespace glob: letters, digits, _ . - and the wildcard *')).optional(),
  })
  .strict()
  .refine((t) => (t.token === undefined) !== (t.sha256 === undefined), 'give exactly one of token and sha256')
const TokenListSchema = z.array(TokenSpecSchema, { error: 'expected a list of tokens, or {tokens: [...]}' })

/**
 * The tokens of a parsed tokens file (YAML or JSON: a list of tokens, or `{tokens: [...]}`).
 * @throws invalid-parameters naming the first bad entry
 */
export function parseTokens(value: unknown): TokenSpec[] {
  const list = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).join() === 'tokens' ? (value as { tokens: unknown }).tokens : value
  const parsed = TokenListSchema.safeParse(list)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const [index, ...rest] = issue?.path ?? []
    const where = index === undefined ? '' : ` at token ${String(index)}${rest.length > 0 ? ` (${rest.join('.')})` : ''}`
    throw new ApprError('invalid-parameters', `not a tokens file${where}: ${issue?.message ?? 'invalid'}`, { cause: parsed.error })
  }
  const names = new Set<string>()
  for (const spec of parsed.data) {
    if (names.has(spec.name)) throw new ApprError('invalid-parameters', `two tokens are named '${spec.name}'`)
    names.add(spec.name)
  }
  return parsed.data as TokenSpec[]
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest()

/** Options of {@link scopedTokens}. */
export interface ScopedTokenOptions {
  /** Refuse anonymous reads (401) and reads by tokens without the `read` scope (403). Default false: reads are open. */
  readonly privateReads?: boolean
}

/**
 * `Authorization: <token>` (the appr client's form), `Bearer <token>`, or `Basic` with the token as
 * password and any user name (how OCI clients send credentials after `/v2/`'s challenge), as the
 * bytes sent: node:http reads header bytes as latin1, so a UTF-8 token arrives one byte per
 * character and is compared with the token's UTF-8 bytes.
 */
function presentedToken(request: Request): Buffer | undefined {
  const header = request.headers.get('authorization')
  if (header === null) return undefined
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header)
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64')
    const colon = decoded.indexOf(0x3a)
    return colon >= 0 ? decoded.subarray(colon + 1) : undefined
  }
  return Buffer.from(header.replace(/^Bearer\s+/i, ''), 'latin1')
}

/** The namespace a request is about, when it names one: its package's, a `?namespace=` list, a Helm namespace index. */
function targetNamespace<P>(input: AuthorizeInput<P>): string | undefined {
  if (input.package !== undefined && input.package !== '') return input.package.split('/')[0]!.toLowerCase()
  const url = new URL(input.request.url)
  if (input.operation === 'list') return url.searchParams.get('namespace')?.toLowerCase() ?? undefined
  if (input.operation === 'helm-index') return /\/helm\/([^/]+)\/index\.yaml$/.exec(url.pathname)?.[1]?.toLowerCase()
  return undefined
}

/**
 * The `authenticate`, `authorize` and `login` hooks of these tokens. Anonymous callers may read
 * unless `privateReads` (never the change feed); a token needs the scope of the request's action
 * (`read`, `write`, or `admin` for the admin routes), and a token limited to namespaces may act
 * only on requests that name one of them (a push whose package is only in the body, search, the
 * catalog, the feed and admin routes name none). `login` answers the token for any user name
 * and the token as password, as `appr login -u ANY -p TOKEN` expects.
 */
export function scopedTokens(
  tokens: readonly TokenSpec[],
  options: ScopedTokenOptions = {},
): Required<Pick<HandlerOptions<TokenPrincipal>, 'authenticate' | 'authorize' | 'login'>> {
  const entries = tokens.map((spec) => {
    const scopes = new Set<Scope>(spec.scopes)
    if (scopes.has('admin')) scopes.add('write')
    if (scopes.has('write')) scopes.add('read')
    const principal: TokenPrincipal = { name: spec.name, scopes, ...(spec.namespaces && { namespaces: spec.namespaces }) }
    const digest = spec.sha256 !== undefined ? Buffer.from(spec.sha256, 'hex') : sha256(Buffer.from(spec.token!, 'utf8'))
    return { principal, digest, namespaces: spec.namespaces && namespaceMatcher(spec.namespaces) }
  })
  // Every token is compared, whichever matches, so the time taken says nothing about which one did.
  const find = (given: Uint8Array): (typeof entries)[number] | undefined => {
    const digest = sha256(given)
    let found: (typeof entries)[number] | undefined
    for (const entry of entries) if (timingSafeEqual(digest, entry.digest) && found === undefined) found = entry
    return found
  }
  const byPrincipal = new Map(entries.map((e) => [e.principal, e]))
  return {
    authenticate: (request) => {
      const given = presentedToken(request)
      return given === undefined ? undefined : find(given)?.principal
    },
    authorize: (input) => {
      const { principal, action, operation } = input
      if (action === 'read' && !options.privateReads && operation !== 'events') return true
      if (principal === undefined) return false
      if (!principal.scopes.has(action)) return false
      const inNamespaces = byPrincipal.get(principal)?.namespaces
      if (inNamespaces === undefined) return true
      const namespace = targetNamespace(input)
      return namespace !== undefined && inNamespaces(namespace)
    },
    login: ({ password }: LoginInput) => {
      const entry = find(Buffer.from(password, 'utf8'))
      return entry === undefined ? undefined : password
    },
  }
}
