import { realpathSync } from 'node:fs'
import { KanbanDbError } from '@kanban-db/core'
import { type SqliteAdapter, type SqliteConnection } from '@kanban-db/core/adapter'
import { auditSidecars, openHygienicConnection, resolvePolicy, type HygienicConnection } from '@kanban-db/core/internal'
import type { CaseContext } from '../case.js'

/** The schema the hygiene hazard cases write into. */
export const hazardBoardOptions = {
  policy: resolvePolicy(),
  initialise: (connection: SqliteConnection) => connection.exec('CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)'),
  isInitialised: (connection: SqliteConnection) => connection.prepare("SELECT 1 FROM sqlite_master WHERE name = 'items'").all([]).length > 0,
}

/** Opens (and initialises) a hazard board through the open policy. */
export function openHazardBoard(adapter: SqliteAdapter, path: string): Promise<HygienicConnection> {
  return openHygienicConnection(adapter, path, hazardBoardOptions)
}

/** Inserts `count` rows named `${prefix}-<i>`, one transaction each; returns the names. */
export function insertRows(connection: SqliteConnection, prefix: string, count: number): string[] {
  const insert = connection.prepare('INSERT INTO items (name) VALUES (?)')
  const names: string[] = []
  for (let index = 0; index < count; index += 1) {
    const name = `${prefix}-${index}`
    connection.exec('BEGIN IMMEDIATE')
    insert.run([name])
    connection.exec('COMMIT')
    names.push(name)
  }
  return names
}

/** What a fresh process sees of a board (the `hygiene-read-board` child task). */
export interface BoardView {
  readonly names?: string[]
  readonly journalMode?: string
  readonly integrity?: string[]
  readonly error?: string
}

/** Reads the board in a fresh child process. */
export function readInFreshProcess(context: CaseContext, path: string): Promise<BoardView> {
  return context.child<BoardView>('hygiene-read-board', { path })
}

/** `(deleted)` sidecar descriptors this process holds on `path`'s `-wal`/`-shm`. */
export function deletedSidecarFds(path: string): number {
  return auditSidecars(realpathSync(path))?.deletedSidecarFds ?? 0
}

/** What went wrong in one run of a hazard scenario; empty when nothing did. */
export function damageOf(expected: readonly string[], views: Readonly<Record<string, BoardView>>, deletedFds: number): string[] {
  const damage: string[] = []
  if (deletedFds > 0) damage.push(`${deletedFds} descriptor(s) on deleted -wal/-shm in this process`)
  for (const [when, view] of Object.entries(views)) {
    if (view.error) {
      damage.push(`a fresh process ${when} could not read the board: ${view.error}`)
      continue
    }
    const seen = new Set(view.names)
    const missing = expected.filter((name) => !seen.has(name))
    if (missing.length > 0) damage.push(`a fresh process ${when} misses ${missing.length} of ${expected.length} committed rows (${missing.slice(0, 4).join(', ')}...)`)
    if (view.integrity && view.integrity.join() !== 'ok') damage.push(`integrity_check ${when}: ${view.integrity.slice(0, 2).join('; ')}`)
  }
  return damage
}

/** The error code `board.checkGhost()` raises now (`LOCKS_LOST`, `GHOST_FILE`), or undefined when it passes. */
export function ghostCheckCode(board: HygienicConnection): string | undefined {
  try {
    board.checkGhost()
    return undefined
  } catch (error) {
    if (KanbanDbError.isKanbanDbError(error)) return error.code
    throw error
  }
}
