import { readdirSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { basename, dirname } from 'node:path'
import {
  assertBoardOrEmpty, auditLocks, checkBoard, defaultHygienePolicy, defaultQuarantinePolicy, defaultWriteOptions,
  ForeignDatabase, LATEST_SCHEMA_VERSION, migrations, readSchemaVersion, realBoardPath, schemaShapes, type SqliteAdapter,
} from '@kanban-db/core/internal'
import { ago, boardFindings, type BoardQuery } from './board-checks.js'
import { checkFailed, type DoctorFinding } from './finding.js'
import { filesystemFinding } from './filesystem-finding.js'
import { findHolders, type FileHolder } from './process-scan.js'
import { firstText, openReadOnlyView, type ReadOnlyView } from './read-only-view.js'

/** Runs every SQLite check on the board file at `path`; never writes to it or its sidecars. */
export async function sqliteFindings(path: string, signal: AbortSignal | undefined): Promise<DoctorFinding[]> {
  const findings: DoctorFinding[] = []
  const realPath = realBoardPath(path)
  const board = statSync(realPath, { throwIfNoEntry: false })
  if (board === undefined || !board.isFile()) {
    // A board deleted under a process still lives in that process: the holders say who writes to it.
    const scan = findHolders(realPath)
    const holders = scan.supported && scan.holders.length > 0 ? holderFindings(realPath, scan.holders, scan) : []
    return [{
      id: 'board-missing',
      severity: 'error',
      title: `No board file at ${realPath}`,
      detail: board === undefined ? 'Nothing is at that path.' : 'That path is not a regular file.',
      action: 'Check the path (a board is a SQLite file, or a postgres:// URL); a board is created by opening it writable, for example with kanban-db add.',
      data: { path: realPath },
    }, ...holders]
  }
  findings.push(filesystemFinding(realPath))
  signal?.throwIfAborted()

  const scan = findHolders(realPath)
  findings.push(...holderFindings(realPath, scan.supported ? scan.holders : [], scan))
  findings.push(...sidecarOwnerFindings(realPath, board.uid))
  signal?.throwIfAborted()

  const sidecars = { wal: statSync(`${realPath}-wal`, { throwIfNoEntry: false }) !== undefined, shm: statSync(`${realPath}-shm`, { throwIfNoEntry: false }) !== undefined }
  let view: ReadOnlyView
  try {
    view = await openReadOnlyView(realPath, sidecars)
  } catch (error) {
    findings.push(unreadable(realPath, error), ...copiesOfDamage(realPath))
    return findings
  }
  try {
    findings.push(journalModeFinding(view, firstText(view.connection, 'SELECT count(*) FROM sqlite_master') === '0'))
    if (view.journalMode === 'wal' && scan.supported) findings.push(...lockFindings(realPath, scan.holders))
    const integrity = await integrityFindings(realPath, view)
    findings.push(...integrity.findings)
    signal?.throwIfAborted()
    if (!integrity.readable) return [...findings, ...copiesOfDamage(realPath)]
    findings.push(walFinding(realPath, view))
    findings.push(...quarantineFindings(realPath, integrity.corrupt))
    const schema = await schemaFindings(view)
    findings.push(...schema.findings)
    signal?.throwIfAborted()
    if (schema.current && !integrity.corrupt) {
      const query: BoardQuery = async (sql) => view.connection.prepare(sql).all([])
      try {
        findings.push(...(await boardFindings(query, { now: Date.now(), host: hostname(), clockName: "this host's clock" })))
      } catch (error) {
        findings.push(checkFailed('claims, backoff and clock', error))
      }
    }
  } finally {
    view.connection.close()
  }
  return findings
}

function holderFindings(realPath: string, holders: readonly FileHolder[], scan: { supported: boolean; reason?: string; uninspectable: number }): DoctorFinding[] {
  if (!scan.supported) {
    return [{ id: 'held-open', severity: 'info', title: 'Could not look for processes holding the board', detail: scan.reason ?? '/proc is not readable', data: { supported: false } }]
  }
  const findings: DoctorFinding[] = []
  const hidden = scan.uninspectable > 0 ? ` ${scan.uninspectable} process(es) of other users could not be looked at; run as root to see them.` : ''
  const lines = holders.map((holder) =>
    `pid ${holder.pid}${holder.self ? ' (this process)' : ''}: ${holder.command} [${[...new Set(holder.files.map((file) => file.file))].join(', ')}]` +
      (holder.sqliteLibraries.length > 0 ? ` via ${holder.sqliteLibraries.join(', ')}` : ''))
  findings.push({
    id: 'held-open',
    severity: holders.length === 0 ? 'ok' : 'info',
    title: holders.length === 0 ? 'No process has the board open' : `${holders.length} process(es) have the board open`,
    detail: (lines.join('\n') || `Nothing holds ${realPath} or its sidecars.`) + hidden,
    data: { holders, uninspectable: scan.uninspectable },
  })
  for (const holder of holders) {
    if (holder.sqliteLibraries.length > 1) {
      findings.push({
        id: 'sqlite-copies-mixed',
        severity: 'warning',
        title: `pid ${holder.pid} has ${holder.sqliteLibraries.length} SQLite libraries loaded while it holds the board`,
        detail: `${holder.command}\n${holder.sqliteLibraries.join('\n')}\nTwo copies of SQLite in one process do not share their file locks: when a connection of one closes the board, the other loses its locks, and the next process to close can delete the live -wal/-shm and lose commits (hazard H1).`,
        action: `Make pid ${holder.pid}'s program open the board through one SQLite library only (one kanban-db adapter per file per process), then restart it.`,
        data: { pid: holder.pid, command: holder.command, libraries: holder.sqliteLibraries },
      })
    }
    const ghosts = holder.files.filter((file) => file.file !== 'database' && (file.deleted || file.replaced))
    if (ghosts.length > 0) {
      const names = [...new Set(ghosts.map((file) => `${basename(realPath)}-${file.file}${file.deleted ? ' (deleted)' : ' (replaced)'}`))]
      findings.push({
        id: 'sidecar-deleted',
        severity: 'error',
        title: `pid ${holder.pid} writes to ${names.join(' and ')}: a sidecar that is no longer at its path`,
        detail: `${holder.command}\nIts commits go to a file no other process can see, and they are lost when it closes. Caused by two SQLite copies in one process, an fs copy or read of the live file, or a cleanup script that deleted the -wal/-shm.`,
        action: `Stop pid ${holder.pid} (its unseen commits are already lost to the others), then find what deleted the sidecar: one SQLite library per process, backups with kanban-db backup, no cleanup of -wal/-shm files.`,
        data: { pid: holder.pid, command: holder.command, files: ghosts },
      })
    }
    const board = holder.files.filter((file) => file.file === 'database' && (file.deleted || file.replaced))
    if (board.length > 0) {
      const deleted = board.some((file) => file.deleted)
      // A file moved over the board (mv, a restore) unlinks the old one: the kernel says "deleted" while another file has the name.
      const replaced = board.some((file) => file.replaced) || statSync(realPath, { throwIfNoEntry: false }) !== undefined
      findings.push({
        id: 'board-file-ghost',
        severity: 'error',
        title: `pid ${holder.pid} has a board file open that was ${replaced ? 'replaced' : 'deleted'} under it`,
        detail: `${holder.command}\nIt reads and writes the old file${replaced ? `, not the one now at ${realPath}` : ', which has no name any more'}; nobody else sees its writes, and they are lost when it closes.`,
        action: replaced
          ? `Restart pid ${holder.pid} so it opens the file now at ${realPath}; restore by stopping every process first, never by moving a file over a live board.`
          : `Stop pid ${holder.pid} (what it wrote since the deletion is lost with it), then put the board back from a backup before starting it again; find what deleted it.`,
        data: { pid: holder.pid, command: holder.command, deleted, replaced },
      })
    }
  }
  return findings
}

function lockFindings(realPath: string, holders: readonly FileHolder[]): DoctorFinding[] {
  const findings: DoctorFinding[] = []
  for (const holder of holders) {
    // Only a SQLite connection maps -shm; a process holding the file any other way holds no locks to lose.
    if (!holder.files.some((file) => file.file === 'shm' && !file.deleted) || !holder.files.some((file) => file.file === 'database')) continue
    const audit = auditLocks({ path: realPath, pid: holder.pid })
    if (!audit.supported || audit.missing.length === 0) continue
    findings.push({
      id: 'locks-lost',
      severity: 'error',
      title: `pid ${holder.pid} has the board open without SQLite's protective locks (${audit.missing.join(', ')})`,
      detail: `${holder.command}\nA WAL connection holds a shared lock on the database and a read lock on byte 128 of -shm while it lives; this one lost them (a second SQLite copy in that process closed the file, or code opened and closed it with fs). The next process to close can delete the live -wal/-shm and lose its commits.`,
      action: `Restart pid ${holder.pid} (closing every connection and opening again takes the locks afresh), and make it use one SQLite library per file and kanban-db backup instead of file copies.`,
      data: { pid: holder.pid, command: holder.command, missing: audit.missing, held: audit.held },
    })
  }
  return findings
}

function sidecarOwnerFindings(realPath: string, boardUid: number): DoctorFinding[] {
  const foreign: Array<{ file: string; uid: number }> = []
  for (const suffix of ['-wal', '-shm']) {
    const stats = statSync(`${realPath}${suffix}`, { throwIfNoEntry: false })
    if (stats !== undefined && stats.uid !== boardUid) foreign.push({ file: `${realPath}${suffix}`, uid: stats.uid })
  }
  if (foreign.length === 0) return []
  return [{
    id: 'sidecar-foreign',
    severity: 'warning',
    title: `${foreign.map((entry) => basename(entry.file)).join(' and ')} belong(s) to another user than the board`,
    detail: `The board is owned by uid ${boardUid}; ${foreign.map((entry) => `${basename(entry.file)} by uid ${entry.uid}`).join(', ')}. Processes of the board's user may be refused ("attempt to write a readonly database") until those files are gone.`,
    action: 'Run every process of the board as one user; stop them all, then give the sidecars back (chown) or let the last process close and remove them.',
    data: { boardUid, foreign },
  }]
}

/** An empty database (no table at all) is in SQLite's default rollback mode until kanban-db's first writable open. */
function journalModeFinding(view: ReadOnlyView, empty: boolean): DoctorFinding {
  if (view.journalMode === 'wal') {
    return { id: 'journal-mode', severity: 'ok', title: 'The board is in WAL mode', detail: `Read through ${view.sqlite}, ${view.mode === 'immutable' ? 'as an immutable file (it has no sidecars, so nobody has it open)' : `${view.mode} read-only`}.`, data: { journalMode: view.journalMode, readMode: view.mode } }
  }
  if (empty) {
    return {
      id: 'journal-mode',
      severity: 'info',
      title: `The empty database is in journal_mode=${view.journalMode}`,
      detail: 'SQLite\'s default for a new file; kanban-db switches it to WAL when its first writable open creates the board.',
      data: { journalMode: view.journalMode, readMode: view.mode, empty },
    }
  }
  return {
    id: 'journal-mode-not-wal',
    severity: 'warning',
    title: `The board is in journal_mode=${view.journalMode}, not WAL`,
    detail: 'Readers and the writer block each other, and every commit rewrites a rollback journal. kanban-db falls back to this only where the filesystem cannot do WAL; another tool may also have switched it.',
    action: 'If the filesystem is local, stop every process and open the board once with kanban-db (any writable command): it switches the file to WAL. Otherwise move it to a local disk.',
    data: { journalMode: view.journalMode, readMode: view.mode },
  }
}

async function integrityFindings(realPath: string, view: ReadOnlyView): Promise<{ findings: DoctorFinding[]; readable: boolean; corrupt: boolean }> {
  let check
  try {
    check = await checkBoard(view.connection)
  } catch (error) {
    return { findings: [checkFailed('integrity', error)], readable: false, corrupt: false }
  }
  if (!check.header.magicOk) {
    return { findings: [unreadable(realPath, check.problems.join('; '))], readable: false, corrupt: true }
  }
  if (check.corrupt) {
    return {
      readable: true,
      corrupt: true,
      findings: [{
        id: 'integrity-failed',
        severity: 'error',
        title: `quick_check found the board damaged (${check.content.messages.length} problem(s))`,
        detail: check.problems.join('\n'),
        action: 'Stop writing to it. Restore the board from a backup (kanban-db backup makes them), or salvage rows with the sqlite3 shell\'s .recover into a new file; keep the damaged file to investigate.',
        data: { messages: check.content.messages, pageCount: check.pageCount, pageSize: check.header.pageSize },
      }],
    }
  }
  return { readable: true, corrupt: false, findings: [{ id: 'integrity', severity: 'ok', title: 'quick_check: ok', detail: `${check.pageCount} pages of ${check.header.pageSize} bytes.`, data: { pageCount: check.pageCount, pageSize: check.header.pageSize } }] }
}

function unreadable(realPath: string, error: unknown): DoctorFinding {
  const message = error instanceof Error ? error.message : String(error)
  return {
    id: 'not-a-database',
    severity: 'error',
    title: `SQLite cannot read ${basename(realPath)} as a database`,
    detail: message,
    action: 'Check the path names the board; if it does, its first page is damaged: restore it from a backup.',
    data: { path: realPath },
  }
}

function walFinding(realPath: string, view: ReadOnlyView): DoctorFinding {
  const walBytes = statSync(`${realPath}-wal`, { throwIfNoEntry: false })?.size ?? 0
  const pageSize = Number(firstText(view.connection, 'PRAGMA page_size'))
  const limit = defaultHygienePolicy.walAutocheckpoint * pageSize * defaultWriteOptions.walCeiling
  const data = { walBytes, limitBytes: limit, autocheckpointPages: defaultHygienePolicy.walAutocheckpoint, walCeiling: defaultWriteOptions.walCeiling, pageSize }
  if (walBytes > limit) {
    return {
      id: 'wal-over-limit',
      severity: 'warning',
      title: `The WAL is ${mb(walBytes)}, past its limit of ${mb(limit)}`,
      detail: `kanban-db checkpoints once the -wal passes ${defaultWriteOptions.walCeiling} x wal_autocheckpoint (${defaultHygienePolicy.walAutocheckpoint} pages of ${pageSize} bytes). It keeps growing when a reader holds an old snapshot (a long read transaction, an iterator not run to the end) or a writer turned checkpoints off; reads slow down as it grows.`,
      action: 'Find the long-lived reader among the processes holding the board (held-open) and end its read; the next checkpoint (any kanban-db writer, the dispatcher) then truncates the WAL.',
      data,
    }
  }
  return { id: 'wal-size', severity: 'ok', title: `The WAL is ${mb(walBytes)} (limit ${mb(limit)})`, detail: 'Checkpoints keep up.', data }
}

function quarantineFindings(realPath: string, corrupt: boolean): DoctorFinding[] {
  const prefix = `${basename(realPath)}.corrupt-`
  let copies: string[] = []
  try {
    copies = readdirSync(dirname(realPath)).filter((name) => name.startsWith(prefix) && !name.endsWith('-wal')).sort()
  } catch {
    // An unreadable directory hides the copies only.
  }
  const findings: DoctorFinding[] = []
  if (corrupt) {
    const policy = defaultQuarantinePolicy
    findings.push({
      id: 'board-quarantined',
      severity: 'error',
      title: 'A dispatcher keeps this board in quarantine',
      detail: `The file is damaged, so every dispatcher supervising it holds it closed and never writes to it, probing it again after ${ago(policy.initialBackoffMs)}, doubling up to ${ago(policy.maxBackoffMs)}; workers get no tasks from it. It leaves quarantine when the file changes (a restore) or a probe finds it healthy.`,
      action: 'Restore the board from a backup in place (stop writers, replace the file and remove its old -wal); the dispatcher notices the change and opens it again.',
      data: { copies, backoff: policy },
    })
  }
  if (copies.length > 0) {
    findings.push({
      id: 'corrupt-copies-kept',
      severity: corrupt ? 'info' : 'warning',
      title: `${copies.length} copy(ies) of a damaged version of this board lie beside it`,
      detail: copies.join('\n'),
      action: corrupt ? 'Keep them to investigate or to salvage rows (sqlite3 .recover).' : 'The board was found damaged before and has been restored since: check no rows were lost, then delete the copies.',
      data: { copies },
    })
  }
  if (!corrupt && copies.length === 0) findings.push({ id: 'quarantine', severity: 'ok', title: 'Not in quarantine', detail: 'The file is intact and no damaged copy lies beside it.' })
  return findings
}

/** A file SQLite cannot read at all is damaged: the copies core kept of it are all that is left to report. */
function copiesOfDamage(realPath: string): DoctorFinding[] {
  return quarantineFindings(realPath, true).filter((finding) => finding.id === 'corrupt-copies-kept')
}

async function schemaFindings(view: ReadOnlyView): Promise<{ findings: DoctorFinding[]; current: boolean }> {
  const connection = view.connection
  const version = readSchemaVersion(connection)
  try {
    const { createAdapter } = await import('@kanban-db/adapter-node-sqlite')
    assertBoardOrEmpty(connection, await schemaShapes((await createAdapter()) as SqliteAdapter, migrations))
  } catch (error) {
    if (!(error instanceof ForeignDatabase)) throw error
    return {
      current: false,
      findings: [{
        id: 'foreign-database',
        severity: 'error',
        title: 'This SQLite file is not a kanban-db board',
        detail: error.message,
        action: 'Check the path; a board from the Python agent gateway is moved over with kanban-db import.',
        data: (error as { details?: unknown }).details,
      }],
    }
  }
  const data = { version, latest: LATEST_SCHEMA_VERSION }
  if (version === 0) {
    return { current: false, findings: [{ id: 'board-empty', severity: 'info', title: 'The file is an empty database, not yet a board', detail: 'kanban-db creates the board\'s tables at its first writable open.', data }] }
  }
  if (version < LATEST_SCHEMA_VERSION) {
    return {
      current: false,
      findings: [{
        id: 'schema-outdated',
        severity: 'warning',
        title: `The board has schema version ${version}; this kanban-db needs ${LATEST_SCHEMA_VERSION}`,
        detail: 'Read-only commands refuse it until it is migrated; processes of an older kanban-db keep working on it.',
        action: 'Open it once writable with this kanban-db (a dispatcher, or kanban-db add/check): migrations run forward, under a lock, in their own transactions. Upgrade the old processes too.',
        data,
      }],
    }
  }
  if (version > LATEST_SCHEMA_VERSION) {
    return {
      current: false,
      findings: [{ id: 'schema-newer', severity: 'error', title: `The board has schema version ${version}, newer than this kanban-db (${LATEST_SCHEMA_VERSION})`, detail: 'A newer kanban-db has migrated it; this one refuses to open it.', action: 'Upgrade this kanban-db to the version the other processes run.', data }],
    }
  }
  return { current: true, findings: [{ id: 'schema-version', severity: 'ok', title: `Schema version ${version} (current)`, detail: 'The board and this kanban-db agree.', data }] }
}

function mb(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
