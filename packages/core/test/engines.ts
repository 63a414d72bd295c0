import { randomBytes } from 'node:crypto'
import { pglite, postgres } from '@kanban-db/adapter-postgres'
import type { BoardEngineFactory } from '@kanban-db/core'

/**
 * A board engine other than SQLite for core's engine-neutral tests: each board a test opens gets
 * a fresh database (PGlite: in memory) or a fresh schema (a Postgres server: dropped afterwards).
 */
export interface EngineSubject {
  readonly kind: 'engine'
  readonly name: string
  /** A factory for one fresh board, and how to remove it after the test. */
  fresh(): { readonly factory: BoardEngineFactory; readonly schema: string | undefined }
}

/** The Postgres server tests reach (`./dev test` starts one); undefined: those tests skip. */
export const postgresUrl: string | undefined = process.env['KANBAN_DB_POSTGRES_URL'] || undefined

const pgliteSubject: EngineSubject = {
  kind: 'engine',
  name: 'pglite',
  fresh: () => ({ factory: pglite({}), schema: undefined }),
}

const postgresSubject: EngineSubject = {
  kind: 'engine',
  name: 'postgres',
  fresh: () => {
    const schema = `t_${randomBytes(6).toString('hex')}`
    return { factory: postgres({ connectionString: postgresUrl!, schema, poolSize: 4 }), schema }
  },
}

/**
 * The engines core's board tests also run on: PGlite always, a Postgres server when
 * `KANBAN_DB_POSTGRES_URL` names one (else listed with `skip` and the reason).
 */
export const engineSubjects: ReadonlyArray<{ readonly name: string; readonly create: () => Promise<EngineSubject>; readonly skip?: string }> = [
  { name: 'pglite', create: async () => pgliteSubject },
  {
    name: 'postgres',
    create: async () => postgresSubject,
    ...(postgresUrl ? {} : { skip: 'no PostgreSQL server: set KANBAN_DB_POSTGRES_URL (./dev test starts a throwaway one)' }),
  },
]

/** True for a subject that is an engine rather than a SQLite adapter. */
export function isEngineSubject(subject: unknown): subject is EngineSubject {
  return typeof subject === 'object' && subject !== null && (subject as { kind?: unknown }).kind === 'engine'
}
