/**
 * The web UI's surface: `GET /ui` (one HTML page) and its two assets, `app.js` and `app.css`,
 * bundled from `src/ui/app` (see `src/ui/bundle.ts`). Everything the page shows comes from the
 * API through `appr-core/client`; these routes serve static bytes only, under a strict
 * Content-Security-Policy that forbids inline script, eval and `innerHTML`-style sinks, so
 * package content (a README) can never run as script even if the page mishandled it.
 * @module
 */
import { sha256Hex } from '../../digest/index.js'
import { acceptsGzip, gzip } from '../gzip.js'
import { reply } from '../reply.js'
import type { Route, RouteContext } from '../router.js'

/** The bundled web app, as `bundleUi`/`loadUiAssets` (`src/ui/bundle.ts`) produce it. */
export interface UiAssets {
  /** The ES module of the app (minified). */
  readonly script: string
  /** Its stylesheet (minified). */
  readonly style: string
}

/** Where the page finds the rest of the server, written into a `<meta>` the app reads (never a script). */
export interface UiConfig {
  /** Path of the appr API (`/cnr/api/v1`). */
  readonly api: string
  /** Path of the Helm repository view (`/helm`), or null when it is off. */
  readonly helm: string | null
  /** Whether `/v2/` answers (the app then offers `helm pull oci://` where the tag exists). */
  readonly oci: boolean
}

/**
 * The policy of every `/ui` response: only this origin's script and style files, no inline
 * script or style, no eval, no plugins, no framing, and Trusted Types with no policy, so the
 * browser itself refuses any string assigned to `innerHTML` and the like.
 */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ')

const SECURITY_HEADERS = {
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

/** `&`, `<`, `>`, `"` and `'` as entities: the config is the only dynamic text in the page. */
function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** The UI's routes, served at the host's root (`/ui`) whatever the API's prefix. */
export function uiRoutes(assets: UiAssets, config: UiConfig): Route[] {
  const version = sha256Hex(`${assets.script}\n${assets.style}`).slice(0, 16)
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="appr-ui" content="${escapeAttribute(JSON.stringify(config))}">
<title>appr registry</title>
<link rel="stylesheet" href="/ui/app.css?v=${version}">
<script type="module" src="/ui/app.js?v=${version}"></script>
</head>
<body>
<noscript>This registry browser needs JavaScript. The appr API is at ${escapeAttribute(config.api)}.</noscript>
<div id="app"></div>
</body>
</html>
`
  const file = (text: string, type: string, cache: string) => {
    const body = new TextEncoder().encode(text)
    // Gzipped once, on the first request that accepts it (CompressionStream: any runtime the handler runs on).
    let gzipped: Promise<Uint8Array> | undefined
    const base = { 'content-type': type, 'cache-control': cache, etag: `"${version}"`, vary: 'Accept-Encoding', ...SECURITY_HEADERS }
    return {
      operation: 'ui' as const,
      public: true,
      run: async ({ req }: RouteContext) => {
        // A fresh reply per request: middleware (CORS, HEAD) edits a reply's headers in place.
        if (!acceptsGzip(req.headers.get('accept-encoding'))) return reply(200, { ...base, 'content-length': String(body.byteLength) }, body)
        gzipped ??= gzip(body)
        const bytes = await gzipped
        // Another representation, so another strong validator.
        return reply(200, { ...base, etag: `"${version}-gz"`, 'content-encoding': 'gzip', 'content-length': String(bytes.byteLength) }, bytes)
      },
    }
  }
  // The page names the assets by version, so they can be cached for good; the page itself cannot.
  const immutable = 'public, max-age=31536000, immutable'
  return [
    { path: '/ui', methods: { GET: file(page, 'text/html; charset=utf-8', 'no-cache') } },
    { path: '/ui/app.js', methods: { GET: file(assets.script, 'text/javascript; charset=utf-8', immutable) } },
    { path: '/ui/app.css', methods: { GET: file(assets.style, 'text/css; charset=utf-8', immutable) } },
  ]
}
