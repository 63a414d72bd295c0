import { KanbanDbError } from '@kanban-db/core'

/**
 * The `kanban-db` command's exit codes. Scripts branch on these; they never change meaning.
 */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** The board failed: it could not be opened or read or written (busy, I/O, a damaged or foreign file, a lost connection, ...). */
  boardError: 1,
  /** The command line was wrong (unknown command or option, a missing or malformed argument) or a value was refused by the board's validation. */
  usage: 2,
  /** No board at that path or in that schema, or no task with that id. */
  notFound: 3,
  /** The task's state does not allow that (blocking a done task, reclaiming a task nobody holds, a dependency cycle, ...). Nothing changed. */
  refused: 4,
  /** The command does not apply to this kind of board (`backup` of a Postgres board); the message says what to use instead. */
  notSupported: 5,
  /** `doctor` found warnings (and no errors). */
  warnings: 6,
  /** `doctor` found errors, or `check` found the file damaged. */
  damaged: 7,
  /** Stopped by SIGINT before the work was done (130 = 128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

const BY_ERROR_CODE: Readonly<Record<string, ExitCode>> = {
  INVALID_INPUT: EXIT.usage,
  BOARD_NOT_FOUND: EXIT.notFound,
  TASK_NOT_FOUND: EXIT.notFound,
  INVALID_TRANSITION: EXIT.refused,
  CLAIM_MISMATCH: EXIT.refused,
  DEPENDENCY_CYCLE: EXIT.refused,
  READ_ONLY_BOARD: EXIT.refused,
  NOT_SUPPORTED: EXIT.notSupported,
}

/** The exit code for an error a command met: by its kanban-db code, else {@link EXIT.boardError}. */
export function exitCodeFor(error: unknown): ExitCode {
  if (KanbanDbError.isKanbanDbError(error)) return BY_ERROR_CODE[error.code] ?? EXIT.boardError
  return EXIT.boardError
}
