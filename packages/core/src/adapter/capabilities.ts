/**
 * What an engine can do. Every adapter declares each capability explicitly, so the conformance
 * suite can skip what cannot apply and say why, instead of hiding it.
 */
export interface Capabilities {
  /** Two connections, threads or processes opening the same path share one on-disk database. */
  readonly sharedFile: boolean
  /** `PRAGMA journal_mode=WAL` really puts the file in WAL mode with `-wal`/`-shm` sidecars. */
  readonly wal: boolean
  /** The adapter can take a lock that other processes see and the kernel releases on death. */
  readonly crossProcessLock: boolean
  /** The driver can copy a live database page by page (online backup API or `VACUUM INTO`). */
  readonly onlineBackup: boolean
  /** The adapter can be loaded and used inside a `worker_threads` Worker. */
  readonly workerThreads: boolean
}

/** The name of one capability, as used in conformance `requires` lists and skip reasons. */
export type Capability = keyof Capabilities

/** Every capability name, in a stable order. */
export const CAPABILITIES: readonly Capability[] = [
  'sharedFile',
  'wal',
  'crossProcessLock',
  'onlineBackup',
  'workerThreads',
]

/** The capabilities in `required` that `declared` lacks (empty when all are present). */
export function missingCapabilities(declared: Capabilities, required: readonly Capability[]): Capability[] {
  return required.filter((capability) => !declared[capability])
}
