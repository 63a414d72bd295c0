import {
  type DatabaseIntrospector, type Dialect, type DialectAdapter, type Driver, type Kysely, type QueryCompiler,
  SqliteAdapter as KyselySqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
} from 'kysely'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { ConnectionDriver } from './connection-driver.js'

/**
 * A Kysely dialect over one open {@link SqliteConnection} from any adapter, so typed board queries
 * run the same on every driver. `new Kysely<Schema>({ dialect: new ConnectionDialect(connection) })`.
 */
export class ConnectionDialect implements Dialect {
  constructor(private readonly connection: SqliteConnection) {}

  createDriver(): Driver {
    return new ConnectionDriver(this.connection)
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler()
  }

  createAdapter(): DialectAdapter {
    return new KyselySqliteAdapter()
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db)
  }
}
