import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs'
import { randomInt } from 'node:crypto'
import { applyFileMode, fileModeOf } from '../hygiene/file-mode.js'

/**
 * The line the processes waiting for a board's write lock stand in: a small file beside the board
 * (`<board>.write-queue`, never the database or its sidecars), one 32-byte slot per waiting process
 * saying since when it waits. The process that has waited longest is the head of the line: it alone
 * tries `BEGIN IMMEDIATE`, every few tenths of a millisecond; the others only read the line, less
 * often the further back they stand, until they are at its head.
 *
 * Without a line every waiter tries the lock itself; on a machine with fewer cores than writers their
 * tries take the CPU the lock's holder needs to finish, and waits grow without bound (issue 18: 16
 * processes on 2 cores). With it, one try at a time meets the lock, and the order is the order of
 * arrival: waits are bounded by the writers ahead.
 *
 * The line is advisory: SQLite's lock stays the only lock, so a process that does not stand in the
 * line (another kanban-db version, `lockPolling: false`, a foreign client) only jumps it, and a line
 * that cannot be read or written (a read-only directory) leaves each process to poll on its own. A
 * waiter refreshes its slot while it waits; a slot not refreshed for {@link WaitingLine.staleAfterMs}
 * (its process died, or stopped) is ignored and reused. Two processes that pick the same free slot at
 * the same moment are told apart by a random nonce read back after the write; the loser picks again.
 */
export class WaitingLine {
  /** Slots in the file: at most this many processes stand in the line. */
  static readonly slots = 128
  /** Bytes per slot: pid (u32), nonce (u32), waiting since (f64 ms), refreshed at (f64 ms), spare. */
  static readonly slotBytes = 32
  /** A slot not refreshed for this long belongs to no live waiter. */
  static readonly staleAfterMs = 500
  /** A waiter refreshes its slot at most this often. */
  static readonly refreshEveryMs = 50

  readonly #fd: number
  readonly #file = Buffer.alloc(WaitingLine.slots * WaitingLine.slotBytes)
  readonly #now: () => number
  #slot = -1
  #nonce = 0
  #since = 0
  #refreshedAt = 0

  private constructor(fd: number, now: () => number) {
    this.#fd = fd
    this.#now = now
  }

  /** The path of the line of the board at `boardPath`. */
  static pathOf(boardPath: string): string {
    return `${boardPath}.write-queue`
  }

  /**
   * Opens (creating it, with the board file's permission bits) the line of the board at
   * `boardPath`; undefined when there is no file to put it beside or it cannot be opened for
   * writing. `now` is a clock in ms that every process reads alike (wall time).
   */
  static open(boardPath: string, now: () => number = wallClockMs): WaitingLine | undefined {
    if (boardPath === '' || boardPath === ':memory:') return undefined
    const path = WaitingLine.pathOf(boardPath)
    try {
      // Read-write, created if missing; never O_APPEND (Linux then ignores pwrite's offset).
      const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644)
      applyFileMode(path, fileModeOf(boardPath))
      return new WaitingLine(fd, now)
    } catch {
      return undefined
    }
  }

  /** Is this process standing in the line? */
  get joined(): boolean {
    return this.#slot >= 0
  }

  /**
   * How many live waiters stand ahead of this process (0: it is the head). Joins the line first, as
   * a waiter since `since`, if it is not in it (or lost its slot); refreshes its slot now and then.
   * Returns 0 when the line cannot be used, so the caller tries the lock itself.
   */
  ahead(since: number): number {
    try {
      const now = this.#now()
      this.#read()
      if (!this.#holdsSlot()) {
        if (!this.#join(since, now)) return 0
      } else if (now - this.#refreshedAt >= WaitingLine.refreshEveryMs) {
        this.#writeRefresh(now)
      }
      let ahead = 0
      for (let slot = 0; slot < WaitingLine.slots; slot++) {
        if (slot === this.#slot || !this.#live(slot, now)) continue
        const offset = slot * WaitingLine.slotBytes
        const theirs = this.#file.readDoubleLE(offset + 8)
        if (theirs < this.#since || (theirs === this.#since && this.#file.readUInt32LE(offset) < process.pid)) ahead++
      }
      return ahead
    } catch {
      return 0
    }
  }

  /** Does any live process other than this one stand in the line? (false when it cannot be read) */
  othersWaiting(): boolean {
    try {
      const now = this.#now()
      this.#read()
      for (let slot = 0; slot < WaitingLine.slots; slot++) {
        if (slot !== this.#slot && this.#live(slot, now)) return true
      }
      return false
    } catch {
      return false
    }
  }

  /** Steps out of the line (got the lock, or gave up): clears this process's slot if it still holds it. */
  leave(): void {
    if (this.#slot < 0) return
    const slot = this.#slot
    this.#slot = -1
    try {
      const offset = slot * WaitingLine.slotBytes
      const mine = Buffer.alloc(8)
      readSync(this.#fd, mine, 0, 8, offset)
      if (mine.readUInt32LE(0) === process.pid && mine.readUInt32LE(4) === this.#nonce) {
        writeSync(this.#fd, Buffer.alloc(WaitingLine.slotBytes), 0, WaitingLine.slotBytes, offset)
      }
    } catch {
      // A slot left behind goes stale and is ignored after staleAfterMs.
    }
  }

  /** Leaves the line and closes the file. */
  close(): void {
    this.leave()
    try {
      closeSync(this.#fd)
    } catch {
      // Already closed.
    }
  }

  #read(): void {
    this.#file.fill(0)
    readSync(this.#fd, this.#file, 0, this.#file.length, 0)
  }

  #holdsSlot(): boolean {
    if (this.#slot < 0) return false
    const offset = this.#slot * WaitingLine.slotBytes
    return this.#file.readUInt32LE(offset) === process.pid && this.#file.readUInt32LE(offset + 4) === this.#nonce
  }

  #live(slot: number, now: number): boolean {
    const offset = slot * WaitingLine.slotBytes
    if (this.#file.readUInt32LE(offset) === 0) return false
    return now - this.#file.readDoubleLE(offset + 16) <= WaitingLine.staleAfterMs
  }

  /** Takes a free (or stale) slot, starting at one picked by the pid; false when none could be had. */
  #join(since: number, now: number): boolean {
    this.#since = this.#slot >= 0 ? Math.min(this.#since, since) : since
    const start = process.pid % WaitingLine.slots
    for (let i = 0; i < WaitingLine.slots; i++) {
      const slot = (start + i) % WaitingLine.slots
      if (this.#live(slot, now)) continue
      const offset = slot * WaitingLine.slotBytes
      const record = Buffer.alloc(WaitingLine.slotBytes)
      const nonce = randomInt(1, 0xffffffff)
      record.writeUInt32LE(process.pid, 0)
      record.writeUInt32LE(nonce, 4)
      record.writeDoubleLE(this.#since, 8)
      record.writeDoubleLE(now, 16)
      writeSync(this.#fd, record, 0, record.length, offset)
      const check = Buffer.alloc(8)
      readSync(this.#fd, check, 0, 8, offset)
      if (check.readUInt32LE(0) === process.pid && check.readUInt32LE(4) === nonce) {
        this.#slot = slot
        this.#nonce = nonce
        this.#refreshedAt = now
        record.copy(this.#file, offset)
        return true
      }
      // Another process took it at the same moment: mark it live in our copy and look further.
      check.copy(this.#file, offset)
      this.#file.writeDoubleLE(now, offset + 16)
    }
    this.#slot = -1
    return false
  }

  #writeRefresh(now: number): void {
    const stamp = Buffer.alloc(8)
    stamp.writeDoubleLE(now, 0)
    writeSync(this.#fd, stamp, 0, 8, this.#slot * WaitingLine.slotBytes + 16)
    this.#refreshedAt = now
  }
}

/** Wall-clock ms with sub-ms resolution, comparable between processes of one host. */
function wallClockMs(): number {
  return performance.timeOrigin + performance.now()
}

/**
 * `KANBAN_DB_WAITING_LINE=off` turns the line off (every waiter polls on its own, as before it
 * existed): the control of the tests that show what the line prevents.
 */
export const WAITING_LINE_ENV = 'KANBAN_DB_WAITING_LINE'

/** Is the waiting line on in this process? */
export function waitingLineEnabled(): boolean {
  return process.env[WAITING_LINE_ENV] !== 'off'
}
