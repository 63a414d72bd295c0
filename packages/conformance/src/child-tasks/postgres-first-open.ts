import type { SqliteAdapter } from '@kanban-db/core/adapter'
import { isBoardSpec, openSpecBoard, type PostgresBoardSpec } from '../board-spec.js'
import { connectPostgres, type PostgresSession } from '../postgres-session.js'
import { describeError } from '../run-task.js'
import type { TaskChannel } from '../task-channel.js'

/** What the parent sends for one round of the Postgres form of `concurrency.first-open-race`. */
interface Round {
  readonly board: PostgresBoardSpec
  /**
   * `engine`: open the board with the engine (creating and migrating it) and answer its schema
   * version; `naive-check` / `naive-initialise`: the two halves of an unlocked first open (count
   * the marker rows, then insert one), the control.
   */
  readonly mode: 'engine' | 'naive-check' | 'naive-initialise'
}

/** What a racer answers to `engine`. */
export type EngineOpenAnswer = { readonly schemaVersion: number } | { readonly error: string }

/**
 * One racer of the Postgres form of `concurrency.first-open-race`. Says `ready`, then for each round
 * the parent sends opens the board it names (`engine`), or runs half of the unlocked
 * check-then-initialise (`naive-check` keeps its connection for `naive-initialise`). An open that
 * fails is answered with its error, so the parent reports every racer's outcome. Ends on `'stop'`.
 */
export async function postgresFirstOpen(_adapter: SqliteAdapter, _args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  await channel.send('ready')
  let naive: PostgresSession | undefined
  try {
    for (;;) {
      const message = (await channel.receive()) as Round | 'stop'
      if (message === 'stop') return { pid: process.pid }
      const spec = message.board
      if (!isBoardSpec(spec) || spec.engine !== 'postgres') throw new Error('postgres-first-open needs a Postgres board spec')
      const markers = `"${spec.schema}".init_marker`
      if (message.mode === 'naive-check') {
        naive = await connectPostgres(spec.connectionString, spec)
        const [row] = await naive.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${markers}`)
        await channel.send({ missing: row?.n === 0 })
        continue
      }
      if (message.mode === 'naive-initialise') {
        await naive!.query(`INSERT INTO ${markers} (pid) VALUES ($1)`, [process.pid])
        await naive!.end()
        naive = undefined
        await channel.send({ initialised: true })
        continue
      }
      let answer: EngineOpenAnswer
      try {
        const board = await openSpecBoard(spec)
        try {
          answer = { schemaVersion: (await board.health()).schemaVersion }
        } finally {
          await board.close()
        }
      } catch (error) {
        answer = { error: describeError(error) }
      }
      await channel.send(answer)
    }
  } finally {
    await naive?.end()
  }
}
