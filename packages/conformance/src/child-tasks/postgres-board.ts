import { KanbanDbError, openBoard, type Board, type CommonBoardOptions } from '@kanban-db/core'
import { type BoardEngineFactory } from '@kanban-db/core/adapter'
import { boardSpecArg, loadPostgresEngine, type PostgresBoardSpec } from '../board-spec.js'
import { importModule } from '../import-module.js'

/**
 * Helpers of the Postgres hazard cases (`postgres.*`) and their child tasks: a board of a Postgres
 * spec opened with engine options beyond the spec's server and schema (a pool option, a pool size),
 * and errors read by code.
 */

/** `postgres()` options the hazard cases set besides the spec's server and schema. */
export interface PostgresEngineExtras {
  /** node-postgres pool options (`idle_in_transaction_session_timeout`, a `Client` class, ...). */
  readonly pool?: Readonly<Record<string, unknown>>
  readonly poolSize?: number
}

/** The Postgres board spec in a child task's `args[key]`. */
export function postgresSpecArg(args: Record<string, unknown>, key = 'board'): PostgresBoardSpec {
  const spec = boardSpecArg(args, key)
  if (spec.engine !== 'postgres') throw new Error(`child task argument '${key}' is a ${spec.engine} board; the postgres.* cases run on Postgres only`)
  return spec
}

/**
 * Opens the board `spec` names with `openBoard({ engine: postgres({ connectionString, schema,
 * ...engine }), ...board })`, `postgres` imported from the engine package by module name (as
 * `openSpecBoard` does, with the engine options the spec does not carry).
 */
export async function openPostgresBoard(
  spec: PostgresBoardSpec,
  options: { readonly engine?: PostgresEngineExtras; readonly board?: CommonBoardOptions } = {},
): Promise<Board> {
  const postgres = (await loadPostgresEngine(spec.moduleName, spec.resolveFrom)) as unknown as (config: Record<string, unknown>) => BoardEngineFactory
  return openBoard({ ...options.board, engine: postgres({ ...options.engine, connectionString: spec.connectionString, schema: spec.schema }) })
}

/** The kanban-db code of `error` (`CONNECTION_LOST`, ...), else its name. */
export function errorCode(error: unknown): string {
  if (KanbanDbError.isKanbanDbError(error)) return error.code
  return error instanceof Error ? error.name : 'UNKNOWN'
}

/** `Name [CODE]: message`, one line. */
export function errorLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return `${error.name} [${errorCode(error)}]: ${error.message}`
}

/**
 * The engine package's `classifyPostgresError`, for a child's own reads through `board.db`, whose
 * errors are the driver's: a lost connection there is `ConnectionLost` like anywhere else.
 */
export async function loadClassifier(spec: PostgresBoardSpec): Promise<(error: unknown, doing: string) => unknown> {
  const loaded = await importModule(spec.moduleName, spec.resolveFrom)
  const classify = loaded.classifyPostgresError ?? (loaded.default as Record<string, unknown> | undefined)?.classifyPostgresError
  if (typeof classify !== 'function') throw new Error(`module '${spec.moduleName}' exports no classifyPostgresError`)
  return classify as (error: unknown, doing: string) => unknown
}
