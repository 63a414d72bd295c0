import type { SqliteAdapter } from '@kanban-db/core'
import { fsyncLoop } from './baselines/fsync-loop.ts'
import { plainjob } from './baselines/plainjob.ts'
import { rawBatched } from './baselines/raw-batched.ts'
import { rawBoard } from './baselines/raw-board.ts'
import { rawBoardBulk } from './baselines/raw-board-bulk.ts'
import { rawClaim } from './baselines/raw-claim.ts'
import { rawInsert } from './baselines/raw-insert.ts'
import { rawOpen } from './baselines/raw-open.ts'
import type { Contender } from './contender.ts'
import type { Environment } from './environment.ts'
import { adapterModuleName } from './board-client.ts'
import { boardBatched } from './scenarios/board-batched.ts'
import { boardBulk } from './scenarios/board-bulk.ts'
import { boardLoop } from './scenarios/board-loop.ts'
import { boardOpen } from './scenarios/board-open.ts'
import { designCosts } from './scenarios/design-costs.ts'
import { fleet } from './scenarios/fleet.ts'
import { fleet16 } from './scenarios/fleet16.ts'
import { workLocal, workWake } from './scenarios/work-wake.ts'
import { pgBoard, pgRawBoard } from './postgres/pg-single.ts'
import { pgFleet, pgGraphileFleet, pgRawBoardFleet, pgRestart, pgWakeLatency, pgWorkLocal } from './postgres/pg-fleet.ts'

/**
 * Every contender, in the order one repetition runs them: each kanban-db scenario soon after the
 * baseline its goal divides by, so a ratio compares neighbours measured seconds apart.
 */
export async function contenders(environment: Environment): Promise<Contender[]> {
  await recordAdapters(environment)
  return [
    fsyncLoop('append'),
    fsyncLoop('overwrite'),
    rawInsert('NORMAL', 1),
    rawInsert('FULL', 1),
    rawClaim('NORMAL'),
    plainjob(),
    boardLoop('board-claim/NORMAL', 'NORMAL', 1),
    // M3 NORMAL's reference: the board's own statements raw, one commit per operation, just after board-claim.
    rawBoard('NORMAL'),
    boardLoop('board-ops/FULL', 'FULL', 1),
    // G5's reference with the board's own rows (the `G5 vs raw-board` line): one raw process, one commit per operation.
    rawBoard('FULL'),
    // The C5 ceilings: 8 raw cycles per commit writing the tasks table alone, then the board's rows;
    // then M2's ceiling: the same rows with the claims committed before their completions.
    rawBatched('FULL'),
    rawBatched('FULL', 'board'),
    rawBatched('FULL', 'board', true),
    boardLoop('board-callers8/FULL', 'FULL', 8),
    boardBatched(),
    rawInsert('NORMAL', 100),
    rawBoardBulk('NORMAL'),
    boardBulk('NORMAL'),
    rawInsert('FULL', 100),
    rawBoardBulk('FULL'),
    boardBulk('FULL'),
    rawOpen(),
    boardOpen(),
    designCosts(),
    fleet('NORMAL', 'raw'),
    fleet('NORMAL', 'raw-board'),
    // W1 divides the board.work fleet by the hand-written loop's fleets measured right before and after it.
    fleet('NORMAL', 'hand'),
    fleet('NORMAL', 'board'),
    fleet('NORMAL', 'hand-after'),
    // C1 FULL divides by one raw process under FULL: measured just before the FULL fleets.
    rawClaim('FULL'),
    fleet('FULL', 'raw'),
    fleet('FULL', 'raw-board'),
    fleet('FULL', 'raw-board-chained'),
    fleet('FULL', 'hand'),
    fleet('FULL', 'board'),
    fleet('FULL', 'hand-after'),
    ...fleet16(),
    // board.work's wake-ups (W2-W4): the same process, then another process per wake-up candidate.
    workLocal('FULL'),
    workLocal('NORMAL'),
    workWake(),
    // PostgreSQL (P1-P5), on the server of KANBAN_DB_POSTGRES_URL; each run in a fresh schema, dropped after.
    pgRawBoard(),
    pgBoard(),
    pgGraphileFleet(),
    pgRawBoardFleet(),
    // W1 on Postgres: the hand-written loops' fleet just before and just after board.work's.
    pgFleet('hand'),
    pgFleet(),
    pgFleet('hand-after'),
    pgRawBoardFleet(true),
    pgWakeLatency(),
    pgWorkLocal(),
    pgRestart(),
  ]
}

async function recordAdapters(environment: Environment): Promise<void> {
  for (const name of ['@kanban-db/adapter-better-sqlite3', '@kanban-db/adapter-node-sqlite']) {
    try {
      const module = (await import(name)) as { default: () => Promise<SqliteAdapter> }
      const { identity } = await module.default()
      environment.drivers[`${name} (${identity.driver})`] = `${identity.driverVersion}, SQLite ${identity.sqliteVersion}`
    } catch (error) {
      environment.drivers[name] = `not loadable: ${(error as Error).message}`
    }
  }
  environment.drivers['kanban-db board adapter'] = `${adapterModuleName()} (every board scenario)`
}
