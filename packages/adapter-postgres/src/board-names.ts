import { createHash } from 'node:crypto'
import { InvalidInput } from '@kanban-db/core'

/** What a board's schema name must look like: a plain, unquoted, lower-case Postgres identifier. */
export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/

/** The schema a board lives in when the config names none. */
export const DEFAULT_SCHEMA = 'kanban'

/**
 * Checks a board's schema name and returns it. Only plain identifiers are accepted, so the name can
 * be written into SQL (search_path, DDL, trigger bodies) without quoting surprises.
 */
export function requireSchemaName(value: unknown): string {
  if (typeof value !== 'string' || !SCHEMA_NAME_PATTERN.test(value)) {
    throw new InvalidInput(
      `Invalid schema: expected a plain Postgres identifier (a lower-case letter or _, then up to 62 of a-z, 0-9, _), got ${JSON.stringify(value)}. ` +
        `Pick a name like 'kanban' or 'team_a_board'; nothing was opened.`,
      { details: { field: 'schema', value } },
    )
  }
  return value
}

/** The schema name as a quoted SQL identifier (the name is already validated; quoting is belt and braces). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * The LISTEN/NOTIFY channel on which the board's trigger announces ready tasks. Channel names are
 * identifiers of at most 63 bytes: a long schema name is shortened and made unique with a hash.
 */
export function wakeChannel(schema: string): string {
  const plain = `kanban_db_wake_${schema}`
  if (plain.length <= 63) return plain
  const digest = createHash('sha256').update(schema).digest('hex').slice(0, 12)
  return `kanban_db_wake_${schema.slice(0, 63 - 'kanban_db_wake_'.length - 13)}_${digest}`
}

/**
 * SQL for the two-key advisory lock that serialises migrations of one schema (`pg_advisory_lock` takes
 * it with a session scope). The first key names the purpose, the second the schema, so boards in
 * different schemas never wait for each other. `$1` is the schema name.
 */
export const MIGRATION_LOCK_KEYS = `hashtext('kanban_db.migrate'), hashtext($1)`

/**
 * SQL for the advisory lock keys the events trigger takes (transaction scope), written in terms of
 * the trigger's `TG_TABLE_SCHEMA` so the function body is the same in every schema.
 */
export const EVENTS_LOCK_KEYS = `hashtext('kanban_db.events'), hashtext(TG_TABLE_SCHEMA)`

/**
 * SQL for the keys of a named lock (`tryLock(name)`): the schema's hash, then the name's. `$1` is the
 * schema, `$2` the lock name.
 */
export const NAMED_LOCK_KEYS = `hashtext($1), hashtext($2)`
