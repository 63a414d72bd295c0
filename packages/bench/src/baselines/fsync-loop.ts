import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { now } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'

const PAGE = 4096

/**
 * `sync`: 4 KiB appended, then fdatasync, in a loop: what a fresh WAL costs per commit.
 * `osync`: 4 KiB overwritten in place, then fdatasync: what a reused WAL costs per commit.
 * Scratch files of their own; never a database.
 */
export function fsyncLoop(mode: 'append' | 'overwrite'): Contender {
  return {
    id: mode === 'append' ? 'sync' : 'osync',
    description:
      mode === 'append' ? '4 KiB append + fdatasync, per second' : '4 KiB overwrite in place + fdatasync, per second',
    kind: 'baseline',
    run: async (context: RunContext): Promise<RunResult> => {
      const page = Buffer.alloc(PAGE, 0x5a)
      const fd = openSync(join(context.dir, `${mode}.scratch`), 'w')
      try {
        if (mode === 'overwrite') {
          writeSync(fd, page, 0, PAGE, 0)
          fdatasyncSync(fd)
        }
        let count = 0
        const start = now()
        const end = start + context.durationMs
        let t = start
        while (t < end) {
          if (mode === 'append') writeSync(fd, page)
          else writeSync(fd, page, 0, PAGE, 0)
          fdatasyncSync(fd)
          count++
          t = now()
        }
        return { figures: { perSecond: (count * 1000) / (t - start) }, failures: [] }
      } finally {
        closeSync(fd)
      }
    },
  }
}
