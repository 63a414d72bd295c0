/**
 * The part of a PGlite instance (`@electric-sql/pglite`) the engine uses, described structurally so
 * this package's types do not require PGlite to be installed by users of the server engine.
 */
export interface PgliteInstance {
  readonly ready: boolean
  readonly closed: boolean
  readonly waitReady: Promise<void>
  query<T>(query: string, params?: unknown[], options?: PgliteQueryOptions): Promise<PgliteResults<T>>
  exec(query: string, options?: PgliteQueryOptions): Promise<Array<PgliteResults<unknown>>>
  transaction<T>(callback: (tx: PgliteTransaction) => Promise<T>): Promise<T>
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

/** Per-query options of PGlite the engine passes (row shape and result parsers). */
export interface PgliteQueryOptions {
  rowMode?: 'array' | 'object'
  parsers?: Record<number, (value: string) => unknown>
}

/** What a PGlite query returns. */
export interface PgliteResults<T> {
  rows: T[]
  affectedRows?: number
  fields: Array<{ name: string; dataTypeID: number }>
}

/** The transaction handle PGlite passes to `transaction(callback)`. */
export interface PgliteTransaction {
  query<T>(query: string, params?: unknown[], options?: PgliteQueryOptions): Promise<PgliteResults<T>>
  exec(query: string, options?: PgliteQueryOptions): Promise<Array<PgliteResults<unknown>>>
  readonly closed: boolean
}
