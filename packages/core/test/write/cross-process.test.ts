import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { openBoard, type Board } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { Child, repositoryRoot } from '../board/children.js'
import { tempDir } from '../temp-dir.js'

// The write path across processes (issue 11): kanban-db waits for another process's write lock by
// its own polling, with no lock file and no leader. Children load the BUILT packages: rebuild core
// (`pnpm --filter @kanban-db/core build`) before running these after changing it.

const WRITER = new URL('./fixtures/writer.mjs', import.meta.url).href

const children: Child[] = []
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.reap()))
})

function spawn(): Child {
  const child = new Child(WRITER)
  children.push(child)
  return child
}

async function titles(board: Board): Promise<string[]> {
  const rows = await board.db.selectFrom('tasks').select('title').orderBy('title').execute()
  return rows.map((row) => row.title)
}

for (const { name, create } of bundledAdapters.filter((adapter) => adapter.name !== 'sql.js')) {
  describe(`the write path across processes on ${name}`, () => {
    it('a writer killed while it holds the write lock stops nobody, and leaves nothing behind (control: it held the lock)', async () => {
      const adapter = await create()
      const dir = tempDir()
      const path = join(dir, 'b.db')
      const board = await openBoard({ path, adapter })
      const impatient = await openBoard({ path, adapter, write: { busyRetryBudgetMs: 50 } })
      try {
        const holder = spawn()
        const waiters = [spawn(), spawn()]
        const all = [holder, ...waiters]
        all.forEach((child, index) => child.send({ type: 'open', path, moduleName: adapter.identity.moduleName, resolveFrom: repositoryRoot, name: `w${index}` }))
        await Promise.all(all.map((child) => child.next('ready')))

        holder.send({ type: 'hold' })
        await holder.next('holding')
        // Control: the killed process really holds the write lock: a write with a short budget fails.
        await expect(impatient.createTask({ title: 'refused' })).rejects.toMatchObject({ code: 'BUSY' })

        for (const waiter of waiters) waiter.send({ type: 'write', count: 20 })
        await Promise.all(waiters.map((waiter) => waiter.next('started')))
        holder.process.kill('SIGKILL')
        await holder.exited

        const results = await Promise.all(waiters.map((waiter) => waiter.next('written')))
        expect(results.map((result) => result['busy'])).toEqual([0, 0])
        await board.createTask({ title: 'parent after the kill' })
        const written = await titles(board)
        expect(written).not.toContain('held by w0')
        expect(written.filter((title) => title.startsWith('w1 ')).length).toBe(20)
        expect(written.filter((title) => title.startsWith('w2 ')).length).toBe(20)
        expect(written).toContain('parent after the kill')
      } finally {
        await impatient.close()
        await board.close()
      }
    })

    it('several processes writing at once all finish, with no Busy reaching a caller and nothing lost', async () => {
      const adapter = await create()
      const path = join(tempDir(), 'b.db')
      const board = await openBoard({ path, adapter })
      try {
        const writers = [spawn(), spawn(), spawn()]
        writers.forEach((child, index) => child.send({ type: 'open', path, moduleName: adapter.identity.moduleName, resolveFrom: repositoryRoot, name: `p${index}` }))
        await Promise.all(writers.map((child) => child.next('ready')))
        for (const writer of writers) writer.send({ type: 'write', count: 100 })
        const parentWrites = Array.from({ length: 100 }, (_, index) => board.createTask({ title: `parent ${index}` }))
        const results = await Promise.all(writers.map((writer) => writer.next('written')))
        await Promise.all(parentWrites)
        expect(results.map((result) => result['busy'])).toEqual([0, 0, 0])
        const written = await titles(board)
        for (const prefix of ['p0 ', 'p1 ', 'p2 ', 'parent ']) expect(written.filter((title) => title.startsWith(prefix)).length).toBe(100)
      } finally {
        await board.close()
      }
    })
  })
}
