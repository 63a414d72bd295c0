import { createRequire } from 'node:module'

/** The part of node-postgres's `Client` the doctor tests drive sessions with. */
export interface PgClient {
  connect(): Promise<void>
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>
  end(): Promise<void>
  on(event: 'error', listener: () => void): void
}

/** node-postgres's `Client`, resolved from the adapter that depends on it (the cli does not). */
export const { Client } = createRequire(createRequire(import.meta.url).resolve('@kanban-db/adapter-postgres'))('pg') as {
  Client: new (config: object) => PgClient
}
