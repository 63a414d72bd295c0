/** A progress display for long work: `update` as work advances, `finish` when it ends. */
export interface Progress {
  /** Work done so far, out of `total` when known. */
  update(done: number, total?: number): void
  /** Clears the display (the line is erased; nothing is left behind on the terminal). */
  finish(): void
}

/** Where a progress display draws: a terminal stream (stderr). */
export interface ProgressStream {
  readonly isTTY?: boolean
  readonly columns?: number
  write(text: string): unknown
}

const SHOW_AFTER_MS = 1000
const REDRAW_EVERY_MS = 100
const SPINNER = ['|', '/', '-', '\\']

/**
 * A progress bar on `stream` (stderr) for work that may take more than a second. Nothing is drawn
 * when the stream is not a terminal, nor during the first second (quick work shows no bar); then a
 * bar with counts when the total is known, else a spinner with the time elapsed, redrawn at most
 * every 100 ms and erased by `finish`.
 */
export function startProgress(stream: ProgressStream, label: string, options: { readonly now?: () => number } = {}): Progress {
  if (stream.isTTY !== true) return { update: () => {}, finish: () => {} }
  const now = options.now ?? Date.now
  const started = now()
  let done = 0
  let total: number | undefined
  let drawn = false
  let lastDraw = 0
  let frame = 0
  const draw = (): void => {
    const elapsed = now() - started
    if (elapsed < SHOW_AFTER_MS || now() - lastDraw < REDRAW_EVERY_MS) return
    lastDraw = now()
    const seconds = `${Math.floor(elapsed / 1000)}s`
    let text: string
    if (total !== undefined && total > 0) {
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 30))
      const share = Math.min(1, done / total)
      const filled = Math.round(share * width)
      text = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${seconds}`
    } else {
      frame = (frame + 1) % SPINNER.length
      text = `${label} ${SPINNER[frame]} ${seconds}`
    }
    stream.write(`\r\u001b[2K${text}`)
    drawn = true
  }
  const timer = setInterval(draw, REDRAW_EVERY_MS)
  timer.unref()
  return {
    update(nextDone, nextTotal) {
      done = nextDone
      if (nextTotal !== undefined) total = nextTotal
      draw()
    },
    finish() {
      clearInterval(timer)
      if (drawn) stream.write('\r\u001b[2K')
    },
  }
}
