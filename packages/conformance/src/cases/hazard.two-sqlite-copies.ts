import { strict as assert } from 'node:assert'
import { MixedSqliteCopies } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import { loadAdapter, openHygienicConnection } from '@kanban-db/core/internal'
import type { CaseContext, ConformanceCase } from '../case.js'
import { damageOf, deletedSidecarFds, ghostCheckCode, hazardBoardOptions, insertRows, openHazardBoard, readInFreshProcess, type BoardView } from './hazard.board-scenario.js'
import { NODE_SQLITE_COPY, nodeSqliteCopy } from './hazard.node-sqlite-copy.js'

/**
 * H1 (docs/sqlite-wal-facts.md §2): a board held open by the adapter under test, then a
 * second SQLite copy in the same process (node:sqlite, built into Node) opens the same file, runs one
 * query and closes. Its close drops this process's POSIX locks; a third process's open/write/close
 * then unlinks the live sidecars and later commits of this process are invisible or lost.
 * Control: the second copy opens the file directly. Protection: it goes through the open policy,
 * which refuses it with MixedSqliteCopies before touching the file.
 */
export const twoSqliteCopies: ConformanceCase = {
  id: 'hazard.two-sqlite-copies',
  title: 'a second SQLite copy in one process is refused on a held file (H1); unprotected, commits are lost',
  tier: 'corruption',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 60_000,
  async run(context) {
    const other = await secondCopy(context)
    const control = await scenario(context, 'control', async (path) => {
      const foreign = await other.open(path)
      foreign.prepare('SELECT count(*) AS n FROM items').all([])
      foreign.close()
    })
    context.note(`control (${context.adapter.identity.name} + ${other.identity.name} ${other.identity.sqliteVersion} in one process): ${control.damage.join('; ') || 'no damage'}`)
    if (control.damage.length === 0) throw new Error('control did not reproduce the hazard: a second SQLite copy closing on the file lost nothing')
    assert.ok(control.detected, 'checkGhost did not notice the lost locks right after the second copy closed')
    context.note(`detected: checkGhost raised ${control.detected} right after the second copy closed, before the third process wrote`)

    const protectedRun = await scenario(context, 'protected', async (path) => {
      await assert.rejects(openHygienicConnection(other, path, { policy: hazardBoardOptions.policy }), MixedSqliteCopies)
    })
    assert.deepEqual(protectedRun.damage, [], `the refused second copy still caused damage: ${protectedRun.damage.join('; ')}`)
    assert.equal(protectedRun.detected, undefined, 'checkGhost raised on a protected board')
    context.note('protected: the second copy was refused with MixedSqliteCopies; 0 deleted sidecar fds, every row visible')
  },
}

async function scenario(context: CaseContext, name: string, intrude: (path: string) => Promise<void>): Promise<{ damage: string[]; detected: string | undefined }> {
  const path = context.path(`${name}.db`)
  const board = await openHazardBoard(context.adapter, path)
  const expected: string[] = []
  let deleted = 0
  let detected: string | undefined
  const views: Record<string, BoardView> = {}
  try {
    expected.push(...insertRows(board.connection, 'held-before', 5))
    await intrude(path)
    detected = ghostCheckCode(board)
    const third = await context.child<{ names: string[] }>('hygiene-write-rows', { path, count: 5, prefix: 'third-process' })
    expected.push(...third.names)
    expected.push(...insertRows(board.connection, 'held-after', 5))
    deleted = deletedSidecarFds(path)
    views['while the board is open'] = await readInFreshProcess(context, path)
  } finally {
    board.close()
  }
  views['after the board closed'] = await readInFreshProcess(context, path)
  return { damage: damageOf(expected, views, deleted), detected }
}

/**
 * A SQLite copy other than the adapter's own: node:sqlite (built into Node) for any other adapter;
 * for node:sqlite itself, better-sqlite3 where its adapter package can be loaded from here. Without
 * one the case is skipped with that reason: the hazard needs two copies in one process.
 */
async function secondCopy(context: CaseContext): Promise<SqliteAdapter> {
  if (context.adapter.identity.sqliteCopy !== NODE_SQLITE_COPY) return nodeSqliteCopy()
  try {
    const betterSqlite3 = await loadAdapter('@kanban-db/adapter-better-sqlite3', context.resolveFrom)
    if (betterSqlite3.identity.sqliteCopy !== context.adapter.identity.sqliteCopy) return betterSqlite3
  } catch {
    // Not installed beside the suite: skipped below.
  }
  return context.skip(
    `needs a second SQLite copy in the same process, and none is installed here: the adapter under test uses node:sqlite's copy, and @kanban-db/adapter-better-sqlite3 ` +
      `(the other copy this case uses) cannot be loaded from ${context.resolveFrom}. Not a capability the adapter lacks: install @kanban-db/adapter-better-sqlite3 beside it to run this case.`,
  )
}
