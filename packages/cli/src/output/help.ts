import type { Command } from '../commands/command.js'
import type { Palette } from './color.js'

/** The usage line of a command: `kanban-db show <board> <id> [options]`. */
export function usageLine(command: Command): string {
  const positionals = command.positionals.map((spec) => (spec.required === false ? `[${spec.name}]` : `<${spec.name}>`))
  return ['kanban-db', command.name, ...positionals, Object.keys(command.options).length > 0 ? '[options]' : ''].filter(Boolean).join(' ')
}

/** A command's `--help`: usage, what it does, its arguments, options and examples. */
export function commandHelp(command: Command, color: Palette): string {
  const lines = [`${color.bold('Usage:')} ${usageLine(command)}`, '', command.summary]
  if (command.description) lines.push('', command.description)
  if (command.positionals.length > 0) {
    lines.push('', color.bold('Arguments:'))
    const width = Math.max(...command.positionals.map((spec) => spec.name.length))
    for (const spec of command.positionals) lines.push(`  ${spec.name.padEnd(width)}  ${spec.description}`)
  }
  const options = Object.entries(command.options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`
    return [flag, spec.description + (spec.multiple ? ' (repeatable)' : '')] as const
  })
  options.push(['--json', 'Print one JSON document on stdout instead of text'], ['-h, --help', 'Show this help'])
  lines.push('', color.bold('Options:'))
  const width = Math.max(...options.map(([flag]) => flag.length))
  for (const [flag, text] of options) lines.push(`  ${flag.padEnd(width)}  ${text}`)
  if (command.examples.length > 0) lines.push('', color.bold('Examples:'), ...command.examples.map((example) => `  ${example}`))
  return `${lines.join('\n')}\n`
}

/** `kanban-db --help`: every command with its summary, the board argument and the exit codes. */
export function overviewHelp(commands: readonly Command[], color: Palette): string {
  const width = Math.max(...commands.map((command) => command.name.length))
  return [
    `${color.bold('Usage:')} kanban-db <command> <board> [arguments] [options]`,
    '',
    'See a kanban-db board, change it, follow it, find out why it is stuck, and watch it live.',
    'A board is a SQLite file path or a PostgreSQL URL (postgres://user@host/db?schema=NAME);',
    'KANBAN_DB_BOARD names the board when the argument is left out.',
    '',
    color.bold('Commands:'),
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    `Run ${color.bold('kanban-db <command> --help')} for a command's arguments, options and examples.`,
    'Every command takes --json (one JSON document on stdout; JSON lines for events --follow).',
    '',
    color.bold('Exit codes:'),
    '  0 ok · 1 the board failed · 2 usage error · 3 board or task not found · 4 refused by the',
    '  task\'s state · 5 not supported on this kind of board · 6 doctor: warnings · 7 doctor: errors,',
    '  check: damaged · 130 interrupted',
    '',
  ].join('\n')
}
