/**
 * `@kanban-db/core`: a kanban board for fleets of agent processes, on SQLite or PostgreSQL.
 *
 * The root is the consumer API: `openBoard` and the board, task and event types, the errors, the
 * worker runtime (`board.work`), the `Dispatcher`, the importer of the Python agent gateway's board,
 * and the literal lists (statuses, event kinds, error codes). Adapter and engine authors use
 * `@kanban-db/core/adapter`; `@kanban-db/core/internal` is for kanban-db's own packages.
 * @packageDocumentation
 */

// Opening a board.
export { openBoard } from './open-board.js'
export type { BoardOptions } from './sqlite/open-sqlite-board.js'
export type { EngineBoardOptions } from './board/open-engine-board.js'
export type { CommonBoardOptions } from './board/board-options.js'
export type { Board, BoardHealth, CompletedAndClaimed } from './board/board.js'
export type { SqliteBoard, SqliteBoardHealth } from './sqlite/sqlite-board.js'
// The types those options and results name (what an adapter or engine package hands to openBoard,
// the hygiene policy's overrides, write options, health and checkpoint results).
export type { SqliteAdapter } from './adapter/sqlite-adapter.js'
export type { BoardEngineFactory } from './engine/board-engine.js'
export type { HygienePolicy } from './hygiene/hygiene-policy.js'
export type { HygieneHealth } from './hygiene/open-connection.js'
export type { CheckpointMode, CheckpointResult } from './hygiene/connection-health.js'
export { rollbackErrorOf, type WithRollbackError, type WriteOptions } from './write/write-transaction.js'
// What `board.db` (a Kysely<BoardSchema>) reads.
export type {
  AttachmentRow, AttachmentTable, BoardSchema, CommentRow, CommentTable, EventRow, EventTable, NewEventRow, NewTaskRow,
  NewTaskRunRow, SubscriptionRow, SubscriptionTable, TaskDependencyRow, TaskDependencyTable, TaskRow, TaskRowUpdate,
  TaskRunRow, TaskRunTable, TaskTable,
} from './schema/board-schema.js'

// Checking a board, and what an open repaired.
export { checkBoard, type BoardCheck, type CheckBoardOptions, type CheckTarget, type ContentCheck, type HeaderFacts, type QuietCheck } from './corruption/check-board.js'
export { openRepairOf, type OpenRepair } from './corruption/preserve-on-open.js'

// Tasks, runs, events and their literal lists.
export * from './board/types.js'
export { TASK_STATUSES, canTransition, transitions, type TaskAction, type TaskStatus, type Transition } from './board/transitions.js'
export { EVENT_KINDS } from './board/event-kinds.js'
export { DEFAULT_MAX_RETRIES, DEFAULT_MAX_REVIEW_REJECTIONS, GAVE_UP, type BoardRules } from './board/failure-accounting.js'
export { BLOCK_LOOP_RECURRENCES, DEPENDENCY_BLOCK } from './board/parking.js'
export { CLOCK_AHEAD_TOLERANCE_MS, type ClockSkew } from './board/clock-guard.js'

// Errors: one class per code, a union discriminated by code.
export * from './errors/errors.js'
export * from './errors/work-errors.js'

// The worker runtime (board.work).
export type { TaskWorker } from './worker/task-worker.js'
export type { RetryBackoff, TaskContext, TaskHandler, WorkOptions, WorkTask } from './worker/work-options.js'
export type { WorkerEventMap, WorkerListener, WorkerSummary } from './worker/worker-events.js'

// The dispatcher.
export * from './dispatcher/worker-handle.js'
export * from './dispatcher/exit-policy.js'
export type {
  CheckpointedEvent, ClaimEndedEvent, DispatcherEvent, DispatcherEventOf, DispatcherEventType, DispatcherListener, ErrorEvent,
  OverranEvent, ProbedEvent, QuarantinedEvent, ReapedEvent, ReclaimedEvent, RecordedEvent, RecoveredEvent, SkippedEvent,
  SpawnedEvent, TerminatingEvent, TickEvent,
} from './dispatcher/dispatcher-events.js'
export type { DispatcherBoard, DispatcherBoardSource, DispatcherOptions } from './dispatcher/dispatcher-options.js'
export * from './dispatcher/dispatcher.js'

// Moving an existing board over: the Python agent gateway's kanban.db.
export * from './import/index.js'
