import type { ConformanceCase } from '../case.js'
import { capabilityManifest } from './core.capability-manifest.js'
import { fileRoundtrip } from './core.file-roundtrip.js'
import { isolatedInstances } from './core.isolated-instances.js'
import { abandonedTransactionTimesOut } from './txn.abandoned-transaction-times-out.js'
import { beginImmediate } from './txn.begin-immediate.js'
import { burst200 } from './txn.burst-200.js'
import { busyAtCommitRecovers } from './txn.busy-at-commit-recovers.js'
import { rollbackPreservesOriginalError } from './txn.rollback-preserves-original-error.js'

/** Every conformance case, in matrix order. */
export const allCases: readonly ConformanceCase[] = [
  fileRoundtrip,
  isolatedInstances,
  capabilityManifest,
  beginImmediate,
  rollbackPreservesOriginalError,
  burst200,
  busyAtCommitRecovers,
  abandonedTransactionTimesOut,
]
