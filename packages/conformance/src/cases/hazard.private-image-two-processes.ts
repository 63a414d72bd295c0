import { strict as assert } from 'node:assert'
import { BoardOpenElsewhere, openBoard } from '@kanban-db/core'
import type { ConformanceCase } from '../case.js'

/** What the `hold-board` child sends once it has tried to open the board and write its task. */
interface HoldMessage {
  readonly opened: boolean
  readonly code?: string
  readonly message?: string
}

/**
 * Two processes open the same board file and each writes a task while the other holds the board
 * open: no acknowledged write may be lost. With a shared file (better-sqlite3, node:sqlite) both
 * opens succeed and both tasks are on the board afterwards. With a private image of the file
 * (sql.js, `sharedFile: false`) each process would write its own image back at close over the other's
 * acknowledged writes, so the second process must be refused with `BoardOpenElsewhere` (a lock the
 * kernel releases with its holder: a process opens the board again once the holder closed, and
 * after a holder was killed with SIGKILL). Control (private image only): two writable images of one
 * file, held at once, lose the first one's acknowledged write.
 */
export const privateImageTwoProcesses: ConformanceCase = {
  id: 'hazard.private-image-two-processes',
  title: 'two processes on one board file lose no acknowledged write: both share it, or the second is refused with BoardOpenElsewhere',
  tier: 'corruption',
  requires: [],
  timeoutMs: 90_000,
  async run(context) {
    const { adapter } = context
    const shared = adapter.capabilities.sharedFile
    if (!shared) {
      // Control: two writable images of one file at once (two raw connections in this process,
      // which the adapter's per-process hold allows) lose the first one's acknowledged write.
      const controlPath = context.path('control.db')
      const setup = await adapter.open(controlPath)
      setup.exec('CREATE TABLE notes (text TEXT)')
      setup.close()
      const a = await adapter.open(controlPath)
      const b = await adapter.open(controlPath)
      a.exec("INSERT INTO notes VALUES ('written through a')")
      b.exec("INSERT INTO notes VALUES ('written through b')")
      a.close()
      b.close()
      const check = await adapter.open(controlPath, { readonly: true })
      const rows = check.prepare('SELECT text FROM notes').all([]).map((row) => String(row.text))
      check.close()
      context.note(`control (two private images of one file): ${rows.join(', ')} survived`)
      if (rows.includes('written through a')) throw new Error('control did not reproduce the hazard: both images\' writes survived')
    } else {
      context.note(`${adapter.identity.name} shares the file (sharedFile): both processes must open the board and keep both writes; no control applies`)
    }

    const path = context.path('board.db')
    const first = context.spawn<unknown>('hold-board', { path, title: 'first process' })
    const firstOpen = (await first.receive()) as HoldMessage
    assert.equal(firstOpen.opened, true, `the first process could not open the board: ${firstOpen.code} ${firstOpen.message}`)
    const second = context.spawn<unknown>('hold-board', { path, title: 'second process' })
    const secondOpen = (await second.receive()) as HoldMessage
    const expected = ['first process']
    if (shared) {
      assert.equal(secondOpen.opened, true, `the second process could not open a shared board: ${secondOpen.code} ${secondOpen.message}`)
      expected.push('second process')
      second.send('close')
      await second.result
    } else {
      assert.equal(secondOpen.opened, false, 'the second process opened the board while another process held its private image: one side\'s writes will be lost')
      assert.equal(secondOpen.code, 'BOARD_OPEN_ELSEWHERE', `the second process was refused with ${secondOpen.code} (${secondOpen.message}), not BOARD_OPEN_ELSEWHERE`)
      context.note(`second process refused: ${secondOpen.message}`)
      await second.result
      // In this process too, while the first process holds it.
      await assert.rejects(openBoard({ path, adapter }), BoardOpenElsewhere, 'this process opened the board while another process held its private image')
    }
    first.send('close')
    await first.result

    if (!shared) {
      // The lock goes with its holder: a close frees it, and so does a SIGKILL.
      const afterClose = context.spawn<unknown>('hold-board', { path, title: 'after the first closed' })
      const afterCloseOpen = (await afterClose.receive()) as HoldMessage
      assert.equal(afterCloseOpen.opened, true, `no process could open the board after its holder closed it: ${afterCloseOpen.code} ${afterCloseOpen.message}`)
      expected.push('after the first closed')
      afterClose.send('close')
      await afterClose.result
      const killed = context.spawn<unknown>('hold-board', { path, title: 'killed before its close (never written back)' })
      assert.equal(((await killed.receive()) as HoldMessage).opened, true, 'the holder to be killed could not open the board')
      await killed.kill('SIGKILL')
    }

    const board = await openBoard({ path, adapter })
    try {
      const titles = (await board.listTasks({ limit: 100 })).map((task) => task.title).sort()
      context.note(`on the board afterwards: ${titles.join(', ')}`)
      for (const title of expected) assert.ok(titles.includes(title), `the acknowledged write "${title}" was lost (the board has: ${titles.join(', ')})`)
    } finally {
      await board.close()
    }
  },
}
