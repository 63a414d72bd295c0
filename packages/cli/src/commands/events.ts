import { InvalidInput, KanbanDbError, type Board, type BoardEvent } from '@kanban-db/core'
import { writeJson, writeJsonLine } from '../output/json.js'
import { eventLine, eventTable } from '../output/task-view.js'
import type { Command, CommandContext } from './command.js'
import { EXIT } from './exit-codes.js'
import { durationOption, integerOption, stringOption } from './values.js'
import { withBoard } from './with-board.js'
import { BoardFollower } from '../board-follower.js'

/**
 * The event id to read after: `--since` as an event id (`1234`), a time ago (`10m`) or a date
 * (`2026-12-01T08:00:00Z`); without it, so that the newest `limit` events come next.
 */
async function startAfter(board: Board, since: string | undefined, limit: number, taskId: string | undefined): Promise<number> {
  let query = board.db.selectFrom('events').select('id')
  if (taskId !== undefined) query = query.where('task_id', '=', taskId)
  if (since === undefined) {
    const row = await query.orderBy('id', 'desc').limit(1).offset(limit).executeTakeFirst()
    return row ? Number(row.id) : 0
  }
  if (/^\d+$/.test(since)) return Number(since)
  const at = /^\d+(\.\d+)?(ms|s|m|h|d)$/.test(since) ? Date.now() - durationOption('--since', since)! : Date.parse(since)
  if (!Number.isFinite(at)) throw new InvalidInput(`--since ${JSON.stringify(since)} is not an event id, a duration ago (10m, 2h) or a date (2026-12-01T08:00:00Z).`)
  const first = await query.where('created_at', '>=', at).orderBy('id').limit(1).executeTakeFirst()
  if (first) return Number(first.id) - 1
  const last = await board.db.selectFrom('events').select(({ fn }) => fn.max('id').as('id')).executeTakeFirst()
  return Number(last?.id ?? 0)
}

/** Errors `--follow` outlasts: the next read may well work (a server restarting, a lock held for a moment). */
const PASSING_ERRORS: ReadonlySet<string> = new Set(['CONNECTION_LOST', 'BUSY', 'TRANSIENT_IO'])

/**
 * Prints every event after `afterId` as it is written, until the command is stopped: a
 * {@link BoardFollower} reads at this board's wake-ups and at least every `pollMs`. A read that
 * fails with a passing error is reported on stderr and the next look reads again from the same
 * event; any other error ends the command.
 */
async function follow(context: CommandContext, board: Board, afterId: number, taskId: string | undefined, pollMs: number): Promise<void> {
  const print = (event: BoardEvent): void => {
    if (context.json) writeJsonLine(context.stdout, event)
    else context.stdout.write(`${eventLine(event, context.color)}\n`)
  }
  if (!context.json) context.stderr.write(context.color.dim(`Following ${board.location} (Ctrl-C stops)\n`))
  let follower: BoardFollower | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: unknown): void => {
        if (!KanbanDbError.isKanbanDbError(error) || !PASSING_ERRORS.has(error.code)) return reject(error)
        context.stderr.write(context.color.dim(`${error.name} (${error.code}): ${error.message.split('\n')[0]} Reading again after event ${follower?.position ?? afterId} within ${pollMs} ms.\n`))
      }
      if (context.signal.aborted) return resolve()
      context.signal.addEventListener('abort', () => resolve(), { once: true })
      BoardFollower.start(board, { after: afterId, pollMs, onError, keepsProcessAlive: true, ...(taskId !== undefined ? { taskId } : {}) }).then((started) => {
        // Stopped while it started: the finally below may already have run.
        if (context.signal.aborted) return void started.close()
        follower = started
        started.onEvents((events) => events.forEach(print))
        started.check()
      }, reject)
    })
  } finally {
    await follower?.close()
  }
}

/** `kanban-db events`: the event log, or a live stream of it with `--follow`. */
export const events: Command = {
  name: 'events',
  summary: 'Show the event log, or follow it live with --follow (Ctrl-C stops)',
  description:
    'Without --since, the newest --limit events; with --since, the events after that point. --follow keeps printing new events as they are written (JSON lines with --json): at once for this board\'s wake-ups, else within --poll. A lost connection (a server restarting) or a passing lock does not end it: it says so on stderr and reads again from the last event printed.',
  longRunning: true,
  positionals: [{ name: 'board', description: 'A SQLite file path or a postgres:// URL' }],
  options: {
    task: { type: 'string', valueName: 'ID', description: 'Only this task\'s events' },
    since: { type: 'string', valueName: 'WHEN', description: 'After this event id (1234), time ago (10m, 2h) or date (2026-12-01T08:00:00Z)' },
    limit: { type: 'string', valueName: 'N', description: 'At most N events before following (default 100, at most 10000)' },
    follow: { type: 'boolean', short: 'f', description: 'Keep printing new events until stopped' },
    poll: { type: 'string', valueName: 'DURATION', description: 'With --follow, look for new events at least this often (default 1s)' },
  },
  examples: ['kanban-db events board.db --limit 20', 'kanban-db events board.db --since 10m --task 01JD9ZK3M7Q8', 'kanban-db events board.db --follow --json | jq -c .kind'],
  async run(context) {
    const limit = integerOption('--limit', stringOption(context.options['limit']), { min: 0, max: 10_000 }) ?? 100
    const pollMs = durationOption('--poll', stringOption(context.options['poll'])) ?? 1000
    if (pollMs < 10 || pollMs > 3_600_000) throw new InvalidInput('--poll must be from 10ms to 1h.')
    const taskId = stringOption(context.options['task'])
    const since = stringOption(context.options['since'])
    return withBoard(context, 'read', async ({ board }) => {
      const afterId = await startAfter(board, since, limit, taskId)
      const first = limit === 0 ? [] : await board.events({ afterId, limit, ...(taskId !== undefined ? { taskId } : {}) })
      if (context.options['follow'] === true) {
        for (const event of first) {
          if (context.json) writeJsonLine(context.stdout, event)
          else context.stdout.write(`${eventLine(event, context.color)}\n`)
        }
        await follow(context, board, first.at(-1)?.id ?? afterId, taskId, pollMs)
        return EXIT.ok
      }
      if (context.json) writeJson(context.stdout, { events: first })
      else if (first.length === 0) context.stdout.write('No events.\n')
      else context.stdout.write(`${eventTable(first, context.color)}\n`)
      return EXIT.ok
    })
  },
}
