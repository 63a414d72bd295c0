import { renameSync, writeFileSync } from 'node:fs'
import type { Database } from 'sql.js'
import type { SqliteConnection, SqliteStatement } from '@kanban-db/core/adapter'
import { applyFileMode, fileModeOf } from '@kanban-db/core/adapter'
import { driverError } from './decode-error.js'
import type { ImageClaim } from './image-claim.js'
import { sameDatabase } from './same-database.js'
import { SqlJsStatement } from './statement.js'

/** A sql.js database over the in-memory image of one file, written back at close when it changed. */
export class SqlJsConnection implements SqliteConnection {
  #open = true

  constructor(
    readonly path: string,
    private readonly database: Database,
    private readonly readonly: boolean,
    private readonly loadedImage: Uint8Array | undefined,
    private readonly claim: ImageClaim | undefined,
  ) {}

  get isOpen(): boolean {
    return this.#open
  }

  get inTransaction(): boolean {
    // sql.js exposes no autocommit flag: a nested BEGIN fails exactly when a transaction is open.
    try {
      this.database.exec('BEGIN')
    } catch {
      return true
    }
    this.database.exec('ROLLBACK')
    return false
  }

  prepare(sql: string): SqliteStatement {
    try {
      return new SqlJsStatement(this.database, this.database.prepare(sql))
    } catch (error) {
      throw driverError(error)
    }
  }

  exec(sql: string): void {
    try {
      this.database.exec(sql)
    } catch (error) {
      throw driverError(error)
    }
  }

  async backup(): Promise<void> {
    throw new Error('sql.js has no online backup: it declares onlineBackup = false.')
  }

  close(): void {
    if (!this.#open) return
    this.#open = false
    try {
      if (!this.readonly && this.path !== ':memory:') this.persist()
    } finally {
      try {
        this.database.close()
      } finally {
        this.claim?.release()
      }
    }
  }

  /**
   * Writes the image back only when it changed, beside the file first and then renamed into place,
   * so a crash never leaves half a file and a file SQLite could not read (not a database, damaged)
   * is never replaced. sql.js boards are single-process by declaration (sharedFile = false).
   */
  private persist(): void {
    let image: Uint8Array
    try {
      image = this.database.export()
    } catch {
      return // SQLite could not read what was loaded: leave the file exactly as it was.
    }
    if (this.loadedImage && sameDatabase(image, this.loadedImage)) return
    const temporary = `${this.path}.sqljs-${process.pid}.tmp`
    // The renamed file keeps the board's permissions (a 0600 board stays 0600 under umask 022): the
    // copy starts private and gets the board's mode before it takes the board's place.
    const mode = fileModeOf(this.path)
    writeFileSync(temporary, image, mode === undefined ? {} : { mode: 0o600 }) // --allow-fs: sql.js persistence, see above
    applyFileMode(temporary, mode)
    renameSync(temporary, this.path) // --allow-fs
  }
}
