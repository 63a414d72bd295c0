import { strict as assert } from 'node:assert'
import { existsSync, statSync } from 'node:fs'
import type { Capabilities, Capability, SqliteAdapter, SqliteConnection } from '@kanban-db/core/adapter'
import type { CaseContext, ConformanceCase } from '../case.js'

interface Manifest {
  readonly identity: SqliteAdapter['identity']
  readonly capabilities: Capabilities
  readonly knownFailures: Readonly<Record<string, string>>
}

interface ReadBack {
  readonly rows: { id: number; name: string }[]
  readonly integrity: string[]
}

/**
 * The adapter's declaration is what the planner trusts to skip cases, so it must be stable and
 * true. Stable: the same identity and capabilities before and after connections open and close,
 * and in a fresh process that loads the adapter by name. True: every capability the adapter
 * claims is shown by behaviour, never by echo. sql.js answers `PRAGMA journal_mode=WAL` with `wal`
 * yet writes no `-wal` file and shares nothing, so `wal` and `sharedFile` are proven by a second
 * connection and a second process reading what the first committed while it is still open.
 * A capability the adapter does not claim but shows is only noted (a conservative declaration
 * skips cases; an over-claim would run them on an engine that cannot keep the promise).
 */
export const capabilityManifest: ConformanceCase = {
  id: 'core.capability-manifest',
  title: 'identity and capabilities are stable across open/close and processes, and every claimed capability is shown by behaviour',
  tier: 'core',
  requires: [],
  timeoutMs: 60_000,
  async run(context) {
    const { adapter } = context
    const before = manifestOf(adapter)
    const shown: Record<Capability, boolean> = {
      sharedFile: await showsSharedFile(context),
      wal: await showsWal(context),
      crossProcessLock: await showsCrossProcessLock(context),
      onlineBackup: await showsOnlineBackup(context),
      workerThreads: await showsWorkerThreads(context),
    }
    const overClaims = (Object.keys(shown) as Capability[]).filter((name) => adapter.capabilities[name] && !shown[name])
    const underClaims = (Object.keys(shown) as Capability[]).filter((name) => !adapter.capabilities[name] && shown[name])
    context.note(`declared: ${formatCapabilities(adapter.capabilities)}`)
    context.note(`shown by behaviour: ${formatCapabilities(shown)}`)
    if (underClaims.length > 0) context.note(`shown but not declared (cases needing them are skipped): ${underClaims.join(', ')}`)
    assert.deepEqual(overClaims, [], `the adapter declares ${overClaims.join(', ')} but does not show it`)
    assert.deepEqual(manifestOf(adapter), before, 'the manifest changed after connections opened and closed')
    const inChild = await context.child<Manifest>('adapter-manifest')
    assert.deepEqual(inChild, before, 'a fresh process that loaded the adapter by name sees a different manifest')
  },
}

function manifestOf(adapter: SqliteAdapter): Manifest {
  return structuredClone({ identity: adapter.identity, capabilities: adapter.capabilities, knownFailures: adapter.knownFailures ?? {} })
}

function formatCapabilities(capabilities: Capabilities): string {
  return (Object.keys(capabilities) as Capability[]).map((name) => `${name}=${capabilities[name]}`).join(' ')
}

async function createItems(connection: SqliteConnection, names: readonly string[]): Promise<void> {
  connection.exec('create table items (id integer primary key, name text not null)')
  connection.exec('BEGIN IMMEDIATE')
  const insert = connection.prepare('insert into items (name) values (?)')
  for (const name of names) insert.run([name])
  connection.exec('COMMIT')
}

/** Another connection in this process and another process read a row the first committed, while it stays open. */
async function showsSharedFile(context: CaseContext): Promise<boolean> {
  const path = context.path('shared.db')
  const writer = await context.adapter.open(path)
  try {
    await createItems(writer, ['shared'])
    let sameProcess = false
    try {
      const reader = await context.adapter.open(path)
      try {
        sameProcess = reader.prepare('select name from items').all([]).some((row) => row.name === 'shared')
      } finally {
        reader.close()
      }
    } catch {
      sameProcess = false // no table: the second connection got a database of its own
    }
    const otherProcess = await context
      .child<ReadBack>('read-rows', { path, table: 'items' })
      .then((read) => read.rows.some((row) => row.name === 'shared'))
      .catch(() => false)
    context.note(`sharedFile probe: second connection sees the row: ${sameProcess}; another process sees it: ${otherProcess}`)
    return sameProcess && otherProcess
  } finally {
    writer.close()
  }
}

/** WAL for real: the pragma says so, a `-wal` sidecar holds the commit, and another process reads it. */
async function showsWal(context: CaseContext): Promise<boolean> {
  const path = context.path('wal.db')
  const writer = await context.adapter.open(path)
  try {
    const answer = context.adapter.setPragma(writer, 'journal_mode', 'WAL').toLowerCase()
    await createItems(writer, ['in-wal'])
    const walBytes = existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0 // stat only
    const otherProcess = await context
      .child<ReadBack>('read-rows', { path, table: 'items' })
      .then((read) => read.rows.some((row) => row.name === 'in-wal'))
      .catch(() => false)
    context.note(`wal probe: journal_mode=WAL answered '${answer}'; -wal holds ${walBytes} bytes; another process sees the commit: ${otherProcess}`)
    return answer === 'wal' && walBytes > 0 && otherProcess
  } finally {
    writer.close()
  }
}

/** A lock this process holds makes another process's attempt time out, and is free again after release. */
async function showsCrossProcessLock(context: CaseContext): Promise<boolean> {
  const lockPath = context.path('probe.lock')
  const lock = await context.adapter.acquireLock(lockPath, { timeoutMs: 10_000 })
  let refusedWhileHeld: { acquired: boolean; code?: string }
  try {
    refusedWhileHeld = await context.child('try-lock', { lockPath, timeoutMs: 200 })
  } finally {
    lock.release()
  }
  const afterRelease = await context.child<{ acquired: boolean }>('try-lock', { lockPath, timeoutMs: 10_000 })
  context.note(`lock probe: another process while held: ${JSON.stringify(refusedWhileHeld)}; after release: ${JSON.stringify(afterRelease)}`)
  return !refusedWhileHeld.acquired && refusedWhileHeld.code === 'LOCK_TIMEOUT' && afterRelease.acquired
}

/** `backup()` of an open connection produces a database with the committed rows, integrity ok. */
async function showsOnlineBackup(context: CaseContext): Promise<boolean> {
  const path = context.path('backup-source.db')
  const destination = context.path('backup-copy.db')
  const source = await context.adapter.open(path)
  try {
    await createItems(source, ['a', 'b'])
    try {
      await source.backup(destination)
    } catch (error) {
      context.note(`backup probe: backup() threw ${error instanceof Error ? error.message : String(error)}`)
      return false
    }
  } finally {
    source.close()
  }
  const read = await context.child<ReadBack>('read-rows', { path: destination, table: 'items' }).catch(() => undefined)
  return read !== undefined && read.rows.length === 2 && read.integrity[0] === 'ok'
}

/** A worker thread loads the adapter by name and reads a file this thread wrote. */
async function showsWorkerThreads(context: CaseContext): Promise<boolean> {
  const path = context.path('worker.db')
  const writer = await context.adapter.open(path)
  try {
    await createItems(writer, ['from-main'])
  } finally {
    writer.close()
  }
  const read = await context.spawnWorker<ReadBack>('read-rows', { path, table: 'items' }).result.catch(() => undefined)
  return read !== undefined && read.rows.some((row) => row.name === 'from-main')
}
