import { fsyncLoop } from './baselines/fsync-loop.ts'
import { plainjob } from './baselines/plainjob.ts'
import { rawClaim } from './baselines/raw-claim.ts'
import { rawInsert } from './baselines/raw-insert.ts'
import { rawOpen } from './baselines/raw-open.ts'
import type { Contender } from './contender.ts'
import type { Environment } from './environment.ts'

/** Every contender, in the order one repetition runs them. */
export async function contenders(_environment: Environment): Promise<Contender[]> {
  return [
    fsyncLoop('append'),
    fsyncLoop('overwrite'),
    rawInsert('NORMAL', 1),
    rawInsert('FULL', 1),
    rawInsert('NORMAL', 100),
    rawInsert('FULL', 100),
    rawClaim('NORMAL'),
    rawClaim('FULL'),
    rawOpen(),
    plainjob(),
  ]
}
