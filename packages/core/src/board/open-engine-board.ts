import type { BoardEngineFactory } from '../engine/board-engine.js'
import type { Board } from './board.js'
import { resolveBoardOptions, type CommonBoardOptions } from './board-options.js'
import { EngineBoard } from './engine-board.js'
import { invalid, requireObject } from './validate.js'

/** What `openBoard` takes for a board on an engine package's engine (Postgres, PGlite). */
export interface EngineBoardOptions extends CommonBoardOptions {
  /** How to reach the board, for example `postgres({ connectionString })` from `@kanban-db/adapter-postgres`. */
  readonly engine: BoardEngineFactory
}

/** Opens the board through `options.engine` (which creates and migrates it when needed). */
export async function openEngineBoard(options: EngineBoardOptions): Promise<Board> {
  requireObject('options', options)
  const factory = options.engine
  if (typeof factory !== 'object' || factory === null || typeof factory.open !== 'function') {
    throw invalid('options.engine', 'expected an engine factory, for example postgres({ connectionString }) from @kanban-db/adapter-postgres')
  }
  const { readonly, clock, rules } = resolveBoardOptions(options)
  const engine = await factory.open({ readonly, ...(options.write === undefined ? {} : { write: options.write }) })
  return new EngineBoard({ engine, clock, rules })
}
