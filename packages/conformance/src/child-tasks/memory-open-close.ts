import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { openBoard, type Board } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'

/** One memory sample of the cycling process, after a full garbage collection. */
export interface MemorySample {
  /** Open/close cycles done when it was taken. */
  readonly cycle: number
  /** Resident set size, bytes. */
  readonly rss: number
  /** V8's heap in use, bytes (`process.memoryUsage().heapUsed`). */
  readonly heapUsed: number
  /** Memory of JS objects held outside V8's heap (buffers), bytes. */
  readonly external: number
  /** Lines of `/proc/self/maps`: the process's memory mappings. */
  readonly mappings: number
}

/**
 * Opens the board file `args.path` with `openBoard` and closes it, `args.cycles` times, awaiting
 * nothing else, and samples its memory every `args.every` cycles (and before the first) after a full
 * garbage collection, so a sample counts what is retained rather than garbage not collected yet.
 * It needs `global.gc` (`--expose-gc`). With `args.leaveOpen` the cycles after the first
 * `args.warmup` each open a board of their own beside it (`left-<cycle>.db`, created) and close none
 * of them until the end (a control: what each cycle retains must show; a board of its own, since an
 * adapter with a private image refuses a second open of one file).
 * Returns `{ samples }`.
 */
export async function memoryOpenClose(adapter: SqliteAdapter, args: Record<string, unknown>): Promise<unknown> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('memory-open-close needs global.gc: start the process with --expose-gc')
  const path = String(args.path)
  const cycles = Number(args.cycles)
  const every = Number(args.every)
  const leaveOpenAfter = args.leaveOpen === true ? Number(args.warmup) : Infinity
  const samples: MemorySample[] = []
  const sample = (cycle: number) => {
    // Twice: the first collection leaves freed array buffers to a sweeper the second one completes.
    gc()
    gc()
    const { rss, heapUsed, external } = process.memoryUsage()
    samples.push({ cycle, rss, heapUsed, external, mappings: readFileSync('/proc/self/maps', 'utf8').split('\n').length - 1 })
  }
  const left: Board[] = []
  sample(0)
  for (let cycle = 1; cycle <= cycles; cycle += 1) {
    if (cycle > leaveOpenAfter) {
      left.push(await openBoard({ path: join(dirname(path), `left-${cycle}.db`), adapter }))
    } else {
      const board = await openBoard({ path, adapter })
      await board.close()
    }
    if (cycle % every === 0) sample(cycle)
  }
  for (const board of left) await board.close()
  return { samples }
}
