import type { PGlite as KyselyPglite, PGliteQueryOptions } from 'kysely'
import { pgliteNumberParsers } from '../number-types.js'
import type { PgliteInstance } from './pglite-instance.js'

/**
 * The PGlite instance as Kysely's `PGliteDialect` sees it, for the engine's `db`: every query parses
 * bigints and numerics as numbers (per query, so an instance the caller made keeps its own parsers
 * for its own queries), and `close()` closes the instance only when the engine created it.
 */
export function pgliteForKysely(instance: PgliteInstance, owned: boolean): KyselyPglite {
  return {
    get closed() {
      return instance.closed
    },
    get ready() {
      return instance.ready
    },
    get waitReady() {
      return instance.waitReady
    },
    query<T>(text: string, parameters?: unknown[], options?: PGliteQueryOptions) {
      return instance.query<T>(text, parameters, { ...options, parsers: { ...pgliteNumberParsers, ...options?.parsers } })
    },
    transaction: (callback) => instance.transaction(callback as never),
    close: async () => {
      if (owned && !instance.closed) await instance.close()
    },
  }
}
