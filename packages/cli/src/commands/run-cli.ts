import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { InvalidInput, KanbanDbError } from '@kanban-db/core'
import { parseBoardTarget, type BoardTarget } from '../board-target.js'
import { colorWanted, palette } from '../output/color.js'
import { errorReport, formatErrorReport } from '../output/error-report.js'
import { commandHelp, overviewHelp, usageLine } from '../output/help.js'
import { writeJsonLine } from '../output/json.js'
import type { Command, CommandContext } from './command.js'
import { COMMANDS } from './index.js'
import { EXIT, exitCodeFor, type ExitCode } from './exit-codes.js'

/** Where the command reads its environment and writes its output (a process's, or a test's). */
export interface CliIo {
  readonly stdout: CommandContext['stdout']
  readonly stderr: CommandContext['stderr']
  readonly env: NodeJS.ProcessEnv
  /**
   * Stops a command that runs until stopped (`events --follow`, `serve`). Without it, such a command
   * takes SIGINT and SIGTERM itself while it runs.
   */
  readonly signal?: AbortSignal
}

/** The environment variable that names the board when a command's board argument is left out. */
export const BOARD_ENV = 'KANBAN_DB_BOARD'

function version(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return packageJson.version
}

function usageError(command: Command | undefined, message: string): InvalidInput {
  const hint = command ? ` Usage: ${usageLine(command)} (kanban-db ${command.name} --help).` : ' Run kanban-db --help for the commands.'
  return new InvalidInput(`${message}.${hint}`)
}

/** Parses a command's arguments: options, then positionals by name (the board may come from the environment). */
function parseCommandLine(command: Command, argv: readonly string[], env: NodeJS.ProcessEnv) {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(Object.entries(command.options).map(([name, spec]) => [name, { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) }])),
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    throw usageError(command, error instanceof Error ? error.message.replace(/\.$/, '') : String(error))
  }
  const given = [...parsed.positionals]
  const required = command.positionals.filter((spec) => spec.required !== false).length
  const boardIndex = command.positionals.findIndex((spec) => spec.name === 'board')
  const fromEnv = env[BOARD_ENV]
  if (boardIndex >= 0 && fromEnv && given.length === required - 1) given.splice(boardIndex, 0, fromEnv)
  return { values: parsed.values as Record<string, string | boolean | string[] | undefined>, given }
}

function bindPositionals(command: Command, given: readonly string[]): Record<string, string | undefined> {
  const required = command.positionals.filter((spec) => spec.required !== false)
  if (given.length < required.length) {
    const missing = command.positionals[given.length]!
    const envHint = missing.name === 'board' ? ` (or set ${BOARD_ENV})` : ''
    throw usageError(command, `Missing <${missing.name}>${envHint}`)
  }
  if (given.length > command.positionals.length) throw usageError(command, `Unexpected argument ${JSON.stringify(given[command.positionals.length])}`)
  return Object.fromEntries(command.positionals.map((spec, index) => [spec.name, given[index]]))
}

/**
 * Runs the `kanban-db` command line `argv` (without `node` and the script) and returns its exit
 * code. Errors are printed, never thrown: the kanban-db code, the message and the action on stderr
 * (with `--json`, as one line of JSON `{ "error": { code, message, action } }` on stdout, which
 * parses both as a document and as JSON lines).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...rest] = argv
  const errColor = palette(colorWanted(io.stderr, io.env))
  const outColor = palette(colorWanted(io.stdout, io.env))
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((command) => command.name === rest[0]) : undefined
    io.stdout.write(topic ? commandHelp(topic, outColor) : overviewHelp(COMMANDS, outColor))
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${version()}\n`)
    return EXIT.ok
  }
  const command = COMMANDS.find((candidate) => candidate.name === name)
  const json = rest.includes('--json')
  const controller = new AbortController()
  const stop = (): void => controller.abort()
  try {
    if (!command) throw usageError(undefined, `Unknown command ${JSON.stringify(name)}`)
    const { values, given } = parseCommandLine(command, rest, io.env)
    if (values['help']) {
      io.stdout.write(commandHelp(command, outColor))
      return EXIT.ok
    }
    const args = bindPositionals(command, given)
    const board: BoardTarget | undefined = args['board'] === undefined ? undefined : parseBoardTarget(args['board'])
    if (io.signal) {
      if (io.signal.aborted) stop()
      else io.signal.addEventListener('abort', stop, { once: true })
    } else if (command.longRunning) {
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    }
    return await command.run({ options: values, args, board, json: values['json'] === true, stdout: io.stdout, stderr: io.stderr, color: outColor, signal: controller.signal })
  } catch (error) {
    const report = errorReport(error)
    if (json) writeJsonLine(io.stdout, { error: report })
    else {
      io.stderr.write(formatErrorReport(report, errColor))
      if (!KanbanDbError.isKanbanDbError(error) && error instanceof Error && error.stack) io.stderr.write(`${errColor.dim(error.stack)}\n`)
    }
    return exitCodeFor(error)
  } finally {
    io.signal?.removeEventListener('abort', stop)
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}
