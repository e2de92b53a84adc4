/**
 * The pure appr model: names, releases, queries, formats, schemas. No I/O.
 * @module
 */

export * from './media-type.js'
export * from './package-name.js'
export * from './query.js'
export * from './release.js'
export * from './schemas.js'
export type * from './types.js'
