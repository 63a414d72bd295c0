import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { isEngineSubject, postgresUrl } from '../engines.js'
import { repositoryRoot } from '../board/children.js'
import type { Board, SqliteAdapter } from '@kanban-db/core'
import { openWorkerBoard, stopAfterTest, until } from './helpers.js'

const CREATE_TASK = new URL('./fixtures/create-task.mjs', import.meta.url).pathname

/** Runs the fixture that creates one task on `board` from another process. */
async function createFromAnotherProcess(board: Board, subject: unknown, title: string): Promise<void> {
  const spec = isEngineSubject(subject)
    ? { url: postgresUrl, schema: board.location.split(' schema ').at(-1), resolveFrom: repositoryRoot, title }
    : { path: board.location, moduleName: (subject as SqliteAdapter).identity.moduleName, resolveFrom: repositoryRoot, title }
  const child = spawn(process.execPath, [CREATE_TASK, JSON.stringify(spec)], { cwd: repositoryRoot, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`the writer process failed (${code}): ${stderr}`)
}

// pollMs of a day: within a test's time only a wake-up (or a computed due time) can start a task.
const NEVER_POLL = { pollMs: 24 * 60 * 60 * 1000 }

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`an idle board.work wakes on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('at once for a task created in the same process', async () => {
      const board = await openWorkerBoard(await create())
      const started: string[] = []
      stopAfterTest(board.work({ workerId: 'w-1', ...NEVER_POLL }, (task) => void started.push(task.id)))
      await new Promise((resolve) => setTimeout(resolve, 50))
      const task = await board.createTask({ title: 'new' })
      await until('the task started', () => started.includes(task.id))
    })

    it('when a scheduled task comes due or a backoff ends (neither announces itself)', async () => {
      const board = await openWorkerBoard(await create())
      const started: string[] = []
      let calls = 0
      stopAfterTest(
        board.work({ workerId: 'w-1', ...NEVER_POLL, retry: { baseMs: 300, jitter: false } }, (task) => {
          started.push(task.id)
          if (task.title === 'fails once' && ++calls === 1) throw new Error('once')
        }),
      )
      const due = await board.createTask({ title: 'due soon', dueAt: Date.now() + 400 })
      const flaky = await board.createTask({ title: 'fails once' })
      await until('both ran to the end', async () => (await board.listTasks({ status: 'done' })).length === 2)
      expect(started.filter((id) => id === flaky.id)).toHaveLength(2)
      expect(started).toContain(due.id)
    })

    it('for a task another process created', async (context) => {
      const subject = await create()
      const crossProcess = isEngineSubject(subject) ? name === 'postgres' : (subject as SqliteAdapter).capabilities.sharedFile
      if (!crossProcess) {
        context.skip(`${name} shares no board between processes (${isEngineSubject(subject) ? 'in-memory PGlite' : 'sharedFile: false'})`)
        return
      }
      const board = await openWorkerBoard(subject)
      const started: string[] = []
      stopAfterTest(board.work({ workerId: 'w-1', ...NEVER_POLL }, (task) => void started.push(task.title)))
      await new Promise((resolve) => setTimeout(resolve, 100))
      await createFromAnotherProcess(board, subject, 'from another process')
      await until('the task started', () => started.includes('from another process'))
    })
  })
}
