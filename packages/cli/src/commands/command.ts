import type { Writable } from 'node:stream'
import type { BoardTarget } from '../board-target.js'
import type { Palette } from '../output/color.js'
import type { ExitCode } from './exit-codes.js'

/** One option of a command, as `node:util` `parseArgs` takes it, with its help text. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  readonly multiple?: boolean
  /** What the option does, for `--help`. */
  readonly description: string
  /** The value's name in `--help` (`--limit N`). */
  readonly valueName?: string
}

/** One positional argument of a command. `board` is filled from `KANBAN_DB_BOARD` when left out. */
export interface PositionalSpec {
  readonly name: string
  readonly description: string
  /** Default true. */
  readonly required?: boolean
}

/** The values a command's run receives. */
export interface CommandContext {
  /** Options by name, as `parseArgs` returns them (strings, booleans, arrays of them). */
  readonly options: Readonly<Record<string, string | boolean | readonly string[] | undefined>>
  /** Positionals by name (absent when optional and not given). */
  readonly args: Readonly<Record<string, string | undefined>>
  /** The board named by the `board` positional (or `KANBAN_DB_BOARD`). */
  readonly board: BoardTarget | undefined
  /** `--json`: one JSON document on stdout (JSON lines for a stream). */
  readonly json: boolean
  readonly stdout: Writable & { readonly isTTY?: boolean }
  readonly stderr: Writable & { readonly isTTY?: boolean; readonly columns?: number }
  /** Colours for stdout (all no-ops off a terminal or with NO_COLOR). */
  readonly color: Palette
  /** Aborts on SIGINT/SIGTERM for commands that run until stopped (`events --follow`, `serve`). */
  readonly signal: AbortSignal
}

/** A `kanban-db` command: its name, what it takes, its help, and what it does. */
export interface Command {
  readonly name: string
  /** One line for the command list. */
  readonly summary: string
  /** More lines for `--help`, after the summary. */
  readonly description?: string
  readonly positionals: readonly PositionalSpec[]
  readonly options: Readonly<Record<string, OptionSpec>>
  /** Command lines shown under `--help`. */
  readonly examples: readonly string[]
  /** True for commands that run until stopped: SIGINT/SIGTERM abort `context.signal` instead of killing the process. */
  readonly longRunning?: boolean
  run(context: CommandContext): Promise<ExitCode>
}
