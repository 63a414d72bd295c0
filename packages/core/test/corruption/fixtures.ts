import { openSync, closeSync, writeSync, readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import type { SqliteAdapter } from '@kanban-db/core'

/**
 * Creates a small WAL database at `path` with a table `t` spread over many pages, checkpoints it so
 * every page is in the main file, and closes it. Returns the page size.
 */
export async function createSampleDatabase(adapter: SqliteAdapter, path: string, rows = 400): Promise<number> {
  const connection = await adapter.open(path)
  try {
    if (adapter.capabilities.wal) connection.exec('PRAGMA journal_mode = WAL')
    connection.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)')
    connection.exec('BEGIN')
    const insert = connection.prepare('INSERT INTO t (v) VALUES (?)')
    for (let i = 0; i < rows; i += 1) insert.run([`row ${i} `.padEnd(200, 'x')])
    connection.exec('COMMIT')
    if (adapter.capabilities.wal) connection.prepare('PRAGMA wal_checkpoint(TRUNCATE)').all([])
    return Number(Object.values(connection.prepare('PRAGMA page_size').all([])[0] ?? {})[0])
  } finally {
    connection.close()
  }
}

/**
 * Overwrites page `pageNumber` (1-based) of the file at `path` with garbage. Only for files no
 * connection in this process has open: an fs open and close drops this process's SQLite locks (H2).
 */
export function writeGarbageIntoPage(path: string, pageNumber: number, pageSize: number): void {
  const garbage = Buffer.alloc(pageSize, 0)
  for (let i = 0; i < pageSize; i += 1) garbage[i] = (i * 131 + 7) & 0xff
  const fd = openSync(path, 'r+') // --allow-fs: test fault injection into a file nobody has open
  try {
    writeSync(fd, garbage, 0, pageSize, (pageNumber - 1) * pageSize)
  } finally {
    closeSync(fd)
  }
}

/** Hash of a file's bytes. Only for files no connection in this process has open. */
export function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex') // --allow-fs: test, nobody has it open
}
