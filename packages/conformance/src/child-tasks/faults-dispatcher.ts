import { Dispatcher, type DispatcherEvent, type WorkerExit } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'

/**
 * A dispatcher under a fault plan: it supervises one board whose `tasks` tasks are all ready, and
 * spawns a stand-in worker for each claim that exits with code 0 at once (the dispatcher then
 * completes the task when it reaps it). Ticks are driven here, one after another, until every task
 * was spawned and recorded, or `maxTicks` ran out. Returns the counts of spawned and recorded
 * workers, the errors the dispatcher reported (it carries on after each), and any quarantine.
 */
export async function faultsDispatcher(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  const path = String(args.path)
  // With armAfter, the parent attaches its fault plan once that many tasks are recorded (runTaskArmed).
  const armAfter = args.armAfter === undefined ? undefined : Number(args.armAfter)
  let armed = false
  const tasks = Number(args.tasks)
  const maxTicks = Number(args.maxTicks ?? 400)
  const events: DispatcherEvent[] = []
  const dispatcher = new Dispatcher({
    boards: [path],
    adapter,
    concurrency: 4,
    spawn: () => ({ pid: process.pid, exit: Promise.resolve<WorkerExit>({ code: 0, signal: null }) }),
    events: (event) => events.push(event),
  })
  let recorded = 0
  let ticks = 0
  try {
    while (ticks < maxTicks) {
      await dispatcher.tick()
      ticks += 1
      recorded = events.filter((event) => event.type === 'recorded' && event.outcome === 'written').length
      if (armAfter !== undefined && !armed && recorded >= armAfter) {
        armed = true
        await channel.send({ armed: process.pid })
        await channel.receive()
      }
      const status = dispatcher.status()
      if (recorded >= tasks && status.workers === 0 && status.boards.every((board) => board.unrecorded === 0)) break
    }
  } finally {
    await dispatcher.stop()
  }
  const errors = events.flatMap((event) => (event.type === 'error' ? [{ phase: event.phase, kind: event.kind, code: event.code, message: event.message.slice(0, 200) }] : []))
  return {
    pid: process.pid,
    ticks,
    spawned: events.filter((event) => event.type === 'spawned').length,
    recorded,
    quarantined: events.filter((event) => event.type === 'quarantined').length,
    errors,
    state: dispatcher.status().boards[0]?.state,
  }
}
