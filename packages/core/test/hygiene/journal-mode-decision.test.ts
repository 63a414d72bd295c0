import { describe, expect, it } from 'vitest'
import { Busy, TransientIO, UnsupportedFilesystem } from '@kanban-db/core'
import { decideJournalModeFailure, journalModeFailureKind } from '@kanban-db/core/internal'

const lockingProtocol = Object.assign(new Error('locking protocol'), { code: 'SQLITE_PROTOCOL' })
const notAuthorized = Object.assign(new Error('not authorized'), { code: 'ERR_SQLITE_ERROR', errcode: 23 })
const ioError = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_SHMMAP' })
const ioErrorByMessage = new Error('disk I/O error')
const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })
const path = '/boards/a.db'

describe('the journal-mode fallback rule', () => {
  it('sorts errors: filesystem properties, transient I/O, the rest', () => {
    expect(journalModeFailureKind(lockingProtocol)).toBe('filesystem')
    expect(journalModeFailureKind(notAuthorized)).toBe('filesystem')
    expect(journalModeFailureKind(ioError)).toBe('transient-io')
    expect(journalModeFailureKind(ioErrorByMessage)).toBe('transient-io')
    expect(journalModeFailureKind(busy)).toBe('other')
    expect(journalModeFailureKind(new TypeError('bug'))).toBe('other')
  })

  it('falls back to DELETE only for a filesystem error on a file SQLite says is not WAL', () => {
    for (const error of [lockingProtocol, notAuthorized]) {
      expect(decideJournalModeFailure({ error, headerMode: 'delete', allowDeleteFallback: true, path })).toEqual({ action: 'fallback-to-delete' })
    }
  })

  it('never downgrades a file whose header says WAL, or one SQLite cannot read the mode of', () => {
    for (const headerMode of ['wal', undefined]) {
      const decision = decideJournalModeFailure({ error: lockingProtocol, headerMode, allowDeleteFallback: true, path })
      expect(decision.action).toBe('raise')
      expect(decision.action === 'raise' && decision.error).toBeInstanceOf(UnsupportedFilesystem)
    }
  })

  it('raises a transient I/O error as TransientIO whatever the header says, never a downgrade', () => {
    for (const headerMode of ['wal', 'delete', undefined]) {
      for (const error of [ioError, ioErrorByMessage]) {
        const decision = decideJournalModeFailure({ error, headerMode, allowDeleteFallback: true, path })
        expect(decision.action).toBe('raise')
        const raised = decision.action === 'raise' ? decision.error : undefined
        expect(raised).toBeInstanceOf(TransientIO)
        expect((raised as TransientIO).cause).toBe(error)
      }
    }
  })

  it('respects allowDeleteFallback: false, and passes other errors on classified', () => {
    const refused = decideJournalModeFailure({ error: lockingProtocol, headerMode: 'delete', allowDeleteFallback: false, path })
    expect(refused.action === 'raise' && refused.error).toBeInstanceOf(UnsupportedFilesystem)
    const other = decideJournalModeFailure({ error: busy, headerMode: 'delete', allowDeleteFallback: true, path })
    expect(other.action === 'raise' && other.error).toBeInstanceOf(Busy)
  })
})
