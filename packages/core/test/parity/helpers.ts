import { join } from 'node:path'
import { openBoard, type Board, type SqliteAdapter } from '@kanban-db/core'
import { tempDir } from '../temp-dir.js'
import { Child, repositoryRoot } from '../board/children.js'

const CHILD_SCRIPT = new URL('./fixtures/parity-child.mjs', import.meta.url).href

/** The adapters whose database file other processes can share (sql.js keeps it in one process). */
export function sharesFiles(name: string): boolean {
  return name !== 'sql.js'
}

/** A board on a fresh file (real clock, generous busy budget) for cross-process tests. */
export async function openSharedBoard(adapter: SqliteAdapter): Promise<{ board: Board; path: string }> {
  const path = join(tempDir(), 'board.db')
  const board = await openBoard({ path, adapter, write: { busyRetryBudgetMs: 100_000 } })
  return { board, path }
}

/** Forks `count` parity children and opens the board in each. */
export async function startChildren(count: number, adapter: SqliteAdapter, path: string): Promise<Child[]> {
  const children = Array.from({ length: count }, () => new Child(CHILD_SCRIPT))
  for (const child of children) child.send({ type: 'open', path, moduleName: adapter.identity.moduleName, resolveFrom: repositoryRoot })
  await Promise.all(children.map((child) => child.next('ready')))
  return children
}

/** Throws the control failure every hazard test uses when its control shows no damage. */
export function controlDidNotReproduce(what: string): never {
  throw new Error(`control did not reproduce the hazard: ${what}`)
}
