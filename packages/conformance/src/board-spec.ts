import { openBoard, type Board, type CommonBoardOptions } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import { loadAdapter } from '@kanban-db/core/internal'
import { importModule } from './import-module.js'
import type { PostgresEngineFunction } from './subject.js'

/** A case's board in a SQLite file, opened through the adapter the child loaded. */
export interface SqliteBoardSpec {
  readonly engine: 'sqlite'
  /** The adapter's module name. */
  readonly moduleName: string
  readonly resolveFrom: string
  /** The board's file. */
  readonly path: string
}

/** A case's board in one schema of a PostgreSQL database. */
export interface PostgresBoardSpec {
  readonly engine: 'postgres'
  /** `@kanban-db/adapter-postgres`: children import `postgres` from it. */
  readonly moduleName: string
  readonly resolveFrom: string
  readonly connectionString: string
  /** The case's own schema (`c_...`), created by the engine on first open, dropped by the runner. */
  readonly schema: string
}

/**
 * How to open one board of a case, as plain data a child process or worker thread receives in its
 * arguments (`context.boardSpec()`), so a child of any subject opens the same board the case does
 * with {@link openSpecBoard}.
 */
export type BoardSpec = SqliteBoardSpec | PostgresBoardSpec

/**
 * Opens the board `spec` names, as a child does. SQLite: the file through `adapter` (the one the
 * child task was given; loaded by module name when absent). Postgres: `openBoard({ engine:
 * postgres({ connectionString, schema }) })` with `postgres` imported from the engine package by
 * module name; no SQLite adapter is touched.
 */
export async function openSpecBoard(spec: BoardSpec, options: { readonly adapter?: SqliteAdapter; readonly board?: CommonBoardOptions } = {}): Promise<Board> {
  if (spec.engine === 'sqlite') {
    const adapter = options.adapter ?? (await loadAdapter(spec.moduleName, spec.resolveFrom))
    return openBoard({ ...options.board, path: spec.path, adapter })
  }
  const postgres = await loadPostgresEngine(spec.moduleName, spec.resolveFrom)
  return openBoard({ ...options.board, engine: postgres({ connectionString: spec.connectionString, schema: spec.schema }) })
}

/** `postgres` of the engine package, imported by module name. */
export async function loadPostgresEngine(moduleName: string, resolveFrom: string): Promise<PostgresEngineFunction> {
  const postgres = postgresEngineOf(await importModule(moduleName, resolveFrom))
  if (postgres === undefined) throw new Error(`module '${moduleName}' exports no engine function 'postgres'`)
  return postgres
}

/** The engine function `postgres` a loaded module exports, if it is an engine package. */
export function postgresEngineOf(loaded: Record<string, unknown>): PostgresEngineFunction | undefined {
  const postgres = loaded.postgres ?? (loaded.default as Record<string, unknown> | undefined)?.postgres
  return typeof postgres === 'function' ? (postgres as PostgresEngineFunction) : undefined
}

/** True when `value` looks like a {@link BoardSpec} (a child checks its arguments with it). */
export function isBoardSpec(value: unknown): value is BoardSpec {
  if (typeof value !== 'object' || value === null) return false
  const spec = value as Record<string, unknown>
  if (typeof spec.moduleName !== 'string' || typeof spec.resolveFrom !== 'string') return false
  if (spec.engine === 'sqlite') return typeof spec.path === 'string'
  return spec.engine === 'postgres' && typeof spec.connectionString === 'string' && typeof spec.schema === 'string'
}

/** The board spec in a child task's `args[key]`, or an error saying what the parent should have sent. */
export function boardSpecArg(args: Record<string, unknown>, key = 'board'): BoardSpec {
  const spec = args[key]
  if (!isBoardSpec(spec)) throw new Error(`child task argument '${key}' is not a board spec (pass context.boardSpec())`)
  return spec
}
