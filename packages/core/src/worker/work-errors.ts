// The worker's two errors live with the other error classes, so the error union can name them.
export { RateLimited, WorkAborted, type WorkAbortKind } from '../errors/work-errors.js'
