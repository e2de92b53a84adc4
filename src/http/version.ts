/** appr-core's version, reported by `GET /version` as `appr-core` (a test keeps it equal to package.json's). */
export const VERSION = '0.1.0'

/**
 * The appr API level `GET /version` reports as `appr-api`: the reference server's (0.7.4). The
 * appr client shows it as the API the server speaks, so it names the protocol, not this library.
 */
export const APPR_API_VERSION = '0.7.4'
