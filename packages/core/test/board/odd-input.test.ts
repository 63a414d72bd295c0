import { execFileSync } from 'node:child_process'
import { chmodSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { openBoard, type JsonObject } from '@kanban-db/core'
import { boardSubjects } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { expectRefused, openTestBoard, worker } from './helpers.js'

/** `{ a: { a: ... } }`, `depth` objects deep. */
function nested(depth: number): JsonObject {
  let value: JsonObject = {}
  for (let i = 1; i < depth; i++) value = { a: value }
  return value
}

const LONE_HIGH = 'before \ud800 after'
const LONE_LOW = '\udc00'

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`odd input on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('refuses JSON nested deeper than 100 levels with InvalidInput (meta 100,000 deep threw a RangeError), writing nothing', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't', meta: nested(100) })
      expect(task.meta).toEqual(nested(100))
      for (const call of [
        () => board.createTask({ title: 'deep', meta: nested(100_000) }),
        () => board.createTask({ title: 'deep', meta: nested(101) }),
        () => board.createTask({ title: 'deep', meta: { list: JSON.parse('['.repeat(200) + ']'.repeat(200)) as never } }),
      ]) {
        const refused = await expectRefused(board, 'INVALID_INPUT', call)
        expect(refused.message).toMatch(/deeper than 100 levels.*Nothing was written/)
      }
      const claim = (await board.claimNext(worker))!
      await expectRefused(board, 'INVALID_INPUT', () => board.complete(claim.id, claim.claimToken, nested(5_000) as never))
    })

    it('refuses a lone surrogate or a NUL in text (titles, bodies, comments), writing nothing', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      for (const [field, call] of [
        ['input.title', () => board.createTask({ title: LONE_HIGH })],
        ['input.title', () => board.createTask({ title: LONE_LOW })],
        ['input.body', () => board.createTask({ title: 't', body: `x${LONE_LOW}` })],
        ['input.title', () => board.createTask({ title: 'a\u0000b' })],
        ['comment.body', () => board.addComment(task.id, { body: LONE_HIGH })],
      ] as const) {
        const refused = await expectRefused(board, 'INVALID_INPUT', call)
        expect(refused.message).toContain(`Invalid ${field}`)
        expect(refused.message).toMatch(/lone surrogate|NUL/)
      }
      // A well-formed pair (an emoji) is fine.
      expect((await board.createTask({ title: 'ok \ud83d\ude00' })).title).toBe('ok \ud83d\ude00')
    })

    it('stores lone surrogates and NUL inside JSON (meta, results) exactly, and reads them back the same', async () => {
      const { board } = await openTestBoard(await create())
      const meta = { [LONE_LOW]: LONE_HIGH, nul: 'a\u0000b', list: [LONE_LOW, '\ud83d\ude00'] }
      const task = await board.createTask({ title: 'json', meta })
      expect(task.meta).toEqual(meta)
      expect((await board.getTask(task.id))!.meta).toEqual(meta)
      const claim = (await board.claimNext(worker))!
      await board.complete(claim.id, claim.claimToken, { out: LONE_HIGH, nul: '\u0000' })
      expect((await board.getTask(task.id))!.result).toEqual({ out: LONE_HIGH, nul: '\u0000' })
    })

    it('health() racing close() rejects with BoardClosed, not a driver error', async () => {
      const { board } = await openTestBoard(await create())
      await board.createTask({ title: 't' })
      const racing = board.health()
      const closing = board.close()
      const outcome = await racing.then(
        () => 'resolved',
        (error: { code?: string; name?: string; message?: string }) => error.code ?? `${error.name}: ${error.message}`,
      )
      await closing
      expect(['resolved', 'BOARD_CLOSED']).toContain(outcome)
      await expect(board.health()).rejects.toMatchObject({ code: 'BOARD_CLOSED' })
    })
  })
}

describe('odd input on SQLite', () => {
  it('health() started at every await of a closing board rejects with BoardClosed or resolves', async () => {
    const adapter = await createBetterSqlite3()
    const outcomes = new Set<string>()
    for (let delay = 0; delay < 12; delay++) {
      const board = await openBoard({ path: join(tempDir(), `board-${delay}.db`), adapter })
      await board.createTask({ title: 't' })
      // The outcome's handlers are attached at once: a health() refused while close() runs would
      // otherwise be an unhandled rejection until the test read it.
      const racing = board.health().then(() => 'resolved', (error: { code?: string; name?: string; message?: string }) => error.code ?? `${error.name}: ${error.message}`)
      for (let turn = 0; turn < delay; turn++) await Promise.resolve()
      await board.close()
      outcomes.add(await racing)
    }
    expect([...outcomes].filter((outcome) => outcome !== 'resolved' && outcome !== 'BOARD_CLOSED')).toEqual([])
  })

  it('ReadOnlyBoard at a writable open of a file this process cannot write says what to do', async () => {
    const adapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    const board = await openBoard({ path, adapter })
    await board.createTask({ title: 't' })
    await board.close()
    // Not writable by this process: read-only mode, or for root (which writes through any mode) immutable.
    const root = process.getuid?.() === 0
    const protect = (on: boolean) => (root ? execFileSync('chattr', [on ? '+i' : '-i', path]) : chmodSync(path, on ? 0o444 : 0o644))
    protect(true)
    let refused: (Error & { code?: string }) | undefined
    try {
      const opened = await openBoard({ path, adapter }).catch((error: Error & { code?: string }) => {
        refused = error
        return undefined
      })
      if (opened !== undefined) {
        refused = await opened.createTask({ title: 'u' }).then(() => undefined, (error: Error & { code?: string }) => error)
        await opened.close()
      }
    } finally {
      protect(false)
    }
    expect(refused?.code).toBe('READ_ONLY_BOARD')
    expect(refused!.message).not.toMatch(/open it without readonly/i)
    expect(refused!.message).toMatch(/cannot write the board file/)
    expect(refused!.message).toMatch(/readonly: true/)
  })
})
