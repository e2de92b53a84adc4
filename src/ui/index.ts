/**
 * `appr-core/ui`: the web UI's assets for `createHandler`'s `ui` option (docs/ui.md).
 *
 * @example
 * ```ts
 * import { createHandler } from 'appr-core/http'
 * import { loadUiAssets } from 'appr-core/ui'
 *
 * const handler = createHandler(registry, { ui: await loadUiAssets() }) // the app at /ui
 * ```
 * @module
 */
export type { UiAssets, UiConfig } from '../http/ui/routes.js'
export { bundleUi, loadUiAssets, UI_BUILD_DIR } from './bundle.js'
