import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import type { ConformanceCase, CaseContext } from '../case.js'
import type { MemorySample } from '../child-tasks/memory-open-close.js'

/** Cycles before the first measured sample: the process reaches its working size (code, caches, allocator). */
const WARMUP = 1_000
/** Cycles measured after the warm-up. */
const MEASURED = 4_000
/** Samples per window whose lowest RSS is a window's level (a transient buffer lifts one sample, not the floor). */
const WINDOW = 4
const EVERY = 250
/** The bound: 5 MB over 5,000 cycles, 1 KB retained per cycle. */
const BOUND_BYTES_PER_CYCLE = 1024
/** Cycles of the control that closes none of its boards. */
const LEFT_OPEN = 200
const MB = 1024 * 1024

/**
 * `--expose-gc`: each sample follows a full collection, so it counts what is retained. A young
 * generation pinned at 1 MB per semi-space: left to itself V8 grows it with what survives its
 * scavenges up to 64 MB per semi-space on Node 24 (about 130 MB of RSS, then a plateau; bounded,
 * V8's sizing policy rather than anything retained, and reached as fast by a raw better-sqlite3
 * loop preparing as many statements). Pinned, growth that remains is memory kept per cycle.
 */
const MEASURING_NODE_OPTIONS = '--expose-gc --max-semi-space-size=1'

/**
 * glibc serves blocks under 128 KB from its main heap and returns memory only from that heap's
 * top: the short-lived 120 KB copies of a board's file image (sql.js reads, copies and exports it
 * on every open and close; V8 frees them at its next collection) leave the heap at a high-water
 * mark that depends on collection timing, 10-30 MB of RSS noise with nothing retained
 * (docs/memory-measurements.md). At a 64 KB threshold each such copy gets its own mapping and is
 * returned when freed, so the RSS floor shows only what is kept. Ignored outside glibc.
 */
const MEASURING_ENV = { MALLOC_MMAP_THRESHOLD_: '65536' }

interface Measured {
  readonly samples: readonly MemorySample[]
}

/**
 * `openBoard` then `close` in a loop, while another process writes to the board, retains no memory
 * per cycle: after a 1,000-cycle warm-up, 4,000 more cycles raise the process's RSS floor by less
 * than 4 MB (the issue's bound, 5 MB over 5,000 cycles, at the same rate). Measured in a fresh
 * process whose samples each follow a full garbage collection, with V8's young generation pinned
 * (see {@link MEASURING_NODE_OPTIONS}) and glibc returning freed image copies (see
 * {@link MEASURING_ENV}). On an adapter whose image is private to its process
 * (no `sharedFile`, sql.js) no other process can write, and the loop runs alone.
 *
 * Controls: the same loop with `KANBAN_DB_CLOSE_TURN=off` (close() resolves without giving the event
 * loop a turn, so a driver that frees statements in finalizers queued for it, better-sqlite3, keeps
 * every cycle's statements: about 11 KB per cycle there, none on node:sqlite; reported, not
 * asserted, since only such a driver needs the turn); and, after the same warm-up, 200 cycles each opening a board of its own and closing
 * none, whose growth must exceed the bound, so the measurement sees memory a cycle keeps.
 */
export const openCloseCycles: ConformanceCase = {
  id: 'memory.open-close-cycles',
  title: 'openBoard/close 4,000 times after a warm-up, another process writing: RSS floor grows < 4 MB (1 KB per cycle)',
  tier: 'concurrency',
  requires: [],
  timeoutMs: 240_000,
  async run(context) {
    if (!existsSync('/proc/self/maps')) context.skip('needs Linux: the samples count memory mappings in /proc/self/maps')
    const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header
    if (header?.glibcVersionRuntime === undefined) {
      context.skip("needs glibc: the RSS floor is read with glibc's mmap threshold set (MALLOC_MMAP_THRESHOLD_); with another allocator its noise can exceed the bound")
    }
    const path = context.path('board.db')
    const seed = await context.openBoard()
    await seed.createTask({ title: 'seed' })
    await seed.close()

    const writer = context.adapter.capabilities.sharedFile ? context.spawn('memory-writer', { path }) : undefined
    if (writer) await writer.receive()
    else context.note('no other process writes: this adapter keeps a private image of the file (no sharedFile), so the loop runs alone')
    let failed = false
    try {
      const leftOpen = await measure(context, path, { cycles: WARMUP + LEFT_OPEN, every: LEFT_OPEN, warmup: WARMUP, leaveOpen: true })
      const leftOpenGrowth = growthPerCycle(leftOpen, WARMUP, 1)
      context.note(`control (${LEFT_OPEN} boards opened and left open after the warm-up): ${kb(leftOpenGrowth)} per cycle`)
      if (leftOpenGrowth <= BOUND_BYTES_PER_CYCLE) throw new Error(`control did not reproduce the hazard: ${LEFT_OPEN} boards left open grew ${kb(leftOpenGrowth)} per cycle, not over the bound ${kb(BOUND_BYTES_PER_CYCLE)}`)

      const noTurn = await measure(context, path, { cycles: WARMUP + 2 * WINDOW * EVERY, every: EVERY, warmup: WARMUP }, { KANBAN_DB_CLOSE_TURN: 'off' })
      const noTurnGrowth = growthPerCycle(noTurn, WARMUP, WINDOW)
      context.note(`control (KANBAN_DB_CLOSE_TURN=off, ${2 * WINDOW * EVERY} cycles after the warm-up): ${kb(noTurnGrowth)} per cycle (bound ${kb(BOUND_BYTES_PER_CYCLE)})`)

      const protectedRun = await measure(context, path, { cycles: WARMUP + MEASURED, every: EVERY, warmup: WARMUP })
      const samples = protectedRun.samples
      const growth = growthPerCycle(protectedRun, WARMUP, WINDOW) * MEASURED
      const first = samples[0]!
      const last = samples.at(-1)!
      context.note(
        `protected: ${WARMUP} + ${MEASURED} cycles, RSS ${mb(first.rss)} at start, floor +${mb(growth)} over the ${MEASURED} measured cycles; ` +
          `heap used ${mb(first.heapUsed)} -> ${mb(last.heapUsed)}, external ${mb(first.external)} -> ${mb(last.external)}, mappings ${first.mappings} -> ${last.mappings}`,
      )
      assert.ok(growth < BOUND_BYTES_PER_CYCLE * MEASURED, `RSS floor grew ${mb(growth)} over ${MEASURED} open/close cycles (bound ${mb(BOUND_BYTES_PER_CYCLE * MEASURED)})`)
    } catch (error) {
      failed = true
      throw error
    } finally {
      if (writer) {
        writer.send('stop')
        try {
          await writer.result
        } catch (writerError) {
          // The case's own failure is the one to report; the writer's is added to it.
          if (!failed) throw writerError
          context.note(`the writing process failed too: ${String(writerError)}`)
        }
      }
    }
  },
}

/** Runs the cycling child in a fresh process measuring as {@link MEASURING_NODE_OPTIONS} and {@link MEASURING_ENV} say. */
function measure(context: CaseContext, path: string, args: Record<string, unknown>, env: Record<string, string> = {}): Promise<Measured> {
  const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} ${MEASURING_NODE_OPTIONS}`.trim()
  return context.child<Measured>('memory-open-close', { path, ...args }, { env: { ...MEASURING_ENV, ...env, NODE_OPTIONS: nodeOptions } })
}

/**
 * Bytes per cycle the RSS floor rose from the `window` samples starting at cycle `from` to the last
 * `window` samples (the floor: their lowest).
 */
function growthPerCycle({ samples }: Measured, from: number, window: number): number {
  const start = samples.filter((sample) => sample.cycle >= from).slice(0, window)
  const end = samples.slice(-window)
  const floor = (some: readonly MemorySample[]) => Math.min(...some.map((sample) => sample.rss))
  const cycles = end.at(-1)!.cycle - start[0]!.cycle
  return (floor(end) - floor(start)) / cycles
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`
}

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`
}
