import type { Database, Statement } from 'sql.js'
import type { RunResult, SqliteRow, SqliteStatement, SqliteValue } from '@kanban-db/core/adapter'
import { driverError } from './decode-error.js'

/** A prepared sql.js statement, reset after every run so one that threw can run again. */
export class SqlJsStatement implements SqliteStatement {
  readonly reader: boolean

  constructor(
    private readonly database: Database,
    private readonly statement: Statement,
  ) {
    this.reader = statement.getColumnNames().length > 0
  }

  all(parameters: readonly SqliteValue[]): SqliteRow[] {
    const rows: SqliteRow[] = []
    try {
      this.statement.bind(toSqlJs(parameters))
      while (this.statement.step()) rows.push(this.statement.getAsObject() as SqliteRow)
    } catch (error) {
      throw driverError(error)
    } finally {
      this.statement.reset()
    }
    return rows
  }

  run(parameters: readonly SqliteValue[]): RunResult {
    try {
      this.statement.run(toSqlJs(parameters))
    } catch (error) {
      throw driverError(error)
    } finally {
      this.statement.reset()
    }
    const changes = this.database.getRowsModified()
    const lastInsertRowid = Number(this.database.exec('select last_insert_rowid()')[0]?.values[0]?.[0] ?? 0)
    return { changes, lastInsertRowid }
  }

  finalize(): void {
    this.statement.free()
  }
}

function toSqlJs(parameters: readonly SqliteValue[]): (string | number | Uint8Array | null)[] {
  return parameters.map((value) => (typeof value === 'bigint' ? Number(value) : value))
}
