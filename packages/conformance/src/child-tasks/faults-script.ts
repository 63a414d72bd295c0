import { KanbanDbError } from '@kanban-db/core'
import { classifySqliteError, sqliteCodeOf, type SqliteAdapter } from '@kanban-db/core/adapter'
import { openHygienicConnection, resolvePolicy, type HygienicConnection } from '@kanban-db/core/internal'
import type { TaskChannel } from '../task-channel.js'

/** One step of a fault-plan script. */
export type FaultStep =
  | { readonly op: 'open' }
  | { readonly op: 'insert'; readonly label: string }
  | { readonly op: 'read-fresh' }
  | { readonly op: 'checkpoint' }
  | { readonly op: 'close' }
  | { readonly op: 'naive-open' }
  /**
   * Waits for the parent to attach its fault plan (`runArmedPlan`): sends `{ armed: pid }` and goes
   * on at the parent's answer, so the plan counts calls from here.
   */
  | { readonly op: 'arm' }

/** What one step did: `ok` with a value, or the named kanban-db error it raised. */
export interface FaultStepResult {
  readonly step: FaultStep
  readonly ok: boolean
  readonly value?: unknown
  /** `error.code` of the kanban-db error (`TRANSIENT_IO`, `DISK_FULL`, ...), or the raw error's name. */
  readonly code?: string
  /** SQLite's code kept on the error (or its cause). */
  readonly sqliteCode?: string
  /** True when the error kept the driver's error as `cause`. */
  readonly hasCause?: boolean
  readonly message?: string
  /** True when the step only succeeded after the script reopened the connection once. */
  readonly afterReopen?: boolean
}

/**
 * Runs a fixed script of board operations through core's open policy on a raw adapter connection,
 * usually under strace with a fault plan (`src/strace.ts`). It never stops at an error: each step's
 * outcome is recorded, and a write that fails twice in a row is retried once after a reopen (the
 * "not wedged" rule: after the fault window the next operation succeeds, or one reopen does).
 * `naive-open` is the control: the Python board's old open policy, which falls back to
 * `journal_mode=DELETE` on any "disk I/O error" while setting WAL.
 * Returns `{ pid, results }`.
 */
export async function faultsScript(adapter: SqliteAdapter, args: Record<string, unknown>, channel?: TaskChannel): Promise<unknown> {
  const path = String(args.path)
  const steps = args.steps as FaultStep[]
  const policy = resolvePolicy()
  let board: HygienicConnection | undefined
  let failuresInARow = 0
  const results: FaultStepResult[] = []

  const open = async () => {
    board?.close()
    board = undefined
    board = await openHygienicConnection(adapter, path, { policy })
    board.connection.exec('create table if not exists items (id integer primary key, label text not null unique)')
  }
  const insert = (label: string) => {
    if (!board) throw new Error('not open')
    const connection = board.connection
    try {
      connection.exec('BEGIN IMMEDIATE')
      connection.prepare('insert into items (label) values (?)').run([label])
      connection.exec('COMMIT')
    } catch (error) {
      if (connection.inTransaction) {
        try {
          connection.exec('ROLLBACK')
        } catch {
          // SQLite already rolled back after the I/O error; the original error is what matters.
        }
      }
      throw classifySqliteError(error, `inserting ${label}`)
    }
    return label
  }

  for (const step of steps) {
    try {
      let value: unknown
      let afterReopen = false
      switch (step.op) {
        case 'open':
          await open()
          break
        case 'insert':
          try {
            value = insert(step.label)
          } catch (error) {
            if (failuresInARow < 2) throw error
            board?.close()
            await open()
            value = insert(step.label)
            afterReopen = true
          }
          break
        case 'read-fresh': {
          const fresh = await openHygienicConnection(adapter, path, { policy })
          try {
            const row = fresh.connection.prepare('select count(*) as n, sum(length(label)) as bytes from items').all([])[0]
            value = row
          } finally {
            fresh.close()
          }
          break
        }
        case 'checkpoint':
          if (!board) throw new Error('not open')
          try {
            value = board.connection.prepare('PRAGMA wal_checkpoint(TRUNCATE)').all([])[0]
          } catch (error) {
            throw classifySqliteError(error, 'checkpointing')
          }
          break
        case 'close':
          board?.close()
          board = undefined
          break
        case 'naive-open':
          value = await naiveOpen(adapter, path)
          break
        case 'arm':
          if (!channel) throw new Error('an arm step needs the parent on the task channel (runArmedPlan)')
          await channel.send({ armed: process.pid })
          value = await channel.receive()
          break
      }
      failuresInARow = 0
      results.push({ step, ok: true, value, afterReopen })
    } catch (error) {
      failuresInARow += 1
      results.push(describe(step, error))
    }
  }
  board?.close()
  return { pid: process.pid, results }
}

/** The Python board's old policy: any "disk I/O error" while setting WAL falls back to DELETE. */
async function naiveOpen(adapter: SqliteAdapter, path: string): Promise<unknown> {
  const connection = await adapter.open(path)
  try {
    try {
      return { journalMode: adapter.setPragma(connection, 'journal_mode', 'WAL').toLowerCase(), fellBack: false }
    } catch (error) {
      if (!String((error as Error).message).includes('disk I/O error')) throw error
      return { journalMode: adapter.setPragma(connection, 'journal_mode', 'DELETE').toLowerCase(), fellBack: true, firstError: sqliteCodeOf(error) }
    }
  } finally {
    connection.close()
  }
}

function describe(step: FaultStep, error: unknown): FaultStepResult {
  const kanban = KanbanDbError.isKanbanDbError(error)
  return {
    step,
    ok: false,
    code: kanban ? error.code : error instanceof Error ? error.name : String(error),
    sqliteCode: kanban ? error.sqliteCode : sqliteCodeOf(error),
    hasCause: error instanceof Error && error.cause !== undefined,
    message: error instanceof Error ? error.message : String(error),
  }
}
