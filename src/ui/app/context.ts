/**
 * What every view gets: the typed client, the server's layout (from the page's `<meta>`), and
 * the links of the app's hash routes.
 * @module
 */
import type { ApprClient } from '../../client/index.js'

/** The server's layout, as `src/http/ui/routes.ts` writes it into `<meta name="appr-ui">`. */
export interface UiConfig {
  readonly api: string
  readonly helm: string | null
  readonly oci: boolean
}

/** A view's environment. */
export interface AppContext {
  readonly appr: ApprClient
  readonly config: UiConfig
  /** Cancelled when the user navigates away before the view finished loading. */
  readonly signal: AbortSignal
}

/** A hash route: `#/` (packages), `#/p/<ns>/<name>` (a package), with query parameters. */
export function link(path: string, params: Readonly<Record<string, string | undefined>> = {}): string {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, value)
  const text = query.toString()
  return `#${path}${text === '' ? '' : `?${text}`}`
}

/** The link of a package's page. */
export function packageLink(pkg: string, params: Readonly<Record<string, string | undefined>> = {}): string {
  return link(`/p/${pkg.split('/').map(encodeURIComponent).join('/')}`, params)
}
