import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { openTestBoard } from './helpers.js'

// createTasks writes runs of plain inputs (no idempotency key, no id of the caller's, no
// dependencies) with multi-row INSERTs of 50 rows; these cases pin what a batch must still be.
for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`createTasks batches on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('a mixed batch longer than one multi-row INSERT comes back in input order, each task with one created event in that order', async () => {
      const { board, clock } = await openTestBoard(await create())
      const existing = await board.createTask({ title: 'existing', idempotencyKey: 'kept' })
      const inputs = [
        ...Array.from({ length: 60 }, (_, i) => ({ title: `plain ${i}`, priority: i % 4, meta: { i } })),
        { id: 'named', title: 'named' },
        { title: 'again', idempotencyKey: 'kept' },
        { title: 'after named', dependsOn: ['named'] },
        { title: 'triage', triage: true },
        { title: 'later', dueAt: clock.now + 60_000 },
        ...Array.from({ length: 51 }, (_, i) => ({ title: `tail ${i}`, body: `b${i}` })),
      ]
      const created = await board.createTasks(inputs)
      expect(created.map((task) => task.title)).toEqual(inputs.map((input) => (input.title === 'again' ? 'existing' : input.title)))
      expect(created[61]).toEqual(existing)
      expect(created.slice(0, 60).map((task) => [task.status, task.priority, task.meta])).toEqual(
        Array.from({ length: 60 }, (_, i) => ['ready', i % 4, { i }]),
      )
      expect(created[62]!.status).toBe('todo')
      expect(created[63]!.status).toBe('triage')
      expect(created[64]!.status).toBe('scheduled')
      expect(created.at(-1)).toMatchObject({ title: 'tail 50', body: 'b50', status: 'ready', attempts: 0, maxAttempts: 3 })
      for (const task of created) expect(await board.getTask(task.id)).toEqual(task)
      const events = (await board.events({ limit: 1000 })).filter((event) => event.kind === 'created')
      const fresh = created.filter((task) => task.id !== existing.id)
      expect(events.map((event) => [event.taskId, event.toStatus])).toEqual([
        [existing.id, 'ready'],
        ...fresh.map((task) => [task.id, task.status]),
      ])
      expect(events.find((event) => event.taskId === created[62]!.id)!.payload).toEqual({ dependsOn: ['named'] })
      expect(events.find((event) => event.taskId === created[0]!.id)!.payload).toBeNull()
    })

    it('a batch that fails after a multi-row INSERT leaves nothing behind', async () => {
      const { board } = await openTestBoard(await create())
      await expect(board.createTasks([...Array.from({ length: 55 }, (_, i) => ({ title: `t${i}` })), { title: 'bad', dependsOn: ['missing'] }])).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' })
      expect(await board.listTasks()).toEqual([])
      expect(await board.events()).toEqual([])
    })
  })
}
