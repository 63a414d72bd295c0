import type { ConformanceCase } from '../case.js'
import { claimComplete4x2 } from './concurrency.claim-complete-4x2.js'
import { contention60s } from './concurrency.contention-60s.js'
import { sixteenProcesses } from './stress.sixteen-processes.js'
import { capabilityManifest } from './core.capability-manifest.js'
import { decodeErrorRealErrors } from './core.decode-error-real-errors.js'
import { kill9Writer } from './corruption.kill-9-writer.js'
import { malformedFile } from './corruption.malformed-file.js'
import { fileRoundtrip } from './core.file-roundtrip.js'
import { isolatedInstances } from './core.isolated-instances.js'
import { schemaMigrationsIdempotent } from './core.schema-migrations-idempotent.js'
import { stressClaimComplete5min } from './stress.claim-complete-5min.js'
import { abandonedTransactionTimesOut } from './txn.abandoned-transaction-times-out.js'
import { beginImmediate } from './txn.begin-immediate.js'
import { burst200 } from './txn.burst-200.js'
import { busyAtCommitRecovers } from './txn.busy-at-commit-recovers.js'
import { rollbackPreservesOriginalError } from './txn.rollback-preserves-original-error.js'
import { faultsEioCheckpoint } from './faults.eio-checkpoint.js'
import { faultsEioDbRead } from './faults.eio-db-read.js'
import { faultsEioJournalModeStep } from './faults.eio-journal-mode-step.js'
import { faultsEioWalSync } from './faults.eio-wal-sync.js'
import { faultsEioWalWrite } from './faults.eio-wal-write.js'
import { faultsEnospcWalWrite } from './faults.enospc-wal-write.js'
import { faultsRetriedErrorsInvisible } from './faults.retried-errors-invisible.js'
import { firstOpenRace } from './concurrency.first-open-race.js'
import { openCloseFd } from './concurrency.open-close-fd.js'
import { openCloseCycles } from './memory.open-close-cycles.js'
import { pragmaPolicy } from './core.pragma-policy.js'
import { fileReplacedUnderBoard } from './hazard.file-replaced-under-board.js'
import { fsCopyUnlinksSidecars } from './hazard.fs-copy-unlinks-sidecars.js'
import { lockingProtocolFallback } from './hazard.locking-protocol-fallback.js'
import { transientIoerrNeverDowngrades } from './hazard.transient-ioerr-never-downgrades.js'
import { twoSqliteCopies } from './hazard.two-sqlite-copies.js'
import { locksLostFsRead } from './hazard.locks-lost-fs-read.js'
import { locksLostSecondCopy } from './hazard.locks-lost-second-copy.js'
import { locksLostDispatcherReopens } from './hazard.locks-lost-dispatcher-reopens.js'
import { foreignPythonReader } from './foreign.python-reader.js'
import { foreignPythonWriter } from './foreign.python-writer.js'
import { foreignShellBackup } from './foreign.shell-backup.js'
import { faultsBoardWorkerEio } from './faults.board-worker-eio.js'
import { faultsDispatcherEio } from './faults.dispatcher-eio.js'
import { foreignMixedFleet } from './foreign.mixed-fleet.js'
import { boardLifecycle } from './core.board-lifecycle.js'
import { backendTerminatedInTransaction } from './postgres.backend-terminated-in-transaction.js'
import { frozenClientHoldsLocks } from './postgres.frozen-client-holds-locks.js'
import { skewedClientClock } from './postgres.skewed-client-clock.js'
import { serverRestartMidFleet } from './postgres.server-restart-mid-fleet.js'
import { foreignFileUnchanged } from './corruption.foreign-file-unchanged.js'
import { privateImageTwoProcesses } from './hazard.private-image-two-processes.js'
import { workSigtermMidTask } from './concurrency.work-sigterm-mid-task.js'
import { workSigkillMidTask } from './corruption.work-sigkill-mid-task.js'

/** Every conformance case, in matrix order. */
export const allCases: readonly ConformanceCase[] = [
  fileRoundtrip,
  isolatedInstances,
  capabilityManifest,
  decodeErrorRealErrors,
  schemaMigrationsIdempotent,
  boardLifecycle,
  beginImmediate,
  rollbackPreservesOriginalError,
  burst200,
  busyAtCommitRecovers,
  abandonedTransactionTimesOut,
  claimComplete4x2,
  contention60s,
  sixteenProcesses,
  workSigtermMidTask,
  malformedFile,
  kill9Writer,
  workSigkillMidTask,
  stressClaimComplete5min,
  faultsEioWalWrite,
  faultsEioWalSync,
  faultsEioDbRead,
  faultsEioJournalModeStep,
  faultsEioCheckpoint,
  faultsEnospcWalWrite,
  faultsRetriedErrorsInvisible,
  pragmaPolicy,
  firstOpenRace,
  openCloseFd,
  openCloseCycles,
  twoSqliteCopies,
  fsCopyUnlinksSidecars,
  fileReplacedUnderBoard,
  transientIoerrNeverDowngrades,
  lockingProtocolFallback,
  locksLostSecondCopy,
  locksLostFsRead,
  locksLostDispatcherReopens,
  foreignPythonReader,
  foreignPythonWriter,
  foreignShellBackup,
  foreignMixedFleet,
  faultsBoardWorkerEio,
  faultsDispatcherEio,
  backendTerminatedInTransaction,
  frozenClientHoldsLocks,
  skewedClientClock,
  serverRestartMidFleet,
  foreignFileUnchanged,
  privateImageTwoProcesses,
]
