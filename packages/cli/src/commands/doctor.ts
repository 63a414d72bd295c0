import type { Command } from './command.js'
import { EXIT } from './exit-codes.js'

/** `kanban-db doctor`: why is the board stuck or broken? Wired to `src/doctor` once it lands. */
export const doctor: Command = {
  name: 'doctor',
  summary: 'Say why a board is stuck or broken: findings, each with the action to take (never writes)',
  positionals: [{ name: 'board', description: 'A SQLite file path or a postgres:// URL' }],
  options: {},
  examples: ['kanban-db doctor board.db', 'kanban-db doctor board.db --json | jq \'.findings[] | select(.severity != "ok")\''],
  async run() {
    return EXIT.notSupported
  },
}
