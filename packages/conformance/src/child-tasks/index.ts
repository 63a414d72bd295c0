import type { SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'
import { adapterManifest } from './adapter-manifest.js'
import { claimCompleteProcess } from './claim-complete-process.js'
import { claimCompleteWorker } from './claim-complete-worker.js'
import { crashWriter } from './crash-writer.js'
import { echo } from './echo.js'
import { readRows } from './read-rows.js'
import { tryLock } from './try-lock.js'
import { tryWriteLock } from './try-write-lock.js'
import { faultsScript } from './faults-script.js'
import { faultsVerify } from './faults-verify.js'
import { hygieneFirstOpen } from './hygiene-first-open.js'
import { hygieneHoldLock } from './hygiene-hold-lock.js'
import { hygieneReadBoard } from './hygiene-read-board.js'
import { hygieneWriteRows } from './hygiene-write-rows.js'
import { foreignBoardWorker } from './foreign-board-worker.js'
import { faultsBoardWorker } from './faults-board-worker.js'
import { faultsDispatcher } from './faults-dispatcher.js'
import { postgresFirstOpen } from './postgres-first-open.js'
import { boardRead } from './board-read.js'
import { postgresTxnVictim } from './postgres-txn-victim.js'
import { postgresFleetWorker } from './postgres-fleet-worker.js'
import { postgresFrozenWorker } from './postgres-frozen-worker.js'
import { postgresSkewedClock } from './postgres-skewed-clock.js'
import { postgresPinnedCompletion } from './postgres-pinned-completion.js'
import { workSignalWorker } from './work-signal-worker.js'
import { holdBoard } from './hold-board.js'
import { memoryOpenClose } from './memory-open-close.js'
import { memoryWriter } from './memory-writer.js'

/**
 * A function a conformance child process or worker thread runs with the adapter it loaded. Its
 * return value is the task's result; `channel` exchanges messages with the parent while it runs.
 * For a Postgres subject there is no adapter (any use of it throws): an engine-neutral task opens
 * the case's board from the spec in its arguments with `openSpecBoard(args.board, { adapter })`.
 */
export type ChildTask = (adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel) => Promise<unknown>

/** Every child task by name. */
export const childTasks: Readonly<Record<string, ChildTask>> = {
  'adapter-manifest': adapterManifest,
  'claim-complete-process': claimCompleteProcess,
  'claim-complete-worker': claimCompleteWorker,
  'crash-writer': crashWriter,
  echo,
  'read-rows': readRows,
  'try-lock': tryLock,
  'try-write-lock': tryWriteLock,
  'faults-script': faultsScript,
  'faults-verify': faultsVerify,
  'hygiene-first-open': hygieneFirstOpen,
  'hygiene-hold-lock': hygieneHoldLock,
  'hygiene-read-board': hygieneReadBoard,
  'hygiene-write-rows': hygieneWriteRows,
  'foreign-board-worker': foreignBoardWorker,
  'faults-board-worker': faultsBoardWorker,
  'faults-dispatcher': faultsDispatcher,
  'postgres-first-open': postgresFirstOpen,
  'board-read': boardRead,
  'postgres-txn-victim': postgresTxnVictim,
  'postgres-fleet-worker': postgresFleetWorker,
  'postgres-frozen-worker': postgresFrozenWorker,
  'postgres-skewed-clock': postgresSkewedClock,
  'postgres-pinned-completion': postgresPinnedCompletion,
  'work-signal-worker': workSignalWorker,
  'hold-board': holdBoard,
  'memory-open-close': memoryOpenClose,
  'memory-writer': memoryWriter,
}
