import { describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import type { SqliteAdapter } from '@kanban-db/core'
import { boardSubjects } from '../adapters.js'
import { wrapExec } from '../write/wrapping-adapter.js'
import { expectRefused, openTestBoard, worker } from './helpers.js'

/** Wraps an adapter so tests can count the COMMITs its connections run. */
function countingCommits(adapter: SqliteAdapter): { adapter: SqliteAdapter; commits: () => number } {
  let commits = 0
  const wrapped = wrapExec(adapter, (text, real) => {
    if (/^\s*COMMIT\s*$/i.test(text)) commits++
    real(text)
  })
  return { adapter: wrapped, commits: () => commits }
}

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`dependencies on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it.skipIf(engine !== 'sqlite')('releases a dependent exactly when its last dependency is done, in the completing commit (counts SQLite COMMITs)', async () => {
      const counting = countingCommits((await create()) as SqliteAdapter)
      const { board } = await openTestBoard(counting.adapter)
      const a = await board.createTask({ title: 'a', priority: 2 })
      const b = await board.createTask({ title: 'b', priority: 1 })
      const c = await board.createTask({ title: 'c', dependsOn: [a.id, b.id] })
      expect(c.status).toBe('todo')
      const claimA = (await board.claimNext(worker))!
      const claimB = (await board.claimNext(worker))!
      await board.complete(a.id, claimA.claimToken)
      expect((await board.getTask(c.id))!.status).toBe('todo')
      const before = counting.commits()
      await board.complete(b.id, claimB.claimToken)
      expect(counting.commits() - before).toBe(1)
      expect((await board.getTask(c.id))!.status).toBe('ready')
      const tail = (await board.events()).slice(-2)
      expect(tail.map((event) => [event.kind, event.taskId])).toEqual([['completed', b.id], ['promoted', c.id]])
    })

    it('rolls the completion back when releasing a dependent fails (one transaction)', async () => {
      const { board } = await openTestBoard(await create())
      const a = await board.createTask({ title: 'a' })
      const c = await board.createTask({ title: 'c', dependsOn: [a.id] })
      const claim = (await board.claimNext(worker))!
      // Make the promotion itself fail, inside the completing transaction.
      await board.writeTxn(async (trx) => {
        if (engine === 'sqlite') {
          await sql`CREATE TRIGGER refuse_promotion BEFORE INSERT ON events WHEN NEW.kind = 'promoted' BEGIN SELECT RAISE(ABORT, 'promotion refused'); END`.execute(trx)
        } else {
          await sql`CREATE FUNCTION refuse_promotion() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.kind = 'promoted' THEN RAISE EXCEPTION 'promotion refused'; END IF; RETURN NEW; END $$`.execute(trx)
          await sql`CREATE TRIGGER refuse_promotion BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_promotion()`.execute(trx)
        }
      })
      // better-sqlite3 and node:sqlite report SQLITE_CONSTRAINT_TRIGGER (SqliteFailure); sql.js only
      // the message; Postgres P0001 (PostgresFailure).
      const refused = await expectRefused(board, '*', () => board.complete(a.id, claim.claimToken))
      expect(refused.message).toContain('promotion refused')
      expect((await board.getTask(a.id))!.status).toBe('running')
      expect((await board.getTask(c.id))!.status).toBe('todo')
      await board.writeTxn((trx) => (engine === 'sqlite' ? sql`DROP TRIGGER refuse_promotion` : sql`DROP TRIGGER refuse_promotion ON events`).execute(trx))
      await board.complete(a.id, claim.claimToken)
      expect((await board.getTask(c.id))!.status).toBe('ready')
    })

    it('adds dependencies: ready goes back to todo, done dependencies change nothing, duplicates are no-ops', async () => {
      const { board } = await openTestBoard(await create())
      const a = await board.createTask({ title: 'a', priority: 9 })
      const b = await board.createTask({ title: 'b' })
      expect(await board.addDependency(b.id, a.id)).toMatchObject({ status: 'todo' })
      const eventsBefore = (await board.events()).length
      expect(await board.addDependency(b.id, a.id)).toMatchObject({ status: 'todo' })
      expect(await board.events()).toHaveLength(eventsBefore)
      expect((await board.events()).at(-1)).toMatchObject({ kind: 'dependency_added', fromStatus: 'ready', toStatus: 'todo', payload: { dependsOnId: a.id } })
      const claim = (await board.claimNext(worker))!
      await board.complete(a.id, claim.claimToken)
      const d = await board.createTask({ title: 'd' })
      expect(await board.addDependency(d.id, a.id)).toMatchObject({ status: 'ready' })
    })

    it('refuses cycles (direct, transitive, self) and dependencies of running or finished tasks', async () => {
      const { board } = await openTestBoard(await create())
      const a = await board.createTask({ title: 'a' })
      const b = await board.createTask({ title: 'b', dependsOn: [a.id] })
      const c = await board.createTask({ title: 'c', dependsOn: [b.id] })
      await expectRefused(board, 'DEPENDENCY_CYCLE', () => board.addDependency(a.id, b.id))
      await expectRefused(board, 'DEPENDENCY_CYCLE', () => board.addDependency(a.id, c.id))
      await expectRefused(board, 'DEPENDENCY_CYCLE', () => board.addDependency(a.id, a.id))
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.addDependency(a.id, 't_nope'))
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.addDependency('t_nope', a.id))
      const claim = (await board.claimNext(worker))!
      const other = await board.createTask({ title: 'other' })
      await expectRefused(board, 'INVALID_TRANSITION', () => board.addDependency(claim.id, other.id))
      await board.complete(claim.id, claim.claimToken)
      await expectRefused(board, 'INVALID_TRANSITION', () => board.addDependency(claim.id, other.id))
    })

    it('unblocks to todo while a dependency is not done', async () => {
      const { board } = await openTestBoard(await create())
      const a = await board.createTask({ title: 'a' })
      const b = await board.createTask({ title: 'b' })
      await board.block(b.id, 'x')
      expect(await board.addDependency(b.id, a.id)).toMatchObject({ status: 'blocked' })
      expect(await board.unblock(b.id)).toMatchObject({ status: 'todo' })
    })
  })
}
