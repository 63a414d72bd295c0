/**
 * kanban-db on PostgreSQL: `postgres(config)` for a server (node-postgres), `pglite(config)` for
 * PGlite in this process. Each returns a `BoardEngineFactory` for `openBoard({ engine })`.
 */
export { postgres, PRIORITY_POOL_SIZE } from './server/postgres-factory.js'
export { pglite } from './pglite/pglite-factory.js'
export { DEFAULT_POOL_SIZE, type PgliteEngineConfig, type PostgresEngineConfig } from './config.js'
export { DEFAULT_SCHEMA, SCHEMA_NAME_PATTERN, wakeChannel } from './board-names.js'
export { classifyPostgresError } from './classify.js'
export { PostgresBoardEngine } from './engine.js'
export type { PgliteInstance } from './pglite/pglite-instance.js'
export { EVENTS_ORDER_TRIGGER, IDEMPOTENCY_CONSTRAINT, WAKE_TRIGGER, postgresMigrations, type PostgresMigration } from './schema/postgres-migrations.js'
export { SCHEMA_VERSION_TABLE } from './schema/migrate.js'
